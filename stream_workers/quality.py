"""Measured quality: each rendition's VMAF against the source, on sampled segments, so an operator sees what a
title delivers and a starved rendition is flagged (VMAF_FLOOR).

How a comparison is made fair (the rules every quality figure here follows, bench/ included):
- Frames are paired from each input's first frame (`setpts=PTS-STARTPTS` on both): our MPEG-TS renditions
  start at ~11.4 s, a source at 0, and pairing by timestamp compared frames seconds apart (bench/transcode.py
  reported SSIM 0.933 for what is 0.997). A one-frame shift is caught (tests/workers/test_quality.py).
- The reference is the source as the renditions were made from it (`hls.picture_filters`: deinterlaced,
  tone-mapped, constant rate, square pixels), scaled to the rendition's size: the score is what the encoder
  lost at that size, comparable across rungs and titles; upscaling loss is the ladder's choice, not a fault.
- A variable-rate source (a phone's) is made constant as the encode made it: on its own clock, from a lead-in
  before the window, the film's opening padded from 0 (`constant_reference`), so each rendition picture is
  paired with the source picture the encode put in its slot. Made constant from the window's first picture
  instead, a grainy phone clip scored VMAF ~45 (p5 ~25) for what is ~94 (tests/workers/test_quality.py).
- Sampling: windows of WINDOW seconds spread over the film (SHARE of it), each within one segment, every
  renditions' at once against one decode of the source; every STEP-th frame scored by libvmaf's own
  subsampling (`vmaf`: n_subsample), which still runs its motion feature on every frame. VMAF's score leans
  on the motion between a frame and the one before it; frames picked before libvmaf (select) put STEP frames
  of motion between neighbours and scored far higher than the pictures are: the real corpus' cockatoo at 480p
  (x264 veryfast, 1043 kbit/s) 99.76 every 3rd frame picked, 97.43 on every frame, 97.47 subsampled by
  libvmaf (p5 98.5, 92.0, 91.3), and the inflated scores squeezed every ladder's difference towards 100.
- A window starts where the fewest pictures are decoded in vain (`window_at`): at the sampled segment's
  start, or at a keyframe of the source in it or in the segment before. An exact seek decodes the source
  from the keyframe before the window, and a source's keyframes can be 10 s apart (x264's default): on the
  corpus' 30 s film grain title, its window cost 21.6 CPU seconds at its segment's start, 6.2 from a
  keyframe. From a keyframe of the source, the renditions are decoded from their segment's start instead
  (they open every segment).
"""

from __future__ import annotations

import json
import logging
import math
import re
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from videoflix.core.containers import ObjectURL, input_options
from videoflix.core.media import MediaInfo, Rung

from . import ffmpeg_run, hls, hls_output

log = logging.getLogger(__name__)

#: seconds scored of each sampled segment (from its start), SHARE of the film in such windows (at least one,
#: at most MOST_WINDOWS, QUALITY_SAMPLES), and every how many frames one is scored: what keeps VMAF's cost a
#: few percent of the encode's (bench/quality.py)
WINDOW = 1.0
SHARE = 0.02
MOST_WINDOWS = 30
STEP = 3
#: a window's lead (seconds decoded before it) not worth a second seek to shorten (`window_at`)
LEAD = 0.5
#: seconds of a variable-rate source decoded before a window, so that its conversion to a constant rate
#: (`fps`) picks each slot's picture from the same pictures as the encode did (`constant_reference`)
RATE_LEAD_IN = 1.0
#: libvmaf as every comparison runs it: per-frame scores as JSON; pairs end with the shorter input (its
#: default repeats the last picture of one that ends first: a rendition read to a time printed to the
#: millisecond, 1.667 s for the picture at 1.666667, has one picture more than the source, which scored 30-50)
VMAF = "libvmaf=n_threads=2:shortest=1:log_fmt=json"


def vmaf(log: Path | str, step: int = 1) -> str:
    """The libvmaf filter every comparison runs (VMAF), scoring every `step`-th frame pair into `log`: picked
    by libvmaf (n_subsample), whose motion feature still sees every frame (the module's Sampling rule). A step
    is odd: encoders build their pictures in layers of powers of two (x264's B-pyramid, SVT-AV1's mini-GOP of
    32), and an even step scores some layers only (`rate_aim.STEP`)."""
    if step > 1 and step % 2 == 0:
        raise ValueError(f"an even VMAF step ({step}) scores some of an encode's picture layers only")
    return f"{VMAF}:n_subsample={step}:log_path={log}"


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


