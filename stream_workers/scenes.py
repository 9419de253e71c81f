"""A film's scenes: where its picture cuts from one shot to the next, and the rate each scene needs.

One rate for a whole film (or a part of a long one) gives every scene the same CRF, so a calm dialogue gets
more bits than its quality needs and a fast chase fewer: Netflix's shot-based encoding rates each shot on its
own at one target quality instead (it reported under half the bits of per-title AVC at equal VMAF). Here:

- `cuts` finds the shot boundaries of a stretch with FFmpeg's scene detection (`scdet`, on a picture
  scaled down to DETECT_WIDTH: a decode of the stretch and little else), and `of_stretch` turns them into
  scenes, a shot shorter than SHORTEST joining the one before it (too short to rate on its own).
- The quality-aimed rate control (`rate_aim`) places its sampled windows inside scenes, one at least in each
  (`placed`; a stretch of more scenes than windows is rated by groups of neighbouring shots, `grouped`, so
  the sample is at most twice the aim's share), and from the same probe encodes reads each window's VMAF
  (`window_means`): each scene gets the highest CRF its own windows say reaches the target (`crf_for`),
  near what the whole sample measured.
- x264 takes a CRF per range of frames (`--zones`, `zones_option`), so a ladder of x264's (the best H.264
  one, `Ladder.scenes`) is encoded in one run with each scene at its own rate and keyframes where its shots
  cut (x264's own scene cuts); SVT-AV1 and x265 take no CRF per range, so their rate follows a long film's
  parts, each aimed on its own scenes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from videoflix.core.containers import input_options
from videoflix.core.media import MediaInfo

from . import ffmpeg_run, hls

#: scdet's threshold (0-100, FFmpeg's default 10): on the real corpus it finds the cuts of the cyclists' and
#: Big Buck Bunny's edits and none in the single shots (a camera's street, a phone's close-up)
THRESHOLD = 10.0
#: the width the picture is scaled to before detection: cuts show at any size, and decoding is then most of
#: the cost (30 s of 1080p: ~4 s of one core)
DETECT_WIDTH = 160
#: the shortest scene rated on its own (seconds): a shorter shot joins the scene before it
SHORTEST = 2.0
#: how far (CRF steps) a scene's rate may lie from the nearest probe: beyond, the line through the probes
#: is a guess
MOST_STEPS = 4

_TIME = re.compile(r"lavfi\.scd\.time: (\d+(?:\.\d+)?)")


def cuts_command(ffmpeg: str, source: Path, info: MediaInfo, stretch: tuple[float, float]) -> list[str]:
    """FFmpeg printing the shot boundaries of `stretch` (start, seconds) of the film (`scdet`, on its clock
    from the stretch's start) and writing nothing."""
    start, length = stretch
    graph = f"{hls.picture_filters(info, '')}scale={DETECT_WIDTH}:-2,scdet=threshold={THRESHOLD:g}"
    return [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info",
            *input_options(source, info.container, start=start, length=length),
            "-an", "-sn", "-dn", "-vf", graph, "-f", "null", "-"]  # fmt: skip


def cuts(
    ffmpeg: str, source: Path, info: MediaInfo, stretch: tuple[float, float], timeout: float, niceness: int = 0
) -> list[float]:
    """(Blocking.) The shot boundaries in `stretch`, seconds from its start, in order."""
    logged = ffmpeg_run.run_to_end(cuts_command(ffmpeg, source, info, stretch), timeout, niceness)
    found = sorted({float(t) for t in _TIME.findall(logged)})
    return [t for t in found if 0.0 < t < stretch[1]]


def of_stretch(length: float, boundaries: Sequence[float], shortest: float = SHORTEST) -> list[tuple[float, float]]:
    """The scenes (start, end: seconds from the stretch's start) between `boundaries`, each at least
    `shortest` long but where the stretch is shorter: a shorter shot joins the scene before it (the first,
    the one after it)."""
    edges = [0.0]
    for cut in boundaries:
        if cut - edges[-1] >= shortest and length - cut >= shortest:
            edges.append(cut)
    return list(zip(edges, [*edges[1:], length], strict=True))


def grouped(parts: Sequence[tuple[float, float]], most: int) -> list[tuple[float, float]]:
    """At most `most` scenes: while there are more, the two neighbours shortest together become one (a film of
    many short shots is rated by stretches of them, so that the samples stay within the aim's share)."""
    merged = list(parts)
    while len(merged) > max(1, most):
        i = min(range(len(merged) - 1), key=lambda j: merged[j + 1][1] - merged[j][0])
        merged[i : i + 2] = [(merged[i][0], merged[i + 1][1])]
    return merged


def placed(
    spans: Sequence[tuple[float, float]], scenes: Sequence[tuple[float, float]], stretch_start: float = 0.0
) -> list[tuple[float, float]]:
    """The sampled windows (start, seconds: film time) moved inside the scene their middle falls in (a window
    across a cut would rate two shots as one), then one more in the middle of each scene none fell in."""
    windows, hit = [], set()
    for start, length in spans:
        middle = start - stretch_start + length / 2
        index = next((i for i, (a, b) in enumerate(scenes) if a <= middle < b), len(scenes) - 1)
        a, b = scenes[index]
        hit.add(index)
        inside = min(max(start - stretch_start, a), max(a, b - length))
        windows.append((round(stretch_start + inside, 3), min(length, b - a)))
    for index, (a, b) in enumerate(scenes):
        if index not in hit:
            length = min(spans[0][1] if spans else b - a, b - a)
            windows.append((round(stretch_start + a + (b - a - length) / 2, 3), length))
    return sorted(windows)


def scene_of(window: tuple[float, float], scenes: Sequence[tuple[float, float]], stretch_start: float = 0.0) -> int:
    """The index of the scene a sampled window lies in."""
    middle = window[0] - stretch_start + window[1] / 2
    return next((i for i, (a, b) in enumerate(scenes) if a <= middle < b), len(scenes) - 1)


def window_index(count: int, lengths: Sequence[float]) -> list[int]:
    """The window each of `count` frames scored of the clip the windows make together belongs to (`lengths`:
    their seconds, in order): the one its place in the clip falls in."""
    total, edges = sum(lengths), [0.0]
    for length in lengths:
        edges.append(edges[-1] + length)
    last = len(lengths) - 1
    return [
        min(last, next((j for j in range(len(lengths)) if (k + 0.5) / count * total < edges[j + 1]), last))
        for k in range(count)
    ]


def window_means(frames: Sequence[float], lengths: Sequence[float]) -> list[float]:
    """Each window's mean VMAF from the per-frame scores of the clip the windows make together, in order
    (`lengths`: their seconds)."""
    sums, counts = [0.0] * len(lengths), [0] * len(lengths)
    for value, i in zip(frames, window_index(len(frames), lengths), strict=True):
        sums[i], counts[i] = sums[i] + value, counts[i] + 1
    return [s / c if c else math.nan for s, c in zip(sums, counts, strict=True)]


def before_cuts(
    scenes: Sequence[tuple[float, float]],
    stretch_start: float,
    length: float,
    taken: Sequence[tuple[float, float]] = (),
) -> list[tuple[float, float]]:
    """Windows (start, seconds: film time) of `length` at the stretch's start and ending at each cut between
    `scenes` (seconds from the stretch's start), inside the scene before it: where a film's worst moments are
    for every encoder (`aim_sample`). One that `taken` windows (or one of these) cover for more than half is
    left out."""
    if not scenes:
        return []
    wanted = [(0.0, min(length, scenes[0][1] - scenes[0][0]))]
    wanted += [(max(a, b - length), min(length, b - a)) for a, b in scenes[:-1]]
    found = []
    for start, seconds in wanted:
        at = round(stretch_start + start, 3)
        covered = sum(max(0.0, min(at + seconds, s + n) - max(at, s)) for s, n in [*taken, *found])
        if seconds > 0 and covered <= seconds / 2:
            found.append((at, seconds))
    return found


def crf_for(measured: Mapping[float, float], target: float, slope: float, bounds: tuple[float, float]) -> float:
    """A scene's CRF: the highest whole CRF its windows' VMAF (`measured`: per probed CRF) says reaches
    `target`, on the line through the probe nearest the target (`slope`: VMAF points a CRF step costs),
    at most MOST_STEPS from that probe, within `bounds`."""
    lowest, highest = bounds
    known = {crf: vmaf for crf, vmaf in measured.items() if not math.isnan(vmaf)}
    if not known:
        return highest
    reached = [crf for crf, vmaf in known.items() if vmaf >= target]
    anchor = max(reached) if reached else min(known)
    guess = anchor + (known[anchor] - target) / max(slope, 0.05)
    guess = min(max(guess, anchor - MOST_STEPS), anchor + MOST_STEPS)
    return float(min(max(math.floor(guess + 1e-6), lowest), highest))


def zones_option(index: int, zones: Sequence[tuple[int, int, float]]) -> list[str]:
    """x264's CRF per range of frames of the `index`-th video stream (`--zones start,end,crf=X/…`, frames
    counted from the run's first); none where there is one scene."""
    if not zones:
        return []
    given = "/".join(f"{first},{last},crf={crf:g}" for first, last, crf in zones)
    return [f"-x264-params:v:{index}", f"zones={given}"]


def frame_zones(
    scenes: Sequence[tuple[float, float]], crfs: Sequence[float], rate: float, base: float
) -> tuple[tuple[int, int, float], ...]:
    """The scenes as x264's zones (first and last frame at `rate`, their CRF), those at the rung's own CRF
    (`base`) left out: none at all where every scene takes it."""
    zones = []
    for (start, end), crf in zip(scenes, crfs, strict=True):
        first, last = round(start * rate), round(end * rate) - 1
        if crf != base and last >= first:
            zones.append((first, last, crf))
    return tuple(zones)
