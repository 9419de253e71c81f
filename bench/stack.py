"""What the benchmarks stand on: PostgreSQL (embedded, or DATABASE_URL) with the migrations applied, one
account, and the web process (`videoflix serve development.ini`) on a free port; for the pipeline benchmarks
also the tansu broker and Faust workers, and the upload of one film watched to its end."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from stream_workers import film_parts
from stream_workers.hls import SEGMENT_SECONDS
from videoflix.cli.upload import Client
from videoflix.devservices import EmbeddedPostgres, TansuBroker, free_port, upgrade_database, wait_for_port

ROOT = Path(__file__).resolve().parents[1]
INI = str(ROOT / "development.ini")
VIDEOFLIX = [sys.executable, "-m", "videoflix.cli"]
FAUST_WORKER = [sys.executable, "-m", "faust", "-A", "stream_workers.app", "worker", "-l", "info"]


@dataclass
class Stack:
    database_url: str
    port: int
    pid: int
    worker_logs: list[Path] = field(default_factory=list)
    #: `pipeline_stack`: starts one more Faust worker (not waiting for it) and returns its process
    start_worker: Callable[[], subprocess.Popen] | None = None

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


@contextlib.contextmanager
def pipeline_stack(work: Path, email: str, password: str, env: dict[str, str], workers: int = 1) -> Iterator[Stack]:
    """The whole pipeline: `web_stack` (staff account) plus tansu and `workers` Faust worker processes (each
    ready; `stack.start_worker` starts more)."""
    broker = TansuBroker(log_path=work / "tansu.log")
    broker.start()
    started: list[subprocess.Popen] = []
    try:
        env = {**env, "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers}
        with web_stack(work, email, password, env, staff=True) as stack:

            def start_worker() -> subprocess.Popen:
                n = len(started)
                own = {"FAUST_DATADIR": str(work / f"faust-{n}"), "FAUST_WEB_PORT": str(free_port())}
                worker_env = {**os.environ, "DATABASE_URL": stack.database_url, **env, **own}
                log = work / f"worker-{n}.log"
                started.append(subprocess.Popen(FAUST_WORKER, env=worker_env, stdout=log.open("wb"),
                                                stderr=subprocess.STDOUT, start_new_session=True))  # fmt: skip
                stack.worker_logs.append(log)
                return started[-1]

            stack.start_worker = start_worker
            for _ in range(workers):
                start_worker()
            for log in stack.worker_logs:
                wait_for_log(log, "[^Worker]: Ready", 120)
            yield stack
    finally:
        for worker in started:
            if worker.poll() is None:
                worker.terminate()
        for worker in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.wait(60)
            with contextlib.suppress(ProcessLookupError):  # its FFmpeg jobs too: the worker leads its own group
                os.killpg(worker.pid, signal.SIGKILL)
        broker.stop()


def wait_for_log(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{text!r} not in {path} after {timeout} s:\n{path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


@dataclass
class Watched:
    video_id: int
    upload_seconds: float
    #: seconds from the end of the upload
    playable: float
    ready: float
    status: dict


def playable_after(
    stack: Stack, email: str, password: str, clip: Path, title: str, timeout: float = 120, own: bool = False
) -> float:
    """Upload `clip`, poll its status every 0.1 s until it is playable: the seconds from the end of the upload.
    The video is then deleted, and this waits until the worker has stopped its FFmpeg jobs (`own`: those of
    this video alone), so the next measurement starts on an idle machine."""
    client = Client(stack.api)
    client.login(email, password)
    video_id = client.upload(clip, {"title": title})["id"]
    uploaded = time.perf_counter()
    while (status := client.status(video_id))["status"] not in ("playable", "ready", "failed"):
        if time.perf_counter() - uploaded > timeout:
            raise SystemExit(f"not playable within {timeout:.0f} s")
        time.sleep(0.1)
    playable = time.perf_counter() - uploaded
    if status["status"] == "failed":
        raise SystemExit(f"the video failed: {status['error']}")
    client.call("DELETE", f"/video/{video_id}/", headers={"X-CSRFToken": client.csrf()})
    deadline = time.monotonic() + 60
    while ffmpeg_running(f"/videos/{video_id}/".encode() if own else b"") and time.monotonic() < deadline:
        time.sleep(0.2)
    return playable


def ffmpeg_running(naming: bytes = b"") -> bool:
    """Whether an FFmpeg process runs on this machine (a worker's job); with `naming`, one with an argument
    that holds it (an encoder, a video's folder)."""
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ffmpeg" in argv[0] and any(naming in arg for arg in argv[1:]):
            return True
    return False


def upload_and_watch(stack: Stack, email: str, password: str, clip: Path, title: str) -> Watched:
    """Upload `clip` and poll its status every 0.1 s until it is ready (SystemExit if it fails)."""
    client = Client(stack.api)
    client.login(email, password)
    began = time.perf_counter()
    video_id = client.upload(clip, {"title": title})["id"]
    uploaded = time.perf_counter()
    playable = None
    while (status := client.status(video_id))["status"] not in ("ready", "failed"):
        if playable is None and status["status"] == "playable":
            playable = time.perf_counter() - uploaded
            print(f"playable after {playable:.1f} s ({status['progress']:.1f} % transcoded)", flush=True)
        time.sleep(0.1)
    ready = time.perf_counter() - uploaded
    if status["status"] != "ready":
        raise SystemExit(f"the video failed: {status['error']}")
    return Watched(video_id, uploaded - began, ready if playable is None else playable, ready, status)


def part_seconds(text: str) -> int:
    """`--part-seconds`: a film's parts start on its segment grid, so a part is a whole number of segments."""
    seconds = int(text)
    if seconds <= 0 or seconds % SEGMENT_SECONDS:
        raise argparse.ArgumentTypeError(
            f"a whole number of {SEGMENT_SECONDS} s segments, e.g. {film_parts.PART_SECONDS}"
        )
    return seconds