def prepared(label: str, size: tuple[int, int], filters: str = "", out: str = "", skip: float = 0.0) -> str:
    """A graph chain taking input `label` to frames that can be compared: through `filters` (ending in a
    comma; on the input's own clock, as the encode ran them), counted from its first frame (PTS-STARTPTS),
    the first `skip` seconds dropped, at `size` in 4:2:0, numbered 0, 1, 2… (libvmaf and ssim then pair them
    by their place, whatever each input's clock), into [out]. Every frame: libvmaf picks the ones it scores
    (`vmaf`)."""
    width, height = size
    dropped = f"trim=start={_early(skip):.4f}," if skip > 0 else ""  # (the picture at `skip` stays)
    return (
        f"[{label}]{filters}setpts=PTS-STARTPTS,{dropped}scale={width}:{height}:flags=bicubic,"
        f"format=yuv420p,settb=1/10,setpts=N[{out}]"
    )


def aligned_pair(distorted: str, reference: str, size: tuple[int, int], reference_filters: str = "") -> str:
    """Filter graph lines that bring two labelled inputs to comparable frames (`prepared`), the reference
    through `reference_filters`: outputs [dist] and [ref]."""
    return f"{prepared(distorted, size, out='dist')};{prepared(reference, size, reference_filters, 'ref')}"


def window_command(
    ffmpeg: str,
    source: Path | ObjectURL,
    info: MediaInfo,
    segments: list[tuple[Path, str, tuple[int, int], Path]],
    start: float,
    length: float,
    step: int = STEP,
    skip: float = 0.0,
) -> list[str]:
    """FFmpeg scoring one stretch of the film in every rendition at once: the source from `start` for
    `length` seconds, decoded once and prepared as the renditions were made from it (`hls.picture_filters`),
    against each (segment, its container, its size, its log): the `length` seconds of the segment from
    `skip` seconds into it (a segment starts on a keyframe of every rendition, at the same instant; `start`
    is `skip` past it), VMAF per frame into the log. Every input is read through the one input helper.
    A variable-rate source is made constant on the encode's own grid (`constant_reference`)."""
    if info.cfr_rate:
        reading, reference = constant_reference(info, start, length)
    elif info.seeks:
        reading = (_early(start), length)
        reference = f"setpts=PTS-STARTPTS,{hls.picture_filters(info)}"
    else:  # decoded from its start, then cut at the window (`seeking`)
        reading = (0.0, start + length)
        reference = f"setpts=PTS-STARTPTS,{hls.picture_filters(info)}select='gte(t\\,{_early(start):.6f})',"
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
            *input_options(source, info.container, start=reading[0], length=reading[1])]  # fmt: skip
    copies = "".join(f"[r{i}]" for i in range(len(segments)))
    graph = [f"[0:v:0]{reference}split={len(segments)}{copies}"]
    outputs: list[str] = []
    for i, (segment, container, size, log) in enumerate(segments):
        argv += input_options(segment, container, length=skip + length)
        graph.append(prepared(f"r{i}", size, out=f"ref{i}"))
        graph.append(prepared(f"{i + 1}:v:0", size, out=f"dist{i}", skip=skip))
        graph.append(f"[dist{i}][ref{i}]{vmaf(log, step)}[scored{i}]")
        outputs += ["-map", f"[scored{i}]", "-fps_mode", "passthrough", "-f", "null", "-"]
    return [*argv, "-filter_complex", ";".join(graph), *outputs]


def constant_reference(info: MediaInfo, start: float, length: float) -> tuple[tuple[float, float], str]:
    """How a window of a variable-rate source is read and made constant as the encode made it: (seek, seconds
    read) and the filters before the split. The encode's `fps` puts a picture in each slot of a grid of
    1/rate steps on the source's own clock, on which a rendition's segments start (the film's time); a
    conversion started at the window's first picture would lay its own grid, and on a source whose pictures
    come at uneven times (a phone's, its picture starting after its sound) pair each rendition picture with
    a neighbour (measured: VMAF ~45 for ~95). So the source is read from RATE_LEAD_IN before the window,
    kept on its own clock, made constant (each slot's picture chosen from the same pictures as in the
    encode), and cut at the window's slot (half a slot early: the picture on it stays)."""
    seek = round(max(0.0, start - RATE_LEAD_IN), 3) if info.seeks else 0.0  # (as `input_options` prints it)
    half_slot = 0.5 / (info.cfr_rate or 1.0)
    # on the film's grid (`clock`: the read starts at `seek`), the opening padded from 0 as encoded; then cut
    # with select, on the read's clock again (trim passes a picture whose duration reaches past the cut)
    constant = hls.picture_filters(info, hls.constant_rate(info, 0.0 if seek == 0 else None, clock=seek))
    filters = f"{constant}select='gte(t\\,{start - seek - half_slot:.6f})',"
    return (seek, start - seek + length), filters


