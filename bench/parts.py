"""In parts vs. single-pass transcoding of one generated film: the CPU cost of cutting into parts, and the wall time
with more workers.

    python bench/parts.py [--minutes 10] [--size 1920x1080] [--part-seconds 60] [--preset veryfast]

In one run, on the same clip (testsrc2 + a tone):
- single pass: stream_workers.film_steps.FilmSteps.single_pass, what a worker runs for a short video;
- in parts: every part (FilmSteps.picture_part) one after the other, the audio job, and the
  assembly; then the same jobs again, two at a time (two processes on this 2-core machine, as two workers
  on it would run them);
- the real thing: the whole pipeline (PostgreSQL, tansu, the web process, 2 Faust worker processes) with
  every film in parts, the clip uploaded and watched from the end of its upload to `playable` and `ready`.
Prints CPU and wall seconds of each, the CPU overhead of cutting into parts (target <= 1.05x), the critical path
(longest job + assembly), the projected wall time with N = 1, 2, 4, 8 workers (the measured jobs
scheduled longest first on N machines like this one, + assembly), and the real run's times and parts per worker.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import heapq
import re
import resource
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.stack import Watched, part_seconds, pipeline_stack, upload_and_watch
from bench.transcode import Run, measured
from stream_workers import film_parts, hls_output
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from tests.support.accounts import PASSWORD
from tests.support.clips import make_clip
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

TARGET_OVERHEAD = 1.05
EMAIL = "bench@example.com"
REAL_WORKERS = 2


def projected(walls: list[float], workers: int) -> float:
    """Makespan of the jobs on `workers` machines, longest job first to the least loaded machine."""
    loads = [0.0] * workers
    for wall in sorted(walls, reverse=True):
        heapq.heapreplace(loads, loads[0] + wall)
    return max(loads)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--part-seconds", type=part_seconds, default=film_parts.PART_SECONDS)
    parser.add_argument("--preset", default="veryfast")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="videoflix-parts-bench-"))
    work.chmod(0o755)  # the embedded PostgreSQL's system user keeps its data in here
    try:
        started = time.perf_counter()
        source = make_clip(work / "film.mp4", seconds=args.minutes * 60, size=args.size, rate=30)
        print(f"clip: {args.minutes:g} min of {args.size} made in {time.perf_counter() - started:.0f} s", flush=True)
        info = probe(source)
        rungs = ladder_for(info.short_side)
        ffmpeg = ffmpeg_exe()

        single_out = work / "single"
        single_out.mkdir()
        single = measured(FilmSteps(info, rungs, H264.at(args.preset)).single_pass(ffmpeg, source, single_out))
        print(f"single pass: {single.wall:.1f} s wall", flush=True)
        shutil.rmtree(single_out)

        plan = film_parts.cut_film(info.duration, args.part_seconds)

        def jobs(out: Path) -> list[list[str]]:
            audio = [FilmSteps(info, []).sound_job(ffmpeg, source, out)] if info.has_audio else []
            return [
                FilmSteps(info, rungs, H264.at(args.preset)).picture_part(ffmpeg, source, out, c) for c in plan
            ] + audio

        sequential_out = work / "sequential"
        runs = [measured(argv) for argv in jobs(sequential_out)]
        assembly = assembled(ffmpeg, sequential_out, info, rungs, plan)
        print(f"in parts, one job at a time: {sum(r.wall for r in runs):.1f} s wall; assembly (every segment "
              f"muxed with its sound) {assembly.wall:.1f} s", flush=True)  # fmt: skip
        shutil.rmtree(sequential_out)

        parallel_out = work / "parallel"
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            parallel_runs = list(pool.map(measured, jobs(parallel_out)))
        parallel_runs.append(assembled(ffmpeg, parallel_out, info, rungs, plan))
        parallel_wall = time.perf_counter() - started

        shutil.rmtree(parallel_out)
        print(f"in parts, two processes at a time: {parallel_wall:.1f} s wall", flush=True)

        watched, parts = real_run(work / "pipeline", source, args)
        report(args, single, runs, assembly, parallel_runs, parallel_wall, len(plan))
        report_real(watched, parts, single, projected([r.wall for r in runs], REAL_WORKERS) + assembly.wall)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def assembled(ffmpeg: str, out: Path, info, rungs, plan) -> Run:
    """Assemble the jobs' output (here every segment is muxed with its sound: in the pipeline most are, while
    the parts are encoded) and check it: wall and CPU time, FFmpeg's included."""
    started, cpu, children = time.perf_counter(), time.process_time(), resource.getrusage(resource.RUSAGE_CHILDREN)
    film_parts.assemble_folder(ffmpeg, out, info, rungs, plan)
    hls_output.check_output(out, rungs)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    children_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    return Run(time.perf_counter() - started, time.process_time() - cpu + children_cpu, after.ru_maxrss / 1024)


