"""Progressive HLS benchmark: how soon a long upload can be watched, against how soon it is ready.

    python bench/progressive.py [--minutes 10] [--size 1920x1080]

Makes a clip (testsrc2 + a tone, H.264/AAC; 10 minutes of 1080p by default), starts the whole pipeline
(PostgreSQL embedded or DATABASE_URL, the tansu broker, the web process, one Faust worker), uploads the clip
and polls its status every 0.1 s. Prints the seconds from the end of the upload to `playable` (the first
segments of every rendition exist and are served) and to `ready`, and their ratio. Target: playable within
15 s of the upload's end for 10 minutes of 1080p on a 2-core machine.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.stack import web_stack
from tests.clips import make_clip
from videoflix.cli.upload import Client
from videoflix.devservices import TansuBroker, free_port

PASSWORD = "Progressive-pass-42"
FAUST_WORKER = [sys.executable, "-m", "faust", "-A", "stream_workers.app", "worker", "-l", "info"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="videoflix-progressive-bench-"))
    work.chmod(0o755)
    broker = TansuBroker(log_path=work / "tansu.log")
    worker = None
    try:
        started = time.perf_counter()
        clip = make_clip(work / "film.mp4", seconds=args.minutes * 60, size=args.size, rate=30)
        print(f"clip: {args.minutes:g} min of {args.size}, {clip.stat().st_size / 2**20:.0f} MiB, "
              f"made in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        broker.start()
        env = {
            "MEDIA_ROOT": str(work / "media"),
            "SECRET_KEY": "p" * 48,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "MAX_UPLOAD_SIZE": str(clip.stat().st_size + 2**20),
        }
        with web_stack(work, "bench@example.com", PASSWORD, env, staff=True) as stack:
            worker_env = {**os.environ, "DATABASE_URL": stack.database_url, **env,
                          "FAUST_DATADIR": str(work / "faust"), "FAUST_WEB_PORT": str(free_port())}  # fmt: skip
            log = (work / "worker.log").open("wb")
            worker = subprocess.Popen(FAUST_WORKER, env=worker_env, stdout=log, stderr=subprocess.STDOUT)
            wait_for_log(work / "worker.log", "[^Worker]: Ready", 120)
            measure(stack, clip, args)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(60)
        broker.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def wait_for_log(path: Path, text: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        if time.monotonic() > deadline:
            raise SystemExit(f"{text!r} not in {path} after {timeout} s:\n{path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.2)


def measure(stack, clip: Path, args) -> None:
    client = Client(stack.api)
    client.login("bench@example.com", PASSWORD)
    began = time.perf_counter()
    video_id = client.upload(clip, {"title": "Progressive benchmark"})["id"]
    uploaded = time.perf_counter()
    playable = ready = None
    status = {}
    while ready is None:
        status = client.status(video_id)
        now = time.perf_counter()
        if playable is None and status["status"] in ("playable", "ready"):
            playable = now
            print(f"playable after {playable - uploaded:.1f} s ({status['progress']:.1f} % transcoded)", flush=True)
        if status["status"] in ("ready", "failed"):
            ready = now
        time.sleep(0.1)
    if status["status"] != "ready":
        raise SystemExit(f"the video failed: {status['error']}")
    duration = args.minutes * 60
    print(f"\nupload of {clip.stat().st_size / 2**20:.0f} MiB took {uploaded - began:.1f} s")
    print(f"{'from the end of the upload to':<32}{'seconds':>9}{'x film length':>15}")
    print(f"{'playable (first segments)':<32}{playable - uploaded:>9.1f}{(playable - uploaded) / duration:>15.3f}")
    print(f"{'ready (every segment)':<32}{ready - uploaded:>9.1f}{(ready - uploaded) / duration:>15.3f}")
    print(f"\nready / playable: {(ready - uploaded) / (playable - uploaded):.0f}x; "
          f"target playable <= 15 s: {'met' if playable - uploaded <= 15 else 'MISSED'}")  # fmt: skip
    print(f"renditions: {', '.join(status['resolutions'])}")


if __name__ == "__main__":
    sys.exit(main())
