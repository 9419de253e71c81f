"""Every ladder of a long film over 1, 2 and 4 workers: how soon it plays, is ready in H.264, and has its AV1
ladder's verdict (made in its parts over every worker), against the same film made in one pass.

    python bench/ladders.py [--minutes 3] [--size 1280x720] [--part-seconds 60] [--workers 1 2 4]

One generated film (a calm scene, as easy to encode as a talking head, and a tone), uploaded to the whole
pipeline (PostgreSQL, tansu, the web process, N Faust worker processes) once per worker count, every film
in parts (PARTS_FROM_SECONDS=0), AV1_LADDER=on; then once more with one worker and no parts (the single
pass, its AV1 ladder by one run after it). Each worker process is pinned to its share of this machine's cores
(`taskset`: with 2 cores, 1 worker gets both, 2 one each, 4 two to a core); its FFmpeg runs inherit it. So
4 workers on 2 cores have no more CPU than 2: the times show what the plan costs, not what 4 machines give.
Prints, from the end of the upload: playable, ready (H.264), the AV1 verdict in, which ladders the master
lists, and the AV1 parts each worker made; and, from the one-worker run's parts, the AV1 verdict projected
for N machines like this one (its parts scheduled longest first on N, as bench/parts.py does for H.264).
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import heapq
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.stack import part_seconds, pipeline_stack
from stream_workers import film_parts
from tests.support.accounts import PASSWORD
from tests.support.clips import CALM, make_clip
from videoflix.cli.upload import Client

EMAIL = "bench@example.com"


@dataclass
class Result:
    label: str
    playable: float | None
    ready: float
    verdict: float
    listed: list[str]
    parts: list[int]
    #: each AV1 part's encode and join, seconds (from the workers' logs)
    part_seconds: list[float]


def projected(walls: list[float], machines: int) -> float:
    """Makespan of the jobs on `machines`, longest job first to the least loaded one."""
    loads = [0.0] * machines
    for wall in sorted(walls, reverse=True):
        heapq.heapreplace(loads, loads[0] + wall)
    return max(loads)


def pin(pid: int, worker: int, workers: int, cores: int) -> str:
    """Pin a worker process (every thread, and the FFmpeg runs it starts later) to its share of the cores."""
    if workers <= cores:
        share = cores // workers
        cpus = list(range(worker * share, worker * share + share))
    else:
        cpus = [worker % cores]
    listed = ",".join(map(str, cpus))
    subprocess.run(["taskset", "-a", "-p", "-c", listed, str(pid)], check=True, capture_output=True)
    return listed


def run(work: Path, clip: Path, workers: int, in_parts: bool, part_seconds: int, cores: int) -> Result:
    env = {
        "MEDIA_ROOT": str(work / "media"),
        "SECRET_KEY": "c" * 48,
        "MAX_UPLOAD_SIZE": str(clip.stat().st_size + 2**20),
        "PARTS_FROM_SECONDS": "0" if in_parts else "inf",
        "PART_SECONDS": str(part_seconds),
        "AV1_LADDER": "on",
        "AV1_MAX_SECONDS": "inf",
        "QUALITY_SAMPLES": "30",
    }
    work.mkdir(mode=0o755)
    with pipeline_stack(work, EMAIL, PASSWORD, env, workers=workers) as stack:
        shares = [pin(pid, n, workers, cores) for n, pid in enumerate(_worker_pids(stack))]
        print(f"  {workers} worker(s) on cores {shares}", flush=True)
        client = Client(stack.api)
        client.login(EMAIL, PASSWORD)
        video_id = client.upload(clip, {"title": "Every ladder"})["id"]
        uploaded = time.perf_counter()
        playable = ready = None
        while True:
            status = client.status(video_id)
            now = time.perf_counter() - uploaded
            if playable is None and status["status"] == "playable":
                playable = now
            if ready is None and status["status"] == "ready":
                ready = now
                print(f"  ready in H.264 after {ready:.1f} s", flush=True)
            if status["status"] == "failed":
                raise SystemExit(f"the video failed: {status['error']}")
            if ready is not None and status["renditions"] and all("av1" in r for r in status["renditions"]):
                verdict = now
                break
            time.sleep(0.25)
        with client.opener.open(f"{stack.api}/video/{video_id}/master.m3u8", timeout=30) as response:
            master = response.read().decode()
        listed = sorted(set(re.findall(r'CODECS="(\w{4})', master)))
        pattern = rf"video {video_id} av1 part \d+ encoded in ([\d.]+) s"
        found = [re.findall(pattern, log.read_text(errors="replace")) for log in stack.worker_logs]
    label = f"{workers} worker{'s' * (workers > 1)}, in parts" if in_parts else "1 worker, one pass"
    listed = [codec for codec in listed if codec != "jpeg"]  # (the storyboard's image playlist)
    seconds = [float(s) for per_worker in found for s in per_worker]
    return Result(label, playable, ready, verdict, listed, [len(per_worker) for per_worker in found], seconds)


def _worker_pids(stack) -> list[int]:
    """The Faust worker processes of the stack (the logs name them in their first lines)."""
    pids = []
    for log in stack.worker_logs:
        found = re.search(r"\[(\d+)\] \[INFO\]", log.read_text(errors="replace"))
        pids.append(int(found.group(1)))
    return pids


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--part-seconds", type=part_seconds, default=film_parts.PART_SECONDS)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    work = Path(tempfile.mkdtemp(prefix="videoflix-ladders-bench-"))
    work.chmod(0o755)
    try:
        clip = make_clip(work / "film.mp4", seconds=args.minutes * 60, size=args.size, rate=30, scene=CALM)
        parts = f"{args.part_seconds} s parts"
        print(f"{args.minutes:g} min of {args.size} (calm scene), {parts}, {cores} cores", flush=True)
        results = []
        for n in args.workers:
            print(f"in parts, {n} worker(s):", flush=True)
            results.append(run(work / f"parts-{n}", clip, n, True, args.part_seconds, cores))
        print("one pass, 1 worker:", flush=True)
        results.append(run(work / "single", clip, 1, False, args.part_seconds, cores))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{'':<24}{'playable s':>11}{'H.264 ready s':>15}{'AV1 verdict s':>15}  listed   AV1 parts per worker")
    for r in results:
        playable = f"{r.playable:.1f}" if r.playable is not None else "-"
        print(f"{r.label:<24}{playable:>11}{r.ready:>15.1f}{r.verdict:>15.1f}  {'+'.join(r.listed):<8} {r.parts}")
    one = next((r for r in results if r.label.startswith("1 worker,") and r.part_seconds), None)
    if one is not None:  # N machines like this one: the measured parts scheduled on N, then the verdict
        tail = one.verdict - one.ready - sum(one.part_seconds)
        print(f"\nprojected for N machines like this one (the {len(one.part_seconds)} AV1 parts of the 1-worker run, "
              f"longest first, then the {tail:.1f} s of planning, scoring and listing):")  # fmt: skip
        for n in (1, 2, 4, 8):
            verdict = one.ready + projected(one.part_seconds, n) + tail
            print(f"  {n} machine(s): AV1 verdict {verdict:.1f} s after the upload")
    same = len({tuple(r.listed) for r in results}) == 1
    print(f"\nthe single pass and the film in parts list the same ladders: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
