"""What sealing a film (encrypted HLS, videoflix.core.hls_keys) costs the workers, side by side with the encode.

    python bench/sealing.py [--seconds 60] [--preset veryfast] [--no-real]

For each source (a generated 1080p clip of `--seconds`, and each title of the real corpus already fetched by
bench/corpus.py), in one run:
- encode: the H.264 ladder as the workers make it (`FilmSteps.single_pass`, x264 `--preset`): FFmpeg's CPU;
- sealed: every segment of that output read, sealed with the film's key (AES-128-CBC, a key every
  HLS_KEY_ROTATION segments, the IV its number) and written to the store's folder, as a sealed film's output
  reaches the store (`storage.Output.deliver`, `storage.Publisher`): this process's CPU;
- copied: the same segments copied to the store unsealed, which an S3 worker does anyway and the local
  backend does for a sealed film (made in scratch): the part of `sealed` that is not the cipher.
Target (issue 37): encode CPU with sealing <= 1.02x without it. The H.264 ladder is the cheapest encode, so its
ratio bounds the AV1 ladder's (2.1-2.4x the CPU for fewer bytes).
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import shutil
import tempfile
import time
from pathlib import Path

from bench import corpus
from bench.runs import wall_and_cpu
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from tests.support.clips import make_clip
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.hls_keys import FilmKeys, sealed_name
from videoflix.core.media import ladder_for, probe

TARGET = 1.02
ROTATION = 75  # HLS_KEY_ROTATION's default


def segments_of(output: Path) -> list[str]:
    return sorted(
        p.relative_to(output).as_posix() for p in output.rglob("*") if sealed_name(p.relative_to(output).as_posix())
    )


def store(output: Path, store_folder: Path, names: list[str], keys: FilmKeys | None) -> float:
    """CPU seconds of this process to put every segment into `store_folder` (sealed with `keys`, or copied)."""
    shutil.rmtree(store_folder, ignore_errors=True)
    started = time.process_time()
    for name in names:
        target = store_folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if keys is None:
            shutil.copyfile(output / name, target)
        else:
            target.write_bytes(keys.seal_named(name, (output / name).read_bytes()))
    return time.process_time() - started


def measure(name: str, source: Path, preset: str, work: Path) -> dict:
    info = probe(source)
    out = work / f"{name}-out"
    out.mkdir()
    _, encode = wall_and_cpu(FilmSteps(info, ladder_for(info.short_side), H264.at(preset)).single_pass(
        ffmpeg_exe(), source, out))  # fmt: skip
    names = segments_of(out)
    size = sum((out / n).stat().st_size for n in names)
    keys = FilmKeys.new(ROTATION)
    copied = min(store(out, work / "store", names, None) for _ in range(3))
    sealed = min(store(out, work / "store", names, keys) for _ in range(3))
    shutil.rmtree(out, ignore_errors=True)
    return {"name": name, "minutes": (info.duration or 0) / 60, "encode": encode, "sealed": sealed,
            "copied": copied, "segments": len(names), "mib": size / 2**20}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--no-real", action="store_true", help="the generated clip alone")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="videoflix-sealing-bench-"))
    try:
        sources = {"generated 1080p": make_clip(work / "generated.mp4", seconds=args.seconds, size="1920x1080",
                                                rate=30)}  # fmt: skip
        if not args.no_real:
            sources |= corpus.available()
        rows = [measure(name, path, args.preset, work) for name, path in sources.items()]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\nH.264 ladder (x264 {args.preset}) and its segments sealed (AES-128, a key every {ROTATION} segments)")
    print(f"{'source':<24}{'min':>6}{'segs':>6}{'MiB':>8}{'encode s':>10}{'sealed s':>10}{'copied s':>10}"
          f"{'with/without':>14}")  # fmt: skip
    worst = 0.0
    for r in rows:
        ratio = (r["encode"] + r["sealed"]) / r["encode"]
        worst = max(worst, ratio)
        print(f"{r['name']:<24}{r['minutes']:>6.1f}{r['segments']:>6}{r['mib']:>8.1f}{r['encode']:>10.2f}"
              f"{r['sealed']:>10.3f}{r['copied']:>10.3f}{ratio:>13.4f}x")  # fmt: skip
    print(f"encode CPU with sealing: at most {worst:.4f}x without it (target <= {TARGET}: "
          f"{'met' if worst <= TARGET else 'MISSED'})")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
