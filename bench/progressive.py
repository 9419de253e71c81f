"""Progressive HLS benchmark: how soon a long upload can be watched, against how soon it is ready.

    python bench/progressive.py [--minutes 10] [--size 1920x1080]

Makes a clip (testsrc2 + a tone, H.264/AAC; 10 minutes of 1080p by default) and, for each way a worker can
transcode it, starts the whole pipeline (PostgreSQL embedded or DATABASE_URL, the tansu broker, the web
process, one Faust worker: what `videoflix dev` runs), uploads the clip and polls its status every 0.1 s:
- as configured by default: a film from PARTS_FROM_SECONDS (180 s) on is made in parts, its first part and audio
  encoded by the planning worker at once, the other parts one at a time;
- the single pass (PARTS_FROM_SECONDS=inf), what shorter films get.
Prints, side by side, the seconds from the end of the upload to `playable` (the first segments of every
rendition exist and are served) and to `ready`, and their ratio. Time to playable is a few seconds that vary
by a second or more from one upload to the next on a busy 2-core machine, so it is measured `--repeat` times
(each such upload deleted once playable) and the median is reported, the last upload watched to `ready`.
Targets: playable within 15 s of the upload's end for 10 minutes of 1080p on a 2-core machine; a film in parts
film as quick to play as a single pass (<= 6 s, issue 18).

With `--behind`, a third scenario: the next upload while a film's further ladder is being made (AV1_LADDER=on):
a short film (`--short` seconds, one pass) measured to playable alone, then again while the AV1 ladder of a
film of `--behind` minutes (made in parts: PARTS_FROM_SECONDS=60; with `--behind-one-pass`, that film made in
one pass, PARTS_FROM_SECONDS=inf, its AV1 ladder in parts all the same) runs on the same worker; the two
medians side by side (issue 35: the fast stage never waits behind the best one).
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.stack import Watched, ffmpeg_running, pipeline_stack, playable_after, upload_and_watch
from tests.support.accounts import PASSWORD
from tests.support.clips import make_clip

TARGET_PLAYABLE = 15.0
TARGET_IN_PARTS = 6.0
#: label -> PARTS_FROM_SECONDS ("" keeps the default)
MODES = {"default (in parts)": "", "single pass": "inf"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--repeat", type=int, default=5, help="uploads measured to playable per mode")
    parser.add_argument(
        "--behind",
        type=float,
        default=0.0,
        help="minutes of the film whose AV1 ladder the next upload comes behind (0: not measured)",
    )
    parser.add_argument("--short", type=float, default=20.0, help="seconds of that next upload")
    parser.add_argument("--behind-one-pass", action="store_true", help="that film made in one pass, not in parts")
    args = parser.parse_args()
    if args.behind:
        return behind(args)

    work = Path(tempfile.mkdtemp(prefix="videoflix-progressive-bench-"))
    work.chmod(0o755)
    try:
        started = time.perf_counter()
        clip = make_clip(work / "film.mp4", seconds=args.minutes * 60, size=args.size, rate=30)
        print(f"clip: {args.minutes:g} min of {args.size}, {clip.stat().st_size / 2**20:.0f} MiB, "
              f"made in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        runs, samples = {}, {}
        for label, parts_from in MODES.items():
            print(f"{label}:", flush=True)
            run = work / label.split()[0]
            run.mkdir(mode=0o755)
            env = {
                "MEDIA_ROOT": str(run / "media"),
                "SECRET_KEY": "p" * 48,
                "MAX_UPLOAD_SIZE": str(clip.stat().st_size + 2**20),
                **({"PARTS_FROM_SECONDS": parts_from} if parts_from else {}),
            }
            with pipeline_stack(run, "bench@example.com", PASSWORD, env) as stack:
                samples[label] = [
                    playable_after(stack, "bench@example.com", PASSWORD, clip, "Progressive benchmark")
                    for _ in range(args.repeat - 1)
                ]
                runs[label] = upload_and_watch(stack, "bench@example.com", PASSWORD, clip, "Progressive benchmark")
                samples[label].append(runs[label].playable)
                print(f"playable after {', '.join(f'{s:.1f}' for s in samples[label])} s", flush=True)
        report(clip, runs, samples, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def behind(args) -> int:
    """The next upload's time to playable alone, and while another film's AV1 ladder is made on its worker."""
    work = Path(tempfile.mkdtemp(prefix="videoflix-progressive-bench-"))
    work.chmod(0o755)
    try:
        long = make_clip(work / "long.mp4", seconds=args.behind * 60, size=args.size, rate=30)
        short = make_clip(work / "short.mp4", seconds=args.short, size=args.size, rate=30)
        made = "one pass" if args.behind_one_pass else "parts"
        env = {"MEDIA_ROOT": str(work / "media"), "SECRET_KEY": "p" * 48, "AV1_LADDER": "on",
               "PARTS_FROM_SECONDS": "inf" if args.behind_one_pass else "60",
               "MAX_UPLOAD_SIZE": str(long.stat().st_size + 2**20)}  # fmt: skip
        with pipeline_stack(work, "bench@example.com", PASSWORD, env) as stack:
            alone = [playable_after(stack, "bench@example.com", PASSWORD, short, "Alone") for _ in range(args.repeat)]
            print(f"alone: playable after {', '.join(f'{s:.1f}' for s in alone)} s", flush=True)
            watched = upload_and_watch(stack, "bench@example.com", PASSWORD, long, "The long film")
            deadline = time.monotonic() + 600
            while not ffmpeg_running(b"libsvtav1"):  # its AV1 ladder's parts have begun
                if time.monotonic() > deadline:
                    raise SystemExit("the long film's AV1 ladder never started")
                time.sleep(0.2)
            print(f"the long film ready after {watched.ready:.1f} s; its AV1 ladder running", flush=True)
            during = []
            for _ in range(args.repeat):
                if not ffmpeg_running(b"libsvtav1"):
                    break
                during.append(playable_after(stack, "bench@example.com", PASSWORD, short, "Behind", 900, own=True))
            print(f"behind the AV1 ladder: playable after {', '.join(f'{s:.1f}' for s in during)} s", flush=True)
        if not during:
            raise SystemExit("the AV1 ladder ended before the next upload: give --behind more minutes")
        a, b = statistics.median(alone), statistics.median(during)
        print(f"\n{args.short:g} s of {args.size}, one pass, one worker, 2 cores: playable after {a:.1f} s alone, "
              f"{b:.1f} s behind the AV1 ladder of {args.behind:g} min made in {made} ({b / a:.2f}x; medians of "
              f"{len(alone)} and {len(during)} uploads)")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(clip: Path, runs: dict[str, Watched], samples: dict[str, list[float]], args) -> None:
    duration = args.minutes * 60
    print(f"\n{args.minutes:g} min of {args.size} ({clip.stat().st_size / 2**20:.0f} MiB), one worker, 2 cores; "
          f"seconds from the end of the upload; playable: median of {args.repeat} uploads (min-max)")  # fmt: skip
    print(f"{'':<20}{'upload s':>10}{'playable s':>12}{'(min-max)':>12}{'ready s':>10}{'ready x film':>14}"
          f"{'ready/playable':>16}")  # fmt: skip
    medians = {label: statistics.median(samples[label]) for label in runs}
    for label, w in runs.items():
        spread = f"{min(samples[label]):.1f}-{max(samples[label]):.1f}"
        print(f"{label:<20}{w.upload_seconds:>10.1f}{medians[label]:>12.1f}{spread:>12}{w.ready:>10.1f}"
              f"{w.ready / duration:>14.3f}{w.ready / medians[label]:>15.0f}x")  # fmt: skip
    for label, w in runs.items():
        met = "met" if medians[label] <= TARGET_PLAYABLE else "MISSED"
        print(f"{label}: target playable <= {TARGET_PLAYABLE:g} s: {met}; "
              f"renditions {', '.join(w.status['resolutions'])}")  # fmt: skip
    parted, single = medians["default (in parts)"], medians["single pass"]
    met = "met" if parted <= TARGET_IN_PARTS else "MISSED"
    print(
        f"in parts vs single pass to playable: {parted:.1f} s vs {single:.1f} s ({parted / single:.2f}x); "
        f"target in parts <= {TARGET_IN_PARTS:g} s: {met}"
    )


if __name__ == "__main__":
    sys.exit(main())