def real_run(work: Path, clip: Path, args) -> tuple[Watched, list[list[tuple[int, float]]]]:
    """Upload the clip to the whole pipeline with REAL_WORKERS workers that make every film in parts; per worker,
    the parts it encoded and their seconds (from its log)."""
    work.mkdir(mode=0o755)
    env = {
        "MEDIA_ROOT": str(work / "media"),
        "SECRET_KEY": "c" * 48,
        "MAX_UPLOAD_SIZE": str(clip.stat().st_size + 2**20),
        "PARTS_FROM_SECONDS": "0",
        "PART_SECONDS": str(args.part_seconds),
        "X264_PRESET": args.preset,
    }
    with pipeline_stack(work, EMAIL, PASSWORD, env, workers=REAL_WORKERS) as stack:
        watched = upload_and_watch(stack, EMAIL, PASSWORD, clip, "Parts benchmark")
        pattern = rf"video {watched.video_id} part (-?\d+) encoded in ([\d.]+) s"
        parts = [
            [(int(p), float(s)) for p, s in re.findall(pattern, log.read_text(errors="replace"))]
            for log in stack.worker_logs
        ]
    return watched, parts


def report_real(watched: Watched, parts: list[list[tuple[int, float]]], single: Run, projected_wall: float) -> None:
    print(f"\nreal run, {REAL_WORKERS} Faust worker processes on this machine (from the end of the upload):")
    print(f"  playable after {watched.playable:.1f} s, ready after {watched.ready:.1f} s "
          f"({single.wall / watched.ready:.2f}x the single pass's {single.wall:.1f} s; "
          f"projected for {REAL_WORKERS} machines: {projected_wall:.1f} s)")  # fmt: skip
    for n, done in enumerate(parts):
        names = ", ".join("audio" if p < 0 else str(p) for p, _ in sorted(done))
        print(f"  worker {n}: {len(done)} jobs, {sum(s for _, s in done):.1f} s of FFmpeg: parts {names}")


def report(args, single: Run, runs: list[Run], assembly: Run, parallel: list[Run], parallel_wall: float,
           n_parts: int) -> None:  # fmt: skip
    parts_cpu = sum(r.cpu for r in runs) + assembly.cpu
    walls = [r.wall for r in runs]
    longest = max(walls)
    print(f"\n{args.minutes:g} min of {args.size}, {n_parts} parts of {args.part_seconds} s + the audio job, "
          f"preset {args.preset}; 2 cores")  # fmt: skip
    print(f"\n{'':<42}{'wall s':>9}{'CPU s':>9}{'x realtime':>12}")
    film = args.minutes * 60
    rows = [
        ("single pass", single.wall, single.cpu),
        ("in parts, one job at a time (+ assembly)", sum(walls) + assembly.wall, parts_cpu),
        ("in parts, two processes at a time", parallel_wall, sum(r.cpu for r in parallel)),
    ]
    for label, wall, cpu in rows:
        print(f"{label:<42}{wall:>9.1f}{cpu:>9.1f}{film / wall:>12.2f}")
    overhead = parts_cpu / single.cpu
    print(f"\nCPU overhead of cutting into parts: {overhead:.3f}x (target <= {TARGET_OVERHEAD}x: "
          f"{'met' if overhead <= TARGET_OVERHEAD else 'MISSED'})")  # fmt: skip
    print(f"critical path (longest job + assembly): {longest + assembly.wall:.1f} s "
          f"(longest job {longest:.1f} s, assembly {assembly.wall:.2f} s, {assembly.cpu:.2f} s CPU)")  # fmt: skip
    print(f"\n{'workers':>8}{'projected wall s':>18}{'vs single pass':>16}")
    for n in (1, 2, 4, 8):
        wall = projected(walls, n) + assembly.wall
        print(f"{n:>8}{wall:>18.1f}{single.wall / wall:>15.2f}x")


if __name__ == "__main__":
    sys.exit(main())
