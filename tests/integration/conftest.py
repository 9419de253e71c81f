"""Running the real commands (`videoflix dev`, `pserve`, the Faust worker) as a person would."""

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
import pytest

from videoflix.config import ENVIRONMENT

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
    for command in started:
        command.kill()


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
