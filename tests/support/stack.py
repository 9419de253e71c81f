"""Running the real commands (`videoflix dev`, `pserve`, the Faust worker) as a person would: child processes
whose output a test searches, a project folder like a fresh checkout, a database of its own, the environment
of a test stack, and the running pipeline (`Pipeline`) the integration fixtures start once per session."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import psycopg2
import sqlalchemy as sa

from videoflix.cli.upload import Client
from videoflix.config import ENVIRONMENT
from videoflix.devservices import TansuBroker, free_port, wait_for_port

from .accounts import PASSWORD

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

    def listening(self, port: int, timeout: float) -> None:
        """Block until the command accepts connections on loopback `port`; if it exits first, fail with what
        it printed (a bare "exited" left a CI failure without its cause)."""
        try:
            wait_for_port("127.0.0.1", port, timeout, alive=lambda: self.proc.poll() is None)
        except RuntimeError as exc:
            raise AssertionError(f"{exc} (exit code {self.proc.poll()}); output:\n{self.output[-4000:]}") from None

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


def clean_env() -> dict[str, str]:
    """The environment of a shell with none of the app's variables set."""
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT and k != "TEST_DATABASE_URL"}
    env["PYTHONUNBUFFERED"] = "1"
    return env


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
        # the AV1 ladder (SVT-AV1 preset 6, in parts after a film is ready) for the short clips the AV1 tests
        # upload, not for the minute-long ones others do: a minute of CPU per such film the suite has no use for
        "AV1_MAX_SECONDS": "10",
        # clear segments: these stacks' tests read the bytes the encoders made (decoded frames, sound, joins);
        # sealed films have a stack of their own (tests/integration/test_sealed_hls.py)
        "HLS_ENCRYPTION": "off",
        # no best H.264 ladder (x264 slow after every film is ready would hold a worker from the next upload):
        # the tests of the second stage turn it on in a stack of their own (tests/integration/test_avc.py)
        "AVC_LADDER": "off",
        # each further ladder at its own CRF: the aim's probes would add seconds to every film (the sealed
        # pipeline, which runs the production defaults, aims them)
        "RATE_AIM": "off",
        # automatic captions where a test asks for them, with the smallest model (tiny.en)
        "CAPTIONS": "off",
        "CAPTION_MODEL": "tiny.en",
        **extra,
    }


# -- the whole pipeline: web process, Faust workers, tansu, PostgreSQL, FFmpeg (one per session) --------
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

    def stop(self) -> None:
        for command in self.commands:
            command.kill()
        self.engine.dispose()

    def start_web(self, port: int) -> Command:
        """The operator's account (as `videoflix user create --staff` makes it), then the web process on `port`."""
        ini = str(self.folder / "development.ini")
        made = self.run([*VIDEOFLIX, "user", "create", "--staff", "operator@example.com", "--password", PASSWORD,
                         "--ini", ini], "user-create")  # fmt: skip
        assert made.proc.wait(60) == 0, made.output
        web = self.run([*VIDEOFLIX, "serve", ini, "--port", str(port)], "web")
        web.listening(port, 60)
        return web

    def start_worker(self, **env: str) -> Command:
        """One more Faust worker; `env` adds or overrides its variables (its own scratch folder, ...)."""
        n, port = len(self.workers), free_port()
        worker = self.run(
            FAUST_WORKER, f"worker-{n}", FAUST_DATADIR=str(self.folder / f"faust-{n}"), FAUST_WEB_PORT=str(port), **env
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

    def wait_for_ladder(
        self, client: Client, video_id: int, timeout: float, making: list | None = None, ladder: str = "av1"
    ) -> dict:
        """Wait until a ready film has been reported again with its further `ladder`'s verdict (made after it
        is ready: its renditions name their twins in it); its status. `making`: gets the ladder's progress as
        the status endpoint showed it meanwhile."""
        deadline = time.monotonic() + timeout
        while True:
            status = client.status(video_id)
            if making is not None and (status.get("ladder_progress") or {}).get(ladder):
                making.append(status["ladder_progress"][ladder])
            if status["renditions"] and all(ladder in r for r in status["renditions"]):
                return status
            if time.monotonic() > deadline:
                logs = "\n".join(w.output[-3000:] for w in self.workers)
                raise AssertionError(f"video {video_id} has no {ladder} verdict after {timeout}s; logs:\n{logs}")
            time.sleep(0.5)

    def scalar(self, query: str, **params):
        with self.engine.connect() as conn:
            return conn.execute(sa.text(query), params).scalar()


# -- the fault scenarios' report (test_faults.py), printed at the end of the run -------------------------
FAULT_REPORT: list[dict] = []


PSERVE = [sys.executable, "-m", "pyramid.scripts.pserve"]


def with_port(ini: Path, port: int) -> None:
    text = ini.read_text()
    for listen in ("127.0.0.1:8000", "0.0.0.0:8000"):
        text = text.replace(f"listen = {listen}", f"listen = 127.0.0.1:{port}")
    ini.write_text(text)
