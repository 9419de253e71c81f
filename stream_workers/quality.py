"""Measured quality: each rendition's VMAF against the source, on sampled segments, so an operator sees what a
title delivers and a starved rendition is flagged (VMAF_FLOOR).

How a comparison is made fair (the rules every quality figure here follows, bench/ included):
- Frames are paired from each input's first frame (`setpts=PTS-STARTPTS` on both): our MPEG-TS renditions
  start at ~11.4 s, a source at 0, and pairing by timestamp compared frames seconds apart (bench/transcode.py
  reported SSIM 0.933 for what is 0.997). A one-frame shift is caught (tests/workers/test_quality.py).
- The reference is the source as the renditions were made from it (`hls.picture_filters`: deinterlaced,
  tone-mapped, constant rate, square pixels), scaled to the rendition's size: the score is what the encoder
  lost at that size, comparable across rungs and titles; upscaling loss is the ladder's choice, not a fault.
- Sampling: SAMPLES segments spread over the film, every STEP-th frame of each (selected before scaling,
  so unscored frames cost only their decode): VMAF's cost stays a few percent of the encode's
  (bench/quality.py measures it).
"""

from __future__ import annotations

import json
import logging
import math
import statistics
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from videoflix.media import MediaInfo, ObjectURL, Rung, input_options

from . import hls

log = logging.getLogger(__name__)

#: segments sampled per film (fewer when it has fewer), and every how many frames one is scored
SAMPLES = 4
STEP = 6
#: below this mean VMAF a rendition is flagged for the operator (VMAF_FLOOR overrides)
DEFAULT_FLOOR = 80.0


@dataclass(frozen=True)
class Score:
    """A rendition's VMAF over the frames scored: mean, 5th percentile (its worst moments), how many."""

    mean: float
    p5: float
    frames: int

    def as_json(self, floor: float) -> dict:
        return {"vmaf": round(self.mean, 2), "vmaf_p5": round(self.p5, 2), "frames": self.frames,
                "below_floor": self.mean < floor}  # fmt: skip


def score(values: list[float]) -> Score:
    """Mean and 5th percentile (nearest rank) of per-frame VMAF scores."""
    ordered = sorted(values)
    p5 = ordered[max(0, math.ceil(0.05 * len(ordered)) - 1)]
    return Score(statistics.fmean(ordered), p5, len(ordered))


def aligned_pair(
    distorted: str, reference: str, size: tuple[int, int], reference_filters: str = "", step: int = 1
) -> str:
    """Filter graph lines that bring two labelled inputs to comparable frames: from each one's first frame
    (PTS-STARTPTS), every `step`-th frame, the reference through `reference_filters` (ending in a comma),
    both at `size` in 4:2:0; outputs [dist] and [ref]."""
    width, height = size
    pick = f"select='not(mod(n\\,{step}))'," if step > 1 else ""
    scale = f"scale={width}:{height}:flags=bicubic,format=yuv420p"
    return (
        f"[{distorted}]setpts=PTS-STARTPTS,{pick}{scale},settb=1/1000,setpts=N[dist];"
        f"[{reference}]setpts=PTS-STARTPTS,{reference_filters}{pick}{scale},settb=1/1000,setpts=N[ref]"
    )


def compare_command(
    ffmpeg: str,
    distorted: Path | ObjectURL,
    distorted_container: str,
    reference: Path | ObjectURL,
    info: MediaInfo,
    size: tuple[int, int],
    log: Path,
    start: float | None = None,
    length: float | None = None,
    step: int = 1,
) -> list[str]:
    """FFmpeg scoring `distorted` (a rendition's segment, or any encode) against the source `reference`
    (from `start`, `length` seconds, as the renditions were made from it) with VMAF, per frame into `log`
    (JSON). Both read through the one input helper."""
    graph = aligned_pair("0:v:0", "1:v:0", size, hls.picture_filters(info), step)
    vmaf = f"[dist][ref]libvmaf=n_threads=2:log_fmt=json:log_path={log}"
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
        *input_options(distorted, distorted_container),
        *input_options(reference, info.container, start=start, length=length),
        "-filter_complex", f"{graph};{vmaf}", "-f", "null", "-",
    ]  # fmt: skip