def compare_command(
    ffmpeg: str,
    distorted: Path | ObjectURL,
    distorted_container: str,
    reference: Path | ObjectURL,
    info: MediaInfo,
    size: tuple[int, int],
    log: Path,
    step: int = 1,
) -> list[str]:
    """FFmpeg scoring the whole of `distorted` (any encode of the source) against the source `reference`
    as the renditions are made from it, with VMAF, every `step`-th frame into `log` (JSON). Both read through
    the one input helper."""
    graph = aligned_pair("0:v:0", "1:v:0", size, hls.picture_filters(info))
    return [
        ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
        *input_options(distorted, distorted_container), *input_options(reference, info.container),
        "-filter_complex", f"{graph};[dist][ref]{vmaf(log, step)}", "-fps_mode", "passthrough", "-f", "null", "-",
    ]  # fmt: skip


def frame_scores(log: Path) -> list[float]:
    """The per-frame VMAF scores libvmaf wrote."""
    return [frame["metrics"]["vmaf"] for frame in json.loads(log.read_text())["frames"]]


def _early(seconds: float) -> float:
    """A cut (seek target, trim) half a millisecond before `seconds`: printed to the millisecond
    (`input_options`), a picture's time may round up past the picture (30 fps: 16.666667 s to 16.667), and
    an exact cut would drop it (a one-frame shift)."""
    return max(0.0, seconds - 0.0005)


