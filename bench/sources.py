"""What getting real-world sources right costs the encode: the workers' single pass on generated sources of
each kind (a phone video stored rotated, interlaced with and without its field order, non-square pixels,
HDR10, three audio tracks, a quiet title), each with the
treatment the pipeline gives it and without (as before it), alternated, side by side in one run.

    python bench/sources.py [--seconds 30] [--rounds 2] [--preset veryfast] [--only HDR]

Prints per kind the wall and CPU seconds with and without (the loudness measurement counted with), and
the ratio. A rotated phone video's treatment is its ladder (planned on the short side: 1080x1920 where it
was 608x1080 at most): FFmpeg rotates on decode either way, so with and without run the same ladder here.
"""

from __future__ import annotations

import benchpath  # noqa: F401 - first: fixes sys.path for the imports below

# isort: split
import argparse
import dataclasses
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.runs import wall_and_cpu
from stream_workers import audio_tracks, hls_output, interlacing, loudness
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from tests.support.clips import ffmpeg
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, ladder_for, probe


def make_sources(folder: Path, seconds: int) -> dict[str, Path]:
    moving = f"testsrc2=size=1920x1080:rate=30:duration={seconds}"
    tone = ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}"]
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    sources = {}
    sources["plain 1080p"] = folder / "plain.mp4"
    ffmpeg("-f", "lavfi", "-i", moving, *tone, *x264, str(sources["plain 1080p"]), timeout=3600)
    sources["rotated phone 1080x1920"] = folder / "phone.mp4"
    ffmpeg("-display_rotation:v:0", "90", "-i", str(sources["plain 1080p"]), "-c", "copy",
           str(sources["rotated phone 1080x1920"]))  # fmt: skip
    sources["interlaced 1080i"] = folder / "interlaced.mp4"
    ffmpeg("-f", "lavfi", "-i", moving.replace("rate=30", "rate=60"), *tone, "-vf", "interlace=scan=tff", *x264,
           "-flags", "+ilme+ildct", "-x264opts", "tff=1", "-field_order", "tt", str(sources["interlaced 1080i"]),
           timeout=3600)  # fmt: skip
    sources["PAL 720x576 SAR 16:15"] = folder / "pal.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=720x576:rate=25:duration={seconds}", *tone, "-vf", "setsar=16/15",
           *x264, str(sources["PAL 720x576 SAR 16:15"]), timeout=3600)  # fmt: skip
    sources["HDR10 (PQ, 10-bit HEVC)"] = folder / "pq.mp4"
    ffmpeg("-i", str(sources["plain 1080p"]), "-vf", "setparams=color_primaries=bt709:color_trc=bt709:"
           "colorspace=bt709:range=tv,zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt2020:t=smpte2084:"
           "m=bt2020nc:r=tv,format=yuv420p10le", "-c:v", "libx265", "-preset", "ultrafast", "-x265-params",
           "colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:log-level=error", "-c:a", "copy",
           str(sources["HDR10 (PQ, 10-bit HEVC)"]), timeout=3600)  # fmt: skip
    sources["untagged interlaced 1080i"] = folder / "woven.mp4"
    ffmpeg("-f", "lavfi", "-i", moving.replace("rate=30", "rate=60"), *tone, "-vf", "interlace=scan=tff,setfield=prog",
           *x264, str(sources["untagged interlaced 1080i"]), timeout=3600)  # fmt: skip
    sources["three audio tracks"] = folder / "tracks.mkv"
    ffmpeg("-i", str(sources["plain 1080p"]), *tone, *tone, "-map", "0", "-map", "1:a", "-map", "2:a", "-c:v", "copy",
           "-c:a", "aac", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=ger",
           "-metadata:s:a:2", "language=fre", str(sources["three audio tracks"]))  # fmt: skip
    sources["quiet title (-35 dB)"] = folder / "quiet.mp4"
    ffmpeg("-i", str(sources["plain 1080p"]), "-c:v", "copy", "-af", "volume=-35dB", "-c:a", "aac",
           str(sources["quiet title (-35 dB)"]))  # fmt: skip
    return sources


def without(info: MediaInfo) -> MediaInfo:
    """The facts as the pipeline read them before: stored size, no field order, no SAR, one audio track."""
    default = tuple(s for s in info.audio_streams if s.index == info.default_audio)
    return dataclasses.replace(
        info, interlaced=False, anamorphic=False, hdr=None, field_order=None, audio_streams=default
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--only", default="", help="only the kinds whose name holds this text, e.g. HDR")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="videoflix-bench-sources-"))
    ffmpeg_binary = ffmpeg_exe()
    try:
        sources = make_sources(work, args.seconds)
        print(f"{args.seconds} s sources, single pass, preset {args.preset}, {args.rounds} rounds alternated\n")
        print(f"{'source':<26}{'renditions':<34}{'wall with':>10}{'CPU with':>10}{'CPU without':>12}{'CPU ratio':>10}")
        for kind, source in sources.items():
            if args.only.lower() not in kind.lower():
                continue
            info = probe(source)
            totals = {"with": [0.0, 0.0], "without": [0.0, 0.0]}
            for _ in range(args.rounds):
                for name in ("without", "with"):
                    facts = info if name == "with" else without(info)
                    rungs = ladder_for(info.short_side)
                    levels = {}
                    if name == "with":  # the checks before the encode: idet's sample, the loudness measurement
                        started, before = time.perf_counter(), os.times()
                        facts = interlacing.detect(ffmpeg_binary, source, info)
                        levels = loudness.filters(ffmpeg_binary, source, info)
                        after = os.times()
                        totals[name][0] += time.perf_counter() - started
                        totals[name][1] += (after.children_user - before.children_user) + (
                            after.children_system - before.children_system)  # fmt: skip
                    output = work / "out"
                    output.mkdir()
                    audio_tracks.make_folders(output, facts)
                    argv = FilmSteps(facts, rungs, H264.at(args.preset), audio_filters=levels).single_pass(
                        ffmpeg_binary, source, output
                    )
                    wall, cpu = wall_and_cpu(argv)
                    totals[name][0] += wall
                    totals[name][1] += cpu
                    made = ", ".join(f"{r['width']}x{r['height']}" for r in hls_output.master_renditions(output, rungs))
                    shutil.rmtree(output)
            (w1, c1), (_, c0) = totals["with"], totals["without"]
            print(f"{kind:<26}{made:<34}{w1 / args.rounds:>9.1f}s{c1 / args.rounds:>9.1f}s{c0 / args.rounds:>11.1f}s"
                  f"{c1 / c0:>9.2f}x")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