def frame_scores(log: Path) -> list[float]:
    """The per-frame VMAF scores libvmaf wrote."""
    return [frame["metrics"]["vmaf"] for frame in json.loads(log.read_text())["frames"]]


def run_compare(argv: list[str], log: Path, timeout: float) -> list[float]:
    result = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)  # noqa: S603 - our FFmpeg
    if result.returncode != 0 or not log.is_file():
        raise RuntimeError(hls.summarize(result.stderr.decode("utf-8", "replace")))
    return frame_scores(log)


def sampled_segments(count: int, samples: int = SAMPLES) -> list[int]:
    """Which of a rendition's `count` segments are scored: `samples` spread evenly, the middle of each
    stretch (past the opening and before the credits), never the same twice."""
    taken = min(samples, count)
    return sorted({min(count - 1, int((i + 0.5) * count / taken)) for i in range(taken)})


def measure(
    ffmpeg: str,
    source: Path | ObjectURL,
    info: MediaInfo,
    local: Callable[[str], Path],
    rungs: list[Rung],
    samples: int = SAMPLES,
    timeout: float = 600,
) -> dict[str, Score]:
    """Each rendition's VMAF on `samples` sampled segments of an output (blocking: run it in a thread);
    `local(name)`: the local file of the output's `name` (`480p/index.m3u8`, `480p/003.ts`). A segment's
    reference is the source from where its playlist says it starts."""
    scores: dict[str, Score] = {}
    with tempfile.TemporaryDirectory(prefix="vmaf-") as scratch:
        for rung in rungs:
            entries = _entries(local(f"{rung.name}/index.m3u8").read_text())
            values: list[float] = []
            for index in sampled_segments(len(entries), samples):
                start, length, name = entries[index]
                log = Path(scratch) / f"{rung.name}-{index}.json"
                size = info.rendition_size(rung.short_side)
                argv = compare_command(
                    ffmpeg, local(f"{rung.name}/{name}"), "mpeg-ts", source, info, _even(size, rung), log,
                    start=start, length=length, step=STEP,
                )  # fmt: skip
                values += run_compare(argv, log, timeout)
            if values:
                scores[rung.name] = score(values)
    return scores


def rated(
    ffmpeg: str,
    source: Path | ObjectURL,
    info: MediaInfo,
    local: Callable[[str], Path],
    rungs: list[Rung],
    renditions: list[dict],
    floor: float,
    samples: int,
) -> list[dict]:
    """`renditions` (as the master lists them), each with its measured `quality` (`Score.as_json`); as they
    are when `samples` is 0 or the measurement fails: the film is no less ready for it (logged)."""
    if samples <= 0:
        return renditions
    try:
        scores = measure(ffmpeg, source, info, local, rungs, samples)
    except (RuntimeError, OSError, ValueError, KeyError, subprocess.TimeoutExpired) as exc:
        log.warning("quality not measured: %s", exc)
        return renditions
    return [{**r, "quality": scores[r["name"]].as_json(floor)} if r["name"] in scores else r for r in renditions]


def _even(size: tuple[int | None, int | None], rung: Rung) -> tuple[int, int]:
    width, height = size
    return (width or rung.short_side * 16 // 9 // 2 * 2, height or rung.short_side)


def _entries(playlist: str) -> list[tuple[float, float, str]]:
    """(start in the film, length, segment name) of each segment a media playlist lists."""
    entries, at, length = [], 0.0, None
    for line in playlist.splitlines():
        if line.startswith("#EXTINF:"):
            length = float(line[8:].split(",")[0])
        elif line and not line.startswith("#") and length is not None:
            entries.append((at, length, line))
            at, length = at + length, None
    return entries
