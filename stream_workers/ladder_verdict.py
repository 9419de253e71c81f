"""A further ladder's verdict (AV1 today, `ladder_registry`): which films get one, its folders in an output,
and, once it is made and scored in the H.264 renditions' VMAF windows (`quality.measure`), whether the film's
master lists it: only where every rendition of it holds its H.264 twin's quality in fewer bytes (`decide`,
`choose_listed`). hls.js drops the variants whose codecs the browser cannot decode (`MediaSource.isTypeSupported`)
and, of the sets left, starts with the codec it ranks first, and keeps to it. The rendition playlists the
existing frontend plays (`<rung>/index.m3u8`) stay H.264 in TS. The same for every further ladder: what differs
is its value (`ladders.Ladder`), in its own module.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path

from videoflix.core.ladders import FAST_MASTER, fast_variant
from videoflix.core.media import MediaInfo, Rung

from . import hls_output, quality
from .ladders import Ladder

#: the smallest picture (its short side, pixels) given a further ladder: SVT-AV1 fails on a 2x2 picture (a
#: 1x1 source's rendition), and so small a film gains nothing from a second ladder
MIN_SIDE = 16


def wanted(info: MediaInfo, max_seconds: float = float("inf")) -> bool:
    """Whether a film gets a further ladder (switched on): one whose sound is a single track, at least
    MIN_SIDE pixels on its short side, at most `max_seconds` long (AV1_MAX_SECONDS, for a film made in one
    pass: an operator's bound on that one run's CPU). hls.js cannot switch an fMP4 variant with its sound
    muxed to an alternate MPEG-TS audio track (Chromium: `mediaSourceRequiresReset`, then playback
    stalled), so a film with several keeps H.264 alone."""
    short = (info.bounded_length or 0.0) <= max_seconds
    return short and not info.alternate_audio and (info.short_side or 0) >= MIN_SIDE


def master_of(ladder: Ladder) -> str:
    """The ladder's own master playlist in an output, merged into the film's (`add_variants`)."""
    return f"{ladder.folder}/master.m3u8"


def make_folders(ladder: Ladder, output: Path, rungs: list[Rung]) -> None:
    """Make the folders FFmpeg writes the ladder's renditions into (its HLS muxer makes none)."""
    for name in ladder.folders(rungs):
        (output / name).mkdir(parents=True, exist_ok=True)


def twins(ladder: Ladder, rungs: list[Rung]) -> dict[str, Rung]:
    """The ladder's renditions' folders, each with its rung (what `quality.measure` scores beside the H.264
    ones)."""
    return dict(zip(ladder.folders(rungs), rungs, strict=True))


#: a further ladder is listed only where each of its renditions is as good as the H.264 one of its rung (VMAF
#: at most this much lower) and smaller (on average): AV1 is no better on every picture (SVT-AV1 at preset 10
#: lost 26 VMAF points on upscaled pixel art at 1.3x the bytes, bench/quality.py), and a browser that picks
#: it must not get less. All or nothing: hls.js keeps to the codec it started with, so a ladder missing its
#: top rungs would hold a viewer below the H.264 ladder's best.
TOLERANCE = 1.0


def decide(
    ladder: Ladder,
    rungs: list[Rung],
    master: str,
    variants: str,
    scores: Mapping[str, quality.Score],
    floor: float,
    measuring: bool = True,
) -> dict[str, dict]:
    """Per rung, its twin in the ladder as `master` (the film's, its H.264 renditions) and `variants` (the ladder's
    own master) list them, with the measured quality (`scores`, keyed by folder): bandwidth, VMAF,
    whether it is as good and smaller (`fit`: VMAF within TOLERANCE of its H.264 twin's, average bitrate
    lower), and whether the master lists it (`listed`: every twin fit). Not `measuring` (QUALITY_SAMPLES=0,
    the operator's choice): by the bitrate alone; a measurement that failed lists nothing."""
    h264, av1 = hls_output.average_bandwidths(master), hls_output.average_bandwidths(variants)
    peaks = {entry["name"]: entry.get("bandwidth") for entry in hls_output.renditions_in(variants, rungs)}
    twins_of: dict[str, dict] = {}
    for rung in rungs:
        score, h264_score = scores.get(f"{ladder.folder}/{rung.name}"), scores.get(rung.name)
        as_good = not measuring or (
            score is not None and h264_score is not None and score.mean >= h264_score.mean - TOLERANCE
        )
        bits, h264_bits = av1.get(rung.name), h264.get(rung.name)
        smaller = bits is not None and h264_bits is not None and bits < h264_bits
        twin = {"bandwidth": peaks.get(rung.name), "average_bandwidth": bits, "fit": smaller and as_good}
        twins_of[rung.name] = {**twin, "quality": score.as_json(floor)} if score is not None else twin
    every = bool(twins_of) and all(twin["fit"] for twin in twins_of.values())
    return {name: {**twin, "listed": every} for name, twin in twins_of.items()}


