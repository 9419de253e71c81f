"""Running the real commands (`videoflix dev`, `pserve`, the Faust worker) as a person would."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import psycopg2
import pytest
import sqlalchemy as sa

from videoflix.cli.upload import Client
from videoflix.config import ENVIRONMENT
from videoflix.devservices import TansuBroker, free_port, upgrade_database, wait_for_port

from ..clips import make_clip, make_corrupt

ROOT = Path(__file__).resolve().parents[2]


class Command:
    """A child process whose combined output goes to a file the test can search while it runs."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], log: Path):
        self.log = log
        self.proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, pattern: str, timeout: float) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output)
            if match:
                return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"{pattern!r} not seen in {timeout}s; output:\n{self.output[-4000:]}")

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.proc.pid).children(recursive=True)

    def interrupt(self, timeout: float = 90) -> int:
        """Ctrl-C, as a terminal sends it."""
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def new_project() -> Path:
    """A project folder like a fresh checkout (the .ini files and migrations) in a folder that the
    embedded PostgreSQL's system user can reach."""
    folder = Path(tempfile.mkdtemp(prefix="videoflix-project-"))
    folder.chmod(0o755)
    for name in ("development.ini", "production.ini"):
        shutil.copy(ROOT / name, folder / name)
    (folder / "alembic").symlink_to(ROOT / "alembic")
    return folder


@pytest.fixture
def project() -> Path:
    folder = new_project()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def clean_env() -> dict[str, str]:
    """The environment of a shell with none of the app's variables set."""
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT and k != "TEST_DATABASE_URL"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


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


VIDEOFLIX = [sys.executable, "-m", "videoflix.cli"]
FAUST_WORKER = [sys.executable, "-m", "faust", "-A", "stream_workers.app", "worker", "-l", "info"]


@contextlib.contextmanager
def own_database(database_url: str, name: str):
    """A fresh database on the test server, for processes that commit for real; dropped afterwards."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    admin = psycopg2.connect(url.set(database="postgres", drivername="postgresql").render_as_string(False))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
        yield url.set(database=name).render_as_string(hide_password=False)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def stack_env(folder: Path, database_url: str, broker: TansuBroker, **extra: str) -> dict[str, str]:
    """The environment of a test stack's web and worker processes; `extra` adds or overrides variables."""
    return {
        **clean_env(),
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "MEDIA_ROOT": str(folder / "media"),
        "SECRET_KEY": "s" * 48,
        "TRANSCODE_RETRY_DELAY": "1",
        **extra,
    }


# -- the whole pipeline: web process, Faust workers, tansu, PostgreSQL, FFmpeg (one per session) --------
PASSWORD = "Op3rator-pass-word"
PARTITIONS = 8


class Pipeline:
    def __init__(self, folder: Path, env: dict[str, str], database_url: str, broker: TansuBroker, api: str):
        self.folder = folder
        self.env = env
        self.database_url = database_url
        self.broker = broker
        self.api = api
        self.media = Path(env["MEDIA_ROOT"])
        self.engine = sa.create_engine(database_url, pool_pre_ping=True)
        self.workers: list[Command] = []
        self.commands: list[Command] = []

    def run(self, argv: list[str], name: str, **extra_env) -> Command:
        command = Command(argv, self.folder, {**self.env, **extra_env}, self.folder / f"{name}.log")
        self.commands.append(command)
        return command

    def start_worker(self) -> Command:
        n, port = len(self.workers), free_port()
        worker = self.run(
            FAUST_WORKER, f"worker-{n}", FAUST_DATADIR=str(self.folder / f"faust-{n}"), FAUST_WEB_PORT=str(port)
        )
        worker.web_port = port  # /healthz and /readyz
        self.workers.append(worker)
        return worker

    def client(self) -> Client:
        client = Client(self.api)
        client.login("operator@example.com", PASSWORD)
        return client

    def wait_for_status(self, client: Client, video_id: int, statuses: set[str], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = client.status(video_id)
            if status["status"] in statuses:
                return status
            time.sleep(0.5)
        logs = "\n".join(w.output[-3000:] for w in self.workers)
        raise AssertionError(f"video {video_id} is {status['status']} after {timeout}s; worker logs:\n{logs}")

    def scalar(self, query: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(query), params).scalar()


@pytest.fixture(scope="session")
def pipeline(database_url):
    folder = new_project()
    (folder / "media").mkdir()
    broker = TansuBroker(log_path=folder / "tansu.log")
    broker.start()
    with own_database(database_url, "videoflix_pipeline") as url:
        upgrade_database(url)
        port = free_port()
        frontend_port = free_port()  # the browser test's page is served there, as the real frontend would be
        env = stack_env(
            folder,
            url,
            broker,
            REQUEUE_AFTER="20",  # the watchdog heals within the tests' waits
            TRANSCODE_STALL_TIMEOUT="15",  # the hostile corpus has a file on which FFmpeg stalls
            # films from 66 s on are spread over the workers in 8 s parts (media_files["film"]); shorter
            # clips keep the single pass
            CHUNKED_MIN_SECONDS="66",
            CHUNK_SECONDS="8",
            CORS_ALLOWED_ORIGINS=f"http://127.0.0.1:{frontend_port}",
        )
        line = Pipeline(folder, env, url, broker, f"http://127.0.0.1:{port}/api")
        line.frontend_port = frontend_port
        made = line.run(
            [
                *VIDEOFLIX,
                "user",
                "create",
                "--staff",
                "operator@example.com",
                "--password",
                PASSWORD,
                "--ini",
                str(folder / "development.ini"),
            ],
            "user-create",
        )
        assert made.proc.wait(60) == 0, made.output
        web = line.run([*VIDEOFLIX, "serve", str(folder / "development.ini"), "--port", str(port)], "web")
        wait_for_port("127.0.0.1", port, 60, alive=lambda: web.proc.poll() is None)
        for worker in [line.start_worker(), line.start_worker()]:  # two, as a film's parts are shared out
            worker.wait_for(r"\[\^Worker\]: Ready", 120)
        try:
            yield line
        finally:
            for command_ in line.commands:
                command_.kill()
            line.engine.dispose()
    broker.stop()
    shutil.rmtree(folder, ignore_errors=True)


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
    small = make_clip(folder / "small.mp4", seconds=2, size="640x360")
    long = make_clip(folder / "long.mp4", seconds=16, size="1280x720", rate=30)  # a job long enough to interrupt
    # a job of ~20 s: long enough to watch it while it transcodes (progressive HLS)
    minute = make_clip(folder / "minute.mp4", seconds=60, size="1280x720", rate=30)
    film = make_clip(folder / "film.mp4", seconds=72, size="1280x720", rate=30)  # long enough to be chunked
    corrupt = make_corrupt(folder / "corrupt.mp4", small)
    yield {"hd": clip, "small": small, "long": long, "minute": minute, "film": film, "corrupt": corrupt}
    shutil.rmtree(folder, ignore_errors=True)


# -- the fault scenarios' report (test_faults.py), printed at the end of the run -------------------------
FAULT_REPORT: list[dict] = []


def pytest_terminal_summary(terminalreporter) -> None:
    if not FAULT_REPORT:
        return
    columns = ["uploads", "ready", "failed", "lost", "duplicates"]
    terminalreporter.section("fault scenarios")
    terminalreporter.write_line(f"{'scenario':<34}" + "".join(f"{c:>11}" for c in columns))
    for row in FAULT_REPORT:
        terminalreporter.write_line(f"{row['scenario']:<34}" + "".join(f"{row[c]:>11}" for c in columns))
