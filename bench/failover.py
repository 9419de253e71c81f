"""How soon workers take work: a fresh worker's first event, and a SIGKILLed worker's job running again on
another worker, for the old and the new Kafka session timeout side by side.

    python bench/failover.py [--timeouts 60,6] [--clip-seconds 90]

For each KAFKA_SESSION_TIMEOUT, starts the pipeline (PostgreSQL embedded or DATABASE_URL, the tansu broker,
the web process) with no worker, uploads a short clip (its event waits in the outbox), then
- starts one worker and measures the seconds from the worker's process start to its FFmpeg running on that
  clip (the first join of the consumer group, which tansu holds for half the session timeout, is most of it);
- starts a second worker, uploads a long clip (single pass), lets its job run for 3 session timeouts of the
  shortest setting (at least 20 s), and counts the group joins in both logs meanwhile: a worker busy with a
  long encode must keep its partitions (its heartbeats come from the consumer's own thread) and no second
  FFmpeg may start on the same video;
- SIGKILLs the worker whose FFmpeg runs it (worker and FFmpeg), and measures the seconds until an FFmpeg runs
  on the other worker (the session timeout, then the rebalance), then waits for the video to be ready.
Targets: first event within 5 s of the worker's start; running again within 15 s of the kill.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil

from bench.stack import pipeline_stack, wait_for_log
from tests.support.accounts import PASSWORD
from tests.support.clips import make_clip
from videoflix.cli.upload import Client

EMAIL = "bench@example.com"
TARGET_FIRST_EVENT = 5.0
TARGET_TAKEOVER = 15.0
JOINED = "Joined group"
READY = "[^Worker]: Ready"


def logged_at(log: Path, text: str) -> float:
    """The wall-clock time (epoch seconds) of the first log line holding `text` (Faust's `[%Y-%m-%d %H:%M:%S,%f]`)."""
    line = next(line for line in log.read_text(errors="replace").splitlines() if text in line)
    stamp = datetime.strptime(line[1:24], "%Y-%m-%d %H:%M:%S,%f")
    return stamp.timestamp()


@dataclass
class Run:
    session_timeout: float
    ready: float  # worker process start -> Faust logs "Ready" (imports, start-up, the group's first join)
    first_event: float  # worker process start -> its FFmpeg runs
    joins_while_busy: int  # group joins logged by either worker while the long job ran
    ffmpeg_while_busy: int  # workers running an FFmpeg at once (1 = no duplicate)
    takeover: float  # SIGKILL -> FFmpeg runs on the other worker
    ready_after_kill: float


def ffmpeg_running(worker: subprocess.Popen) -> bool:
    try:
        return any(p.name().startswith("ffmpeg") for p in psutil.Process(worker.pid).children(recursive=True))
    except psutil.NoSuchProcess:
        return False


def wait_until(condition, timeout: float, what: str) -> float:
    """Seconds until `condition()` holds, polling every 50 ms."""
    started = time.perf_counter()
    while not condition():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"{what}: not within {timeout:.0f} s")
        time.sleep(0.05)
    return time.perf_counter() - started