def unfinished(ladder: Ladder, renditions: list[dict]) -> bool:
    """Whether a ready film's renditions (as reported) lack the ladder's pass' verdict (each rung's `av1` twin):
    its pass never ran, or its worker died before reporting it."""
    return bool(renditions) and not any(ladder.name in r for r in renditions)


def _h264_variants(lines: list[str]) -> list[int]:
    """The lines of the H.264 variants (each `#EXT-X-STREAM-INF` and its URI, `<rung>/index.m3u8`: a further
    ladder's is `<ladder>/<rung>/…`) in a master's `lines`."""
    found = []
    for i, (info, uri) in enumerate(itertools.pairwise(lines)):
        if info.startswith("#EXT-X-STREAM-INF:") and fast_variant(uri):
            found += [i, i + 1]
    return found


def without_variants(ladder: Ladder, master: str, fast: str = "") -> str:
    """The film's master without the ladder's variants (each URI in its folder and the `#EXT-X-STREAM-INF` before it):
    what an ladder's pass that did not report may have listed. A replacing ladder's give their place back to the
    H.264 variants of `fast` (FAST_MASTER, as the fast stage listed them), where the master has none left."""
    lines = master.splitlines()
    uris = {i for i, line in enumerate(lines) if line.startswith(f"{ladder.folder}/")}
    gone = sorted(uris | {i - 1 for i in uris})
    kept = [line for i, line in enumerate(lines) if i not in gone]
    if ladder.replaces and fast and gone and not _h264_variants(kept):
        fast_lines = fast.splitlines()
        kept[gone[0] : gone[0]] = [fast_lines[i] for i in _h264_variants(fast_lines)]
    return "\n".join(kept).rstrip("\n") + "\n"


def with_variants(ladder: Ladder, master: str, variants: str, listed: Collection[str]) -> str:
    """The film's master playlist `master` with the ladder's variants of `variants` (the ladder's own master)
    whose rung is `listed`, their URIs made relative to the film's folder: after the H.264 ones, or, for a
    replacing ladder (`Ladder.replaces`), in their place; applied once."""
    if f"\n{ladder.folder}/" in master:
        return master
    added = []
    for info, uri in itertools.pairwise(variants.splitlines()):
        if info.startswith("#EXT-X-STREAM-INF:") and uri.split("/")[0] in listed:
            added += [info, f"{ladder.folder}/{uri}"]
    if not added:
        return master
    lines = master.splitlines()
    if ladder.replaces and (h264 := _h264_variants(lines)):
        kept = [line for i, line in enumerate(lines) if i not in h264]
        kept[h264[0] : h264[0]] = added
        return "\n".join(kept) + "\n"
    return master.rstrip("\n") + "\n" + "\n".join(added) + "\n"


def add_variants(ladder: Ladder, output: Path, listed: Collection[str]) -> None:
    """List the finished ladder's renditions of the rungs `listed` in the film's master playlist in `output`
    (`with_variants`), atomically; the others' files go (nothing names them), the AV1 folder too when none is
    listed, and so does the AV1 output's own master once merged (no route serves it)."""
    master = output / "master.m3u8"
    text = master.read_text("utf-8")
    if (merged := with_variants(ladder, text, (output / master_of(ladder)).read_text("utf-8"), listed)) != text:
        if ladder.replaces and not (output / FAST_MASTER).is_file():
            hls_output.write_atomically(output / FAST_MASTER, text)  # (before the master that needs it)
        hls_output.write_atomically(master, merged)
    (output / master_of(ladder)).unlink()
    for folder in (output / ladder.folder).iterdir():
        if folder.is_dir() and folder.name not in listed:
            shutil.rmtree(folder, ignore_errors=True)
    if not listed:
        (output / ladder.folder).rmdir()


def fast_master(output: Path) -> str:
    """The master as the fast stage listed it (FAST_MASTER once a replacing ladder took its place, else the
    film's master): the H.264 renditions every ladder is judged against."""
    kept = output / FAST_MASTER
    return (kept if kept.is_file() else output / "master.m3u8").read_text("utf-8")


def choose_listed(
    ladder: Ladder,
    output: Path,
    rungs: list[Rung],
    renditions: list[dict],
    scores: Mapping[str, quality.Score],
    floor: float,
    measuring: bool = True,
) -> tuple[list[dict], list[str]]:
    """After the encode and its measurement (`measuring`: whether quality was to be measured): which AV1
    renditions the master lists (`decide`, `add_variants`); `renditions` each with its twin in the ladder's facts
    (`av1`, shown by the status endpoint), and the AV1 playlist folders kept."""
    variants = (output / master_of(ladder)).read_text("utf-8")
    twins_of = decide(ladder, rungs, fast_master(output), variants, scores, floor, measuring)
    listed = [name for name, twin in twins_of.items() if twin["listed"]]
    add_variants(ladder, output, listed)
    return [{**r, ladder.name: twins_of[r["name"]]} for r in renditions], [f"{ladder.folder}/{name}" for name in listed]
