"""What the web benchmarks stand on: PostgreSQL (embedded, or DATABASE_URL) with the migrations applied, one
account, and the web process (`videoflix serve development.ini`) on a free port."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from videoflix.devservices import EmbeddedPostgres, free_port, upgrade_database, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
INI = str(ROOT / "development.ini")
VIDEOFLIX = [sys.executable, "-m", "videoflix.cli"]


@dataclass
class Stack:
    database_url: str
    port: int
    pid: int

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


@contextlib.contextmanager
def web_stack(
    work: Path,
    email: str,
    password: str,
    env: dict[str, str],
    staff: bool = False,
    prepare: Callable[[str], None] | None = None,
) -> Iterator[Stack]:
    """`prepare(database_url)` runs after the migrations, before the web process starts (seeding)."""
    database, web = None, None
    try:
        url = os.environ.get("DATABASE_URL")
        if not url:
            database = EmbeddedPostgres(work / "pgdata", database="videoflix_bench", temporary=True)
            url = database.start()
        upgrade_database(url)
        if prepare is not None:
            prepare(url)
        env = {**os.environ, "DATABASE_URL": url, **env}
        create = [*VIDEOFLIX, "user", "create", email, "--password", password, "--ini", INI]
        subprocess.run([*create, "--staff"] if staff else create, env=env, check=True, capture_output=True)
        port = free_port()
        web = subprocess.Popen([*VIDEOFLIX, "serve", INI, "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        wait_for_port("127.0.0.1", port, 60, alive=lambda: web.poll() is None)
        yield Stack(url, port, web.pid)
    finally:
        if web is not None:
            web.terminate()
            web.wait(10)
        if database is not None:
            database.stop()