def measure(work: Path, session_timeout: float, short: Path, long: Path, busy_seconds: float) -> Run:
    env = {"MEDIA_ROOT": str(work / "media"), "SECRET_KEY": "f" * 48, "KAFKA_SESSION_TIMEOUT": f"{session_timeout:g}"}
    with pipeline_stack(work, EMAIL, PASSWORD, env, workers=0) as stack:
        client = Client(stack.api)
        client.login(EMAIL, PASSWORD)
        client.upload(short, {"title": "first event"})
        started = time.time()
        first = stack.start_worker()
        first_event = wait_until(lambda: ffmpeg_running(first), 300, "the first worker's first job")
        wait_for_log(stack.worker_logs[0], READY, 60)
        ready = logged_at(stack.worker_logs[0], READY) - started
        print(f"  session {session_timeout:g} s: Ready {ready:.1f} s, first job {first_event:.1f} s after the worker "
              "started", flush=True)  # fmt: skip

        second = stack.start_worker()
        wait_for_log(stack.worker_logs[1], READY, 300)
        wait_until(lambda: not ffmpeg_running(first), 120, "the first job's end")
        video_id = client.upload(long, {"title": "failover"})["id"]
        workers = [first, second]
        wait_until(lambda: any(ffmpeg_running(w) for w in workers), 120, "the long job's start")
        joins = [log.read_text(errors="replace").count(JOINED) for log in stack.worker_logs]
        busiest = 0
        deadline = time.perf_counter() + busy_seconds
        while time.perf_counter() < deadline:
            busiest = max(busiest, sum(ffmpeg_running(w) for w in workers))
            time.sleep(0.2)
        joins_while_busy = sum(
            log.read_text(errors="replace").count(JOINED) - before
            for log, before in zip(stack.worker_logs, joins, strict=True)
        )
        owner = next((w for w in workers if ffmpeg_running(w)), None)
        if owner is None:
            raise SystemExit("the long job ended before the kill: use a longer --clip-seconds")
        other = second if owner is first else first
        os.killpg(owner.pid, signal.SIGKILL)
        killed = time.perf_counter()
        takeover = wait_until(lambda: ffmpeg_running(other), 300, "the job on the other worker")
        while (status := client.status(video_id))["status"] not in ("ready", "failed"):
            time.sleep(0.2)
        if status["status"] != "ready":
            raise SystemExit(f"the video failed: {status['error']}")
        ready_after_kill = time.perf_counter() - killed
        print(f"  killed mid-job: running again after {takeover:.1f} s, ready {ready_after_kill:.1f} s after the kill",
              flush=True)  # fmt: skip
        return Run(session_timeout, ready, first_event, joins_while_busy, busiest, takeover, ready_after_kill)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timeouts", default="60,6", help="KAFKA_SESSION_TIMEOUT values, comma-separated")
    parser.add_argument("--clip-seconds", type=float, default=90.0, help="the long clip (1280x720)")
    args = parser.parse_args()
    timeouts = [float(t) for t in args.timeouts.split(",")]
    busy_seconds = max(20.0, 3 * min(timeouts))

    work = Path(tempfile.mkdtemp(prefix="videoflix-failover-bench-"))
    work.chmod(0o755)
    try:
        short = make_clip(work / "short.mp4", seconds=4, size="640x360")
        long = make_clip(work / "long.mp4", seconds=args.clip_seconds, size="1280x720", rate=30)
        runs = []
        for timeout in timeouts:
            run = work / f"session-{timeout:g}"
            run.mkdir(mode=0o755)
            runs.append(measure(run, timeout, short, long, busy_seconds))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nKAFKA_SESSION_TIMEOUT side by side (2 workers, tansu, 2 cores; long job watched {busy_seconds:.0f} s)")
    print(f"{'session s':>10}{'Ready s':>9}{'first job s':>13}{'joins busy':>12}{'ffmpeg at once':>16}"
          f"{'running again s':>17}{'ready after kill s':>20}")  # fmt: skip
    for r in runs:
        print(f"{r.session_timeout:>10g}{r.ready:>9.1f}{r.first_event:>13.1f}{r.joins_while_busy:>12}{r.ffmpeg_while_busy:>16}"
              f"{r.takeover:>17.1f}{r.ready_after_kill:>20.1f}")  # fmt: skip
    base = runs[0]
    for r in runs[1:]:
        print(f"session {r.session_timeout:g} s vs {base.session_timeout:g} s: first job "
              f"{base.first_event / r.first_event:.1f}x sooner, "
              f"running again {base.takeover / r.takeover:.1f}x sooner")  # fmt: skip
    for r in runs:
        first = "met" if r.first_event <= TARGET_FIRST_EVENT else "MISSED"
        again = "met" if r.takeover <= TARGET_TAKEOVER else "MISSED"
        kept = "kept" if r.joins_while_busy == 0 and r.ffmpeg_while_busy == 1 else "LOST"
        print(f"session {r.session_timeout:g} s: first job <= {TARGET_FIRST_EVENT:g} s {first}; running again <= "
              f"{TARGET_TAKEOVER:g} s {again}; partitions while busy {kept}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
