"""Running the real commands (`videoflix dev`, `pserve`, the Faust worker) as a person would."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from videoflix.core.storage.s3 import S3Storage
from videoflix.devservices import TansuBroker, free_port, upgrade_database

from ..support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY
from ..support.browser import chromium_path, player_page, watch_through_the_swap
from ..support.clips import CALM, RUSH, make_clip, make_corrupt
from ..support.stack import (
    FAULT_REPORT,
    ROOT,
    Command,
    Pipeline,
    clean_env,
    new_project,
    own_database,
    stack_env,
)
from ..support.watching import watch


@pytest.fixture
def project() -> Path:
    folder = new_project()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def base_env() -> dict[str, str]:
    return clean_env()


@pytest.fixture
def run_command(tmp_path):
    started: list[Command] = []

    def run(argv: list[str], cwd: Path, env: dict[str, str], name: str = "command") -> Command:
        command = Command(argv, cwd, env, tmp_path / f"{name}-{len(started)}.log")
        started.append(command)
        return command

    yield run
    for started_command in started:
        started_command.kill()


@contextlib.contextmanager
def local_pipeline(database_url: str, name: str, frontend_port: int, **extra: str) -> Iterator[Pipeline]:
    """A whole pipeline on local storage with its own broker and database (`name`): the web process and two
    workers (a film's parts are shared out), the environment `stack_env`'s with `extra`; its films' pages are
    served from `frontend_port` (CORS)."""
    folder = new_project()
    (folder / "media").mkdir()
    broker = TansuBroker(log_path=folder / "tansu.log")
    broker.start()
    with own_database(database_url, name) as url:
        upgrade_database(url)
        port = free_port()
        env = stack_env(folder, url, broker, CORS_ALLOWED_ORIGINS=f"http://127.0.0.1:{frontend_port}", **extra)
        line = Pipeline(folder, env, url, broker, f"http://127.0.0.1:{port}/api")
        line.frontend_port = frontend_port
        line.start_web(port)
        for worker in [line.start_worker(), line.start_worker()]:
            worker.wait_for(r"\[\^Worker\]: Ready", 120)
        try:
            yield line
        finally:
            line.stop()
    broker.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pipeline(database_url):
    # the browser tests' page is served from its own port, as the real frontend would be
    with local_pipeline(
        database_url, "videoflix_pipeline", free_port(),
        REQUEUE_AFTER="20",  # the watchdog heals within the tests' waits
        TRANSCODE_STALL_TIMEOUT="15",  # the hostile corpus has a file on which FFmpeg stalls
        # films from 66 s on are spread over the workers in 8 s parts (media_files["film"]); shorter clips keep
        # the single pass
        PARTS_FROM_SECONDS="66", PART_SECONDS="8",
        # every film with sound is captioned (tiny.en), as in production: the clips' tones give no track; a
        # film's speech from 15 s on is heard in 10 s parts over both workers
        CAPTIONS="on", CAPTION_PART_SECONDS="10",
    ) as line:  # fmt: skip
        yield line


@pytest.fixture(scope="module")
def panel_stack(database_url):
    """A pipeline of its own whose workers a test may stop (the service panel's): the session's must stay up."""
    with local_pipeline(database_url, "videoflix_panel", free_port()) as line:
        yield line


@pytest.fixture(scope="session")
def s3_pipeline(database_url, seaweedfs, pipeline):
    """The pipeline on S3: a web process and two workers that share nothing but PostgreSQL, the broker and a
    SeaweedFS bucket. Each has its own MEDIA_ROOT (the web tier's only holds uploads in flight) and each
    worker its own scratch folder."""
    folder = new_project()
    broker = TansuBroker(log_path=folder / "tansu.log")
    broker.start()
    seaweedfs.create_bucket("videoflix-pipeline")
    with own_database(database_url, "videoflix_s3_pipeline") as url:
        upgrade_database(url)
        port = free_port()
        env = stack_env(
            folder, url, broker, STORAGE_BACKEND="s3", S3_ENDPOINT_URL=seaweedfs.endpoint_url,
            S3_BUCKET="videoflix-pipeline", AWS_ACCESS_KEY_ID=S3_ACCESS_KEY, AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY,
            MEDIA_ROOT=str(folder / "web-media"), REQUEUE_AFTER="20", PARTS_FROM_SECONDS="66", PART_SECONDS="8",
            # the second stage: the best H.264 ladder after the fast one, in parts through the bucket
            # (tests/integration/test_best_ladder.py)
            AVC_LADDER="on",
            CORS_ALLOWED_ORIGINS=f"http://127.0.0.1:{pipeline.frontend_port}",  # the browser tests' page
        )  # fmt: skip
        line = Pipeline(folder, env, url, broker, f"http://127.0.0.1:{port}/api")
        line.store = S3Storage(seaweedfs.client(), "videoflix-pipeline")
        line.start_web(port)
        for n in range(2):
            own = {"MEDIA_ROOT": str(folder / f"worker-{n}-media"), "WORKER_SCRATCH": str(folder / f"scratch-{n}")}
            line.start_worker(**own)
        for worker in line.workers:
            worker.wait_for(r"\[\^Worker\]: Ready", 120)
        try:
            yield line
        finally:
            line.stop()
    broker.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def sealed_pipeline(database_url, pipeline, mail_sink):
    """The pipeline with HLS_ENCRYPTION on (local storage, two workers): every film it makes is sealed, a key
    every two segments so that even a short film turns several keys, and a film it finds clear is sealed
    within seconds; the further ladders' rate aimed (RATE_AIM, its default), as in production. Its own
    broker and database, so its workers take only the films uploaded to it; its viewers register and
    activate through the mail."""
    with local_pipeline(
        database_url, "videoflix_sealed_pipeline", pipeline.frontend_port, HLS_ENCRYPTION="on",
        HLS_KEY_ROTATION="2", SEAL_INTERVAL="2", PARTS_FROM_SECONDS="66", PART_SECONDS="12", RATE_AIM="0.05",
        FRONTEND_URL=f"http://127.0.0.1:{pipeline.frontend_port}", EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=str(mail_sink.port),
    ) as line:  # fmt: skip
        yield line


@pytest.fixture(scope="session")
def sealed_films(sealed_pipeline, media_files) -> dict[str, int]:
    """The sealed pipeline's films, made once: in parts (H.264, then AV1 in parts), in one pass (then AV1),
    and one with three audio tracks (H.264 alone); each ready with its ladders."""
    client = sealed_pipeline.client()
    films = {
        "parts": client.upload(media_files["calm_film"], {"title": "Sealed in parts"})["id"],
        "one pass": client.upload(media_files["calm"], {"title": "Sealed in one pass"})["id"],
        "tracks": client.upload(media_files["tracks"], {"title": "Sealed, three tracks"})["id"],
    }
    for kind, video_id in films.items():
        final, _ = watch(sealed_pipeline, client, video_id, timeout=300)
        assert final["status"] == "ready", (final["error"], [w.output[-4000:] for w in sealed_pipeline.workers])
        if kind != "tracks":  # (a film with several audio tracks keeps H.264 alone)
            sealed_pipeline.wait_for_ladder(client, video_id, 300)
    return films


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def frontend_site(pipeline, tmp_path_factory):
    """The browser tests' player page and hls.js, served from their own origin as the real frontend is."""
    folder = tmp_path_factory.mktemp("site")
    shutil.copy(Path(__file__).with_name("player.html"), folder / "player.html")
    shutil.copy(ROOT / "videoflix/static/vendor/hlsjs/hls.min.js", folder / "hls.min.js")
    server = ThreadingHTTPServer(
        ("127.0.0.1", pipeline.frontend_port), functools.partial(QuietHandler, directory=str(folder))
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{pipeline.frontend_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def media_files():
    folder = Path(tempfile.mkdtemp(prefix="videoflix-clips-"))
    clip = make_clip(folder / "hd.mp4", seconds=5, size="1280x720", rate=30)
    # as easy to encode as a talking head: the AV1 ladder holds H.264's quality in fewer bytes, so it is listed
    calm = make_clip(folder / "calm.mp4", seconds=5, size="1280x720", rate=30, scene=CALM)
    # a fast pan at 1080p: the AV1 ladder falls short of H.264's quality at its top rung, so it is not listed
    rush = make_clip(folder / "rush.mp4", seconds=3, size="1920x1080", rate=30, scene=RUSH)
    small = make_clip(folder / "small.mp4", seconds=2, size="640x360")
    long = make_clip(folder / "long.mp4", seconds=16, size="1280x720", rate=30)  # a job long enough to interrupt
    # a job of ~20 s: long enough to watch it while it transcodes (progressive HLS)
    minute = make_clip(folder / "minute.mp4", seconds=60, size="1280x720", rate=30)
    # long enough to be made in parts, with a second audio track (an alternate audio rendition, from the audio job)
    film = make_clip(folder / "film.mp4", seconds=72, size="1280x720", rate=30, languages=("eng", "ger"))
    # long enough to be made in parts, with one sound track: its AV1 ladder is made in parts too (small and calm:
    # SVT-AV1 makes it in seconds, and holds H.264's quality in fewer bytes, so it is listed)
    calm_film = make_clip(folder / "calm_film.mp4", seconds=68, size="640x360", rate=30, scene=CALM)
    # three audio tracks (English, the default; German; French) in a single pass
    tracks = make_clip(folder / "tracks.mp4", seconds=6, size="640x360", languages=("eng", "ger", "fre"))
    corrupt = make_corrupt(folder / "corrupt.mp4", small)
    yield {
        "hd": clip,
        "small": small,
        "long": long,
        "minute": minute,
        "film": film,
        "calm_film": calm_film,
        "corrupt": corrupt,
        "tracks": tracks,
        "calm": calm,
        "rush": rush,
    }
    shutil.rmtree(folder, ignore_errors=True)


def pytest_terminal_summary(terminalreporter) -> None:
    if not FAULT_REPORT:
        return
    columns = ["uploads", "ready", "failed", "lost", "duplicates"]
    terminalreporter.section("fault scenarios")
    terminalreporter.write_line(f"{'scenario':<34}" + "".join(f"{c:>11}" for c in columns))
    for row in FAULT_REPORT:
        terminalreporter.write_line(f"{row['scenario']:<34}" + "".join(f"{row[c]:>11}" for c in columns))


@pytest.fixture(scope="session")
def best_film(s3_pipeline, frontend_site, media_files, tmp_path_factory) -> dict:
    """A 68 s film in parts on the S3 pipeline, with its best H.264 and AV1 ladders (first fast, then best:
    tests/integration/test_best_ladder.py), and what a viewer who started on the fast ladder saw through the
    swap: {id, viewer, best (the status with the best ladder's verdict), final (with AV1's)}."""
    client = s3_pipeline.client()
    video_id = client.upload(media_files["calm_film"], {"title": "First fast, then best"})["id"]
    assert s3_pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 240)["status"] == "ready"
    page = player_page(s3_pipeline, frontend_site, video_id) + "&noav1=1&rate=0.5"

    def best_listed() -> bool:
        return all("avc" in r for r in client.status(video_id)["renditions"])

    profile = tmp_path_factory.mktemp("profile")
    viewer = asyncio.run(watch_through_the_swap(page, profile, best_listed)) if chromium_path() else None
    best = s3_pipeline.wait_for_ladder(client, video_id, 300, ladder="avc")
    final = s3_pipeline.wait_for_ladder(client, video_id, 400, ladder="av1")
    return {"id": video_id, "viewer": viewer, "best": best, "final": final}
