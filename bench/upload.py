"""Upload benchmark: peak memory of the web process and throughput for one large upload, resumable (tus, 16 MiB
chunks) with `videoflix upload`'s client and with the tus project's client tuspy, beside a plain copy. (A
request body is bounded by MAX_REQUEST_BODY, 64 MiB: a large film no longer fits in one multipart request.)

    python bench/upload.py [--size-gib 2]

Starts PostgreSQL (embedded, or DATABASE_URL) and the web process (`videoflix serve development.ini`),
makes a file of the given size (a real MP4 clip followed by padding, so it passes the upload checks), and
uploads it with the same client as `videoflix upload`, then again with tuspy. Prints
the web process's resident memory before and at its peak (VmHWM) for each, the throughputs, and side by side
a plain `cp` of the same file onto the same disk, with the ratios.
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
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


from bench.stack import web_stack
from tests.support.accounts import PASSWORD
from tests.support.clips import make_clip
from videoflix.cli.upload import Client

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
    rows = []

    def run(label: str, upload) -> None:
        Path(f"/proc/{stack.pid}/clear_refs").write_text("5")  # reset the peak: measure the upload alone
        before = memory_kib(stack.pid, "VmRSS")
        started = time.perf_counter()
        video_id = upload()
        seconds = time.perf_counter() - started
        peak = memory_kib(stack.pid, "VmHWM")
        stored = media / f"videos/{video_id}"
        assert sum(p.stat().st_size for p in stored.iterdir()) == size, f"{label}: the stored file differs in size"
        rows.append((label, seconds, before, peak))

    run("videoflix upload (tus, 16 MiB)", lambda: client.upload(big, {"title": "Large upload"})["id"])
    run("tus, 16 MiB chunks (tuspy)", lambda: tus_upload(stack.api, client, big))

    started = time.perf_counter()
    shutil.copyfile(big, work / "copy.mp4")
    os.sync()
    copy_seconds = time.perf_counter() - started

    print(f"file: {size / MIB:.0f} MiB")
    print(f"\n{'':<30}{'seconds':>9}{'MiB/s':>8}{'x cp':>7}{'RSS before':>12}{'RSS peak':>10}")
    for label, seconds, before, peak in rows:
        print(f"{label:<30}{seconds:>9.1f}{size / MIB / seconds:>8.0f}{seconds / copy_seconds:>7.2f}"
              f"{before / 1024:>10.0f} M{peak / 1024:>8.0f} M")  # fmt: skip
    print(f"{'cp of the same file (same disk)':<30}{copy_seconds:>9.1f}{size / MIB / copy_seconds:>8.0f}{1:>7.2f}")
    worst = max(peak for *_, peak in rows) / 1024
    print(
        "\nRSS peak is VmHWM, reset after the login (whose argon2id check takes 64 MiB by itself). "
        f"Target: peak <= ~100 MiB whatever the file size: {'met' if worst <= 100 else 'MISSED'} ({worst:.0f} MiB)"
    )


def tus_upload(api: str, client: Client, path: Path) -> int:
    """Upload with tuspy in 16 MiB chunks; the video id from the finished upload's HEAD."""
    from tusclient.client import TusClient

    cookies = "; ".join(f"{c.name}={c.value}" for c in client.cookies)
    tus = TusClient(api + "/uploads/", headers={"Cookie": cookies, "X-CSRFToken": client.csrf()})
    uploader = tus.uploader(str(path), chunk_size=16 * MIB, metadata={"title": "Large tus upload"})
    uploader.upload()
    headers = {"Tus-Resumable": "1.0.0", "Cookie": cookies}
    request = urllib.request.Request(uploader.url, method="HEAD", headers=headers)  # noqa: S310 - our own http URL
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return int(response.headers["X-Video-Id"])


if __name__ == "__main__":
    sys.exit(main())
