"""Upload benchmark: peak memory of the web process and throughput for one large upload.

    python bench/upload.py [--size-gib 2]

Starts PostgreSQL (embedded, or DATABASE_URL) and the web process (`videoflix serve development.ini`),
makes a file of the given size (a real MP4 clip followed by padding, so it passes the upload checks), and
uploads it with the same streaming client as `videoflix upload`. Prints the web process's resident memory
before and at its peak (VmHWM), the upload's throughput, and side by side a plain `cp` of the same file onto
the same disk, with the ratios.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


from bench.stack import web_stack
from tests.clips import make_clip
from videoflix.cli.upload import Client

PASSWORD = "Uploader-pass-42"
MIB = 1024 * 1024


def memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gib", type=float, default=2.0)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="videoflix-upload-bench-"))
    work.chmod(0o755)
    media = work / "media"
    env = {
        "MEDIA_ROOT": str(media),
        "SECRET_KEY": "b" * 48,
        "MAX_UPLOAD_SIZE": str(int((args.size_gib + 1) * 1024 * MIB)),
    }
    try:
        with web_stack(work, "bench@example.com", PASSWORD, env, staff=True) as stack:
            measure(work, media, stack, args.size_gib)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def measure(work: Path, media: Path, stack, size_gib: float) -> None:
    big = work / "big.mp4"
    make_clip(big, seconds=2)
    with big.open("r+b") as f:
        f.truncate(int(size_gib * 1024 * MIB))  # padding after the clip (sparse, made instantly)
    size = big.stat().st_size

    client = Client(stack.api)
    client.login("bench@example.com", PASSWORD)  # argon2id spends 64 MiB per login, by design
    Path(f"/proc/{stack.pid}/clear_refs").write_text("5")  # so reset the peak: measure the upload alone
    before = memory_kib(stack.pid, "VmRSS")
    started = time.perf_counter()
    video = client.upload(big, {"title": "Large upload"})
    upload_seconds = time.perf_counter() - started
    peak = memory_kib(stack.pid, "VmHWM")
    stored = media / f"videos/{video['id']}"
    assert sum(p.stat().st_size for p in stored.iterdir()) == size, "the stored file differs in size"

    started = time.perf_counter()
    shutil.copyfile(big, work / "copy.mp4")
    os.sync()
    copy_seconds = time.perf_counter() - started

    print(f"file: {size / MIB:.0f} MiB (video {video['id']}, status {video['status']})")
    print(f"\n{'':<34}{'seconds':>10}{'MiB/s':>10}")
    print(f"{'upload through the web process':<34}{upload_seconds:>10.1f}{size / MIB / upload_seconds:>10.0f}")
    print(f"{'cp of the same file (same disk)':<34}{copy_seconds:>10.1f}{size / MIB / copy_seconds:>10.0f}")
    print(f"\nupload / cp time: {upload_seconds / copy_seconds:.2f}x")
    print(
        f"web process RSS: {before / 1024:.0f} MiB before, {peak / 1024:.0f} MiB peak (VmHWM, reset after the login, "
        "whose argon2id check takes 64 MiB by itself); "
        f"peak / file size = {peak * 1024 / size:.3f}; target: peak <= ~100 MiB: "
        + ("met" if peak / 1024 <= 100 else "MISSED")
    )


if __name__ == "__main__":
    sys.exit(main())
