"""Transcode benchmark: naive per-rendition runs vs. our single pass vs. the floor, on one generated clip.

    python bench/transcode.py [--seconds 30] [--preset veryfast]

On the same generated 1080p clip, in one run:
- naive:  one FFmpeg run per rendition, one after the other, the same encoder settings;
- ours:   stream_workers.film_steps.FilmSteps.single_pass, the single pass the workers run (thumbnail included);
- floor:  decode + split + scale with no encode, plus encoding input that was scaled beforehand (raw
          .y4m, so reading it costs next to nothing): what the work costs with the decode shared and free.
Prints wall and CPU seconds, realtime factor, peak RSS of the FFmpeg process, the ratios, and the SSIM of
every rendition against the source (scaled to the rendition's size), so speed is never bought with quality
nobody measured.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from stream_workers import hls, quality
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from tests.support.clips import ffmpeg, make_clip
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import ladder_for, probe

TARGETS = {"ours/naive wall": 0.86, "ours/floor wall": 1.15}
TARGET_REALTIME = 1.7


@dataclass
class Run:
    wall: float
    cpu: float
    peak_rss_mib: float

    def __add__(self, other: Run) -> Run:
        return Run(self.wall + other.wall, self.cpu + other.cpu, max(self.peak_rss_mib, other.peak_rss_mib))


def measured(argv: list[str]) -> Run:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{stderr.decode()[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def encoder_options(rung: hls.Rung, preset: str) -> list[str]:
    """The same per-rendition settings as the single pass (see FilmSteps.single_pass)."""
    return [*H264.at(preset).video_options(), *H264.rate_options(0, rung)]


def naive_commands(source: Path, out: Path, rungs: list[hls.Rung], preset: str) -> list[list[str]]:
    commands = []
    for rung in rungs:
        (out / rung.name).mkdir(parents=True)
        commands.append([
            ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i", str(source),
            "-vf", f"scale=-2:{rung.short_side}:flags=bicubic", *encoder_options(rung, preset),
            *hls.AUDIO_OPTIONS,
            "-f", "hls", "-hls_time", str(hls.SEGMENT_SECONDS), "-hls_playlist_type", "vod",
            "-hls_segment_filename", str(out / rung.name / "%03d.ts"), str(out / rung.name / "index.m3u8"),
        ])  # fmt: skip
    return commands


def floor_decode_scale(source: Path, rungs: list[hls.Rung]) -> list[str]:
    n = len(rungs)
    graph = f"[0:v]split={n}" + "".join(f"[s{i}]" for i in range(n)) + ";"
    graph += ";".join(f"[s{i}]scale=-2:{r.short_side}:flags=bicubic[v{i}]" for i, r in enumerate(rungs))
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-i", str(source), "-filter_complex", graph]
    for i in range(n):
        argv += ["-map", f"[v{i}]", "-f", "null", "-"]
    return argv


def prescale(source: Path, folder: Path, rungs: list[hls.Rung]) -> list[Path]:
    paths = []
    for rung in rungs:
        path = folder / f"{rung.name}.y4m"
        ffmpeg("-i", str(source), "-vf", f"scale=-2:{rung.short_side}:flags=bicubic", "-pix_fmt", "yuv420p", str(path),
               timeout=3600)  # fmt: skip
        paths.append(path)
    return paths


def floor_encode(raws: list[Path], rungs: list[hls.Rung], preset: str) -> list[str]:
    """Encode the pre-scaled renditions in one process, in parallel like the single pass."""
    argv = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin"]
    for raw in raws:
        argv += ["-i", str(raw)]
    for i, rung in enumerate(rungs):
        argv += ["-map", f"{i}:v", *encoder_options(rung, preset), "-f", "null", "-"]
    return argv


def ssim(rendition: Path, source: Path, size: tuple[int, int]) -> float:
    """SSIM of a rendition against the source scaled to its size, frames paired from each one's first
    (`quality.aligned_pair`: our TS renditions start at ~1.4 s, and pairing by timestamp compared frames
    42 apart, a false loss: 0.933 for what is 0.997)."""
    graph = quality.aligned_pair("0:v:0", "1:v:0", size) + ";[dist][ref]ssim"
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(rendition), "-i", str(source), "-lavfi", graph,
         "-f", "null", "-"],
        capture_output=True, text=True, check=True)  # fmt: skip
    return float(re.search(r"All:([\d.]+)", result.stderr).group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--preset", default="veryfast", help="x264 preset of the renditions")
    parser.add_argument(
        "--source-preset",
        default="ultrafast",
        help="x264 preset of the generated source (ultrafast: the clip of the project's notes)",
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="videoflix-bench-"))
    try:
        source = work / "source.mp4"
        make_clip(source, seconds=args.seconds, size="1920x1080", rate=30, preset=args.source_preset)
        info = probe(source)
        rungs = ladder_for(info.short_side)
        print(
            f"source: {info.width}x{info.height} {info.fps:g} fps, {info.duration:.1f} s; ladder "
            + ", ".join(f"{r.name} {r.video_kbps / 1000:g} Mbit/s" for r in rungs)
            + f"; x264 {args.preset}; "
            f"{os.cpu_count()} cores"
        )

        naive_out = work / "naive"
        naive = Run(0.0, 0.0, 0.0)
        for argv in naive_commands(source, naive_out, rungs, args.preset):
            naive = naive + measured(argv)

        ours_out = work / "ours"
        ours_out.mkdir()
        ours = measured(FilmSteps(info, rungs, H264.at(args.preset)).single_pass(ffmpeg_exe(), source, ours_out))

        decode_scale = measured(floor_decode_scale(source, rungs))
        raws = prescale(source, work, rungs)
        encode = measured(floor_encode(raws, rungs, args.preset))
        if encode.cpu < 1.0:
            raise SystemExit("the floor's encode did no work: check its command")
        for raw in raws:
            raw.unlink()
        floor = decode_scale + encode

        duration = info.duration
        print(f"\n{'method':<28}{'wall s':>8}{'CPU s':>8}{'x realtime':>12}{'peak RSS MiB':>14}")
        for name, run in [
            ("naive (per rendition)", naive),
            ("ours (single pass)", ours),
            ("floor: decode+split+scale", decode_scale),
            ("floor: encode pre-scaled", encode),
            ("floor (sum)", floor),
        ]:
            print(f"{name:<28}{run.wall:>8.1f}{run.cpu:>8.1f}{duration / run.wall:>12.2f}{run.peak_rss_mib:>14.0f}")

        ratios = {
            "ours/naive wall": ours.wall / naive.wall,
            "ours/floor wall": ours.wall / floor.wall,
            "ours/naive CPU": ours.cpu / naive.cpu,
        }
        print()
        for name, value in ratios.items():
            target = TARGETS.get(name)
            verdict = "" if target is None else (f"  target <= {target}: " + ("met" if value <= target else "MISSED"))
            print(f"{name:<20}{value:6.2f}x{verdict}")
        realtime = duration / ours.wall
        print(
            f"{'ours realtime':<20}{realtime:6.2f}x  target >= {TARGET_REALTIME}: "
            + ("met" if realtime >= TARGET_REALTIME else "MISSED")
        )

        print(f"\n{'SSIM vs source':<16}" + "".join(f"{r.name:>10}" for r in rungs))
        for name, out in [("naive", naive_out), ("ours", ours_out)]:
            scores = [ssim(out / r.name / "index.m3u8", source, info.rendition_size(r.short_side)) for r in rungs]
            print(f"{name:<16}" + "".join(f"{s:>10.4f}" for s in scores))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