def keyframe_before(ffmpeg: str, source: Path | ObjectURL, info: MediaInfo, at: float, timeout: float) -> float | None:
    """Where (seconds into the film) the source's last keyframe at or before `at` is, or None if FFmpeg
    cannot tell: a seek to the keyframe (`-noaccurate_seek`) decoding one picture, which FFmpeg's
    `showinfo` places; the picture's time is counted from the seek target."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-nostats", "-loglevel", "info", "-noaccurate_seek",
            *input_options(source, info.container, start=at), "-map", "0:v:0", "-vf", "showinfo",
            "-frames:v", "1", "-an", "-sn", "-f", "null", "-"]  # fmt: skip
    try:
        result = subprocess.run(argv, capture_output=True, timeout=timeout, check=False)  # noqa: S603 - our FFmpeg
    except subprocess.TimeoutExpired:
        return None
    found = re.search(rb"Parsed_showinfo.*? pts_time:(-?[0-9.]+)", result.stderr)
    if result.returncode != 0 or found is None:
        return None
    return round(float(f"{at:.3f}") + float(found.group(1)), 6)


def window_at(
    ffmpeg: str,
    source: Path | ObjectURL,
    info: MediaInfo,
    entries: list[tuple[float, float, str]],
    index: int,
    after: int,
    timeout: float,
) -> tuple[int, float]:
    """Where the window sampled at segment `index` of `entries` (`_entries`) begins: (its segment, seconds
    into it), where the fewest pictures are decoded in vain. The source is read from its keyframe before the
    window, the renditions from the segment's start (their keyframe): a window at the segment's start
    decodes the source from the keyframe before it (up to 10 s of x264's default GOP, at the source's
    bitrate); one at a keyframe of the source decodes the renditions from their segment's start instead.
    Of the source's keyframe in the segment (where a whole window still fits), the segment's start, and the
    keyframe before it (in the segment before, if a window fits there, it is not the film's opening, and
    `after`, the segment the window before took, -1 for none, is before it: the windows stay apart, in
    order, and past the opening `sampled_segments` skips), the one with the shortest lead. A variable-rate
    source keeps the segment's start: made constant (`fps`), its pictures are not the renditions' one to
    one."""
    start, length, _ = entries[index]
    if length < WINDOW or info.cfr_rate:
        return index, 0.0
    inside = keyframe_before(ffmpeg, source, info, start + length - WINDOW, timeout)
    if inside is None:
        return index, 0.0
    leads = []  # (seconds decoded in vain, segment, skip)
    before: float | None = inside
    if inside >= start - 0.001:
        leads.append((inside - start, index, max(0.0, inside - start)))
        before = keyframe_before(ffmpeg, source, info, start, timeout) if inside - start > LEAD else None
    if before is not None:
        leads.append((start - before, index, 0.0))
        if index - 1 > max(after, 0) and before < start - 0.001:
            at, span, _ = entries[index - 1]
            if at - 0.001 <= before and before + WINDOW <= at + span + 0.001:
                leads.append((before - at, index - 1, max(0.0, before - at)))
    _, place, skip = min(leads)
    return place, skip


def windows(duration: float, most: int) -> int:
    """How many stretches of WINDOW seconds are scored in a film of `duration` seconds: SHARE of it, at
    least one, at most `most`."""
    return max(1, min(most, round(duration * SHARE / WINDOW)))


def sampled_segments(count: int, samples: int) -> list[int]:
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
    most: int = MOST_WINDOWS,
    timeout: float = 600,
    also: Mapping[str, Rung] | None = None,
    ladder: bool = True,
) -> dict[str, Score]:
    """Each rendition's VMAF on `windows` stretches of the film, spread over it, each WINDOW seconds of a
    segment (from a keyframe of the source, `window_at`; blocking: run it in a thread); `local(name)`:
    the local file of the output's `name` (`480p/index.m3u8`, `480p/003.ts`); `also`: more playlist folders
    to score, each at its rung's size (the AV1 ladder's, `av1/480p`: fMP4, each segment read after its init
    segment); not `ladder`: only those (the H.264 renditions were scored before, in the same windows). A
    window's reference is the source from where the lowest rendition's playlist says that segment starts
    (every ladder's segments start together), plus the window's place in it. Keyed by folder."""
    folders = {**({rung.name: rung for rung in rungs} if ladder else {}), **(also or {})}
    playlists = {folder: local(f"{folder}/index.m3u8").read_text() for folder in folders}
    entries = {folder: _entries(text) for folder, text in playlists.items()}
    values: dict[str, list[float]] = {folder: [] for folder in folders}
    lowest = entries[rungs[0].name] if ladder else _entries(local(f"{rungs[0].name}/index.m3u8").read_text())
    duration = sum(length for _, length, _ in lowest)
    taken = -1
    with tempfile.TemporaryDirectory(prefix="vmaf-") as scratch:
        for sampled in sampled_segments(len(lowest), windows(duration, most)):
            index, skip = window_at(ffmpeg, source, info, lowest, sampled, taken, timeout)
            taken = index
            start, length, _ = lowest[index]
            segments = []
            for i, (folder, rung) in enumerate(folders.items()):
                segment, container = _segment(local, folder, playlists[folder], entries[folder][index][2],
                                              Path(scratch) / f"{i}-{index}.mp4")  # fmt: skip
                segments.append((segment, container, size_of(info, rung), Path(scratch) / f"{i}-{index}.json"))
            ffmpeg_run.run_to_end(
                window_command(ffmpeg, source, info, segments, start + skip, min(length, WINDOW), skip=skip), timeout
            )
            for folder, (_, _, _, log_path) in zip(folders, segments, strict=True):
                values[folder] += frame_scores(log_path)
    return {folder: score(scores) for folder, scores in values.items() if scores}


def _segment(local: Callable[[str], Path], folder: str, playlist: str, name: str, joined: Path) -> tuple[Path, str]:
    """A segment to score, and its container: an MPEG-TS segment as it is; an fMP4 one (its playlist names
    an init segment) after its init segment, in one file at `joined` (neither decodes alone)."""
    if (init := hls_output.init_segment(playlist, name)) is None:
        return local(f"{folder}/{name}"), "mpeg-ts"
    joined.write_bytes(local(f"{folder}/{init}").read_bytes() + local(f"{folder}/{name}").read_bytes())
    return joined, "mp4"


def measured(
    ffmpeg: str,
    source: Path | ObjectURL,
    info: MediaInfo,
    local: Callable[[str], Path],
    rungs: list[Rung],
    most: int,
    also: Mapping[str, Rung] | None = None,
    ladder: bool = True,
) -> dict[str, Score]:
    """`measure`, or nothing when `most` (the most windows, QUALITY_SAMPLES) is 0 or the measurement fails:
    the film is no less ready for it (logged)."""
    if most <= 0:
        return {}
    try:
        return measure(ffmpeg, source, info, local, rungs, most, also=also, ladder=ladder)
    except (ffmpeg_run.TranscodeError, OSError, ValueError, KeyError, IndexError, subprocess.TimeoutExpired) as exc:
        log.warning("quality not measured: %s", exc)
        return {}


def recorded(renditions: list[dict]) -> dict[str, Score]:
    """The scores `with_quality` gave `renditions` (as reported and stored), by rendition name."""
    return {
        r["name"]: Score(r["quality"]["vmaf"], r["quality"]["vmaf_p5"], r["quality"]["frames"])
        for r in renditions
        if isinstance(r.get("quality"), dict)
    }


def with_quality(renditions: list[dict], scores: Mapping[str, Score], floor: float) -> list[dict]:
    """`renditions` (as the master lists them), each with its measured `quality` (`Score.as_json`) where
    there is one."""
    return [{**r, "quality": scores[r["name"]].as_json(floor)} if r["name"] in scores else r for r in renditions]


def rated(
    ffmpeg: str,
    source: Path | ObjectURL,
    info: MediaInfo,
    local: Callable[[str], Path],
    rungs: list[Rung],
    renditions: list[dict],
    floor: float,
    most: int,
) -> list[dict]:
    """`renditions` with their measured quality (`measured`, `with_quality`)."""
    return with_quality(renditions, measured(ffmpeg, source, info, local, rungs, most), floor)


def size_of(info: MediaInfo, rung: Rung) -> tuple[int, int]:
    """The rendition's size (16:9 if the source's is unknown)."""
    width, height = info.rendition_size(rung.short_side)
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
