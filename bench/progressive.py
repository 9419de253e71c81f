"""Progressive HLS benchmark: how soon a long upload can be watched, against how soon it is ready.

    python bench/progressive.py [--minutes 10] [--size 1920x1080]

Makes a clip (testsrc2 + a tone, H.264/AAC; 10 minutes of 1080p by default), starts the whole pipeline
(PostgreSQL embedded or DATABASE_URL, the tansu broker, the web process, one Faust worker, the single pass),
uploads the clip and polls its status every 0.1 s. Prints the seconds from the end of the upload to
`playable` (the first segments of every rendition exist and are served) and to `ready`, and their ratio.
Target: playable within 15 s of the upload's end for 10 minutes of 1080p on a 2-core machine.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from bench.stack import Watched, pipeline_stack, upload_and_watch
from tests.clips import make_clip

PASSWORD = "Progressive-pass-42"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="videoflix-progressive-bench-"))
    work.chmod(0o755)
    try:
        started = time.perf_counter()
        clip = make_clip(work / "film.mp4", seconds=args.minutes * 60, size=args.size, rate=30)
        print(f"clip: {args.minutes:g} min of {args.size}, {clip.stat().st_size / 2**20:.0f} MiB, "
              f"made in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        env = {
            "MEDIA_ROOT": str(work / "media"),
            "SECRET_KEY": "p" * 48,
            "MAX_UPLOAD_SIZE": str(clip.stat().st_size + 2**20),
            "CHUNKED_MIN_SECONDS": "inf",  # the single pass: what this benchmark measures
        }
        with pipeline_stack(work, "bench@example.com", PASSWORD, env) as stack:
            watched = upload_and_watch(stack, "bench@example.com", PASSWORD, clip, "Progressive benchmark")
        report(clip, watched, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(clip: Path, watched: Watched, args) -> None:
    duration = args.minutes * 60
    playable, ready = watched.playable, watched.ready
    print(f"\nupload of {clip.stat().st_size / 2**20:.0f} MiB took {watched.upload_seconds:.1f} s")
    print(f"{'from the end of the upload to':<32}{'seconds':>9}{'x film length':>15}")
    print(f"{'playable (first segments)':<32}{playable:>9.1f}{playable / duration:>15.3f}")
    print(f"{'ready (every segment)':<32}{ready:>9.1f}{ready / duration:>15.3f}")
    print(f"\nready / playable: {ready / playable:.0f}x; "
          f"target playable <= 15 s: {'met' if playable <= 15 else 'MISSED'}")  # fmt: skip
    print(f"renditions: {', '.join(watched.status['resolutions'])}")


if __name__ == "__main__":
    sys.exit(main())
