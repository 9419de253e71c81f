"""What the seek-bar previews cost the encode: the workers' single pass with and without the storyboard's
branch, on the same generated clip, alternated over several rounds (this machine's speed drifts).

    python bench/storyboard.py [--seconds 120] [--rounds 3] [--preset veryfast]

Prints per round and in total the wall and CPU seconds of FFmpeg (and of tiling the sheets, which the
workers do beside it), and the ratio. Target: at most 3 % more CPU.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.runs import wall_and_cpu
from stream_workers import sheets
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from tests.support.clips import make_clip
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe
from videoflix.core.storyboard import layout_for

TARGET = 1.03


def tiling_cpu(output: Path, plan) -> tuple[float, float]:
    """(wall, CPU) of tiling every sheet, as the workers do while the encode runs."""
    before = os.times()
    started = time.perf_counter()
    sheets.tile(ffmpeg_exe(), output, plan, final=True)
    after = os.times()
    return time.perf_counter() - started, (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="videoflix-bench-storyboard-"))
    try:
        source = make_clip(work / "source.mp4", seconds=args.seconds, size=args.size, rate=30, preset="veryfast")
        info = probe(source)
        rungs = ladder_for(info.short_side)
        plan = layout_for(info.width, info.height, info.duration)
        layout = f"{plan.width}x{plan.height}, {plan.columns}x{plan.rows} a sheet"
        print(f"{args.seconds} s {args.size} clip, {len(rungs)} renditions, preset {args.preset}; "
              f"previews every {plan.interval} s, {layout}")  # fmt: skip
        totals = {"without": [0.0, 0.0], "with": [0.0, 0.0]}
        for round_ in range(1, args.rounds + 1):
            for name in ("without", "with"):
                output = work / f"{name}-{round_}"
                output.mkdir()
                storyboard = sheets.make_frames_folder(output, plan) if name == "with" else None
                argv = FilmSteps(info, rungs, H264.at(args.preset), storyboard=storyboard).single_pass(
                    ffmpeg_exe(), source, output
                )
                wall, cpu = wall_and_cpu(argv)
                if storyboard is not None:
                    tile_wall, tile_cpu = tiling_cpu(output, plan)
                    made = len(list((output / "storyboard").glob("*.jpg")))
                    print(f"  round {round_} {name:7}: wall {wall:6.2f} s  CPU {cpu:7.2f} s  (+ tiling {made} sheets: "
                          f"wall {tile_wall:.2f} s, CPU {tile_cpu:.2f} s)")  # fmt: skip
                    wall, cpu = wall + tile_wall, cpu + tile_cpu
                else:
                    print(f"  round {round_} {name:7}: wall {wall:6.2f} s  CPU {cpu:7.2f} s")
                totals[name][0] += wall
                totals[name][1] += cpu
                shutil.rmtree(output)
        (w0, c0), (w1, c1) = totals["without"], totals["with"]
        print(f"total without: wall {w0:.2f} s, CPU {c0:.2f} s")
        print(f"total with:    wall {w1:.2f} s, CPU {c1:.2f} s")
        verdict = "met" if c1 / c0 <= TARGET else "MISSED"
        print(f"with/without: wall {w1 / w0:.3f}x, CPU {c1 / c0:.3f}x (target CPU <= {TARGET}x: {verdict})")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
