"""The AV1 ladder: the same rungs again in AV1 (SVT-AV1), for the browsers that decode it, beside the H.264 one.

Made once the H.264 ladder is whole, by the film's steps for this ladder (`LADDER`, `film_steps`): for a film
made in one pass by a run of its own (`FilmSteps.ladder_pass`), for a long one in its parts over every worker
(`ladder_parts`); the source read, scaled and its sound normalized as for the H.264 renditions, SVT-AV1 for every
rung, as CMAF: fMP4 segments (`av1/<rung>/NNN.m4s`) after an init segment (`#EXT-X-MAP`), the default sound muxed
in as in the H.264 renditions. The film is ready before (with H.264 alone: SVT-AV1 at PRESET takes ~2.4x the
H.264 pass' CPU); once the AV1 ladder is whole it is scored in the H.264 renditions' VMAF windows
(`quality.measure`), and the master lists the AV1 variants (with their `CODECS`, av01...) after the H.264 ones
only where every AV1 rendition holds its H.264 twin's quality in fewer bytes (`decide`, `choose_listed`):
hls.js drops the variants whose codecs the browser cannot decode (`MediaSource.isTypeSupported`) and, of
the sets left, starts with the codec it ranks first (AV1 before H.264), and keeps to it. The rendition
playlists the existing frontend plays (`<rung>/index.m3u8`) stay H.264 in TS.

Rate control as the per-title H.264 ladder's: one constant quality (CRF) capped per rung, the cap a share
of the fixed ladder's bitrate of the rung. Chosen on bench/quality.py's corpus.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path

from videoflix.core.media import MediaInfo, Rung

from . import hls_output, quality
from .ladders import Ladder

#: the AV1 ladder's folder in an output (`av1/<rung>/`)
FOLDER = "av1"
#: SVT-AV1's speed (0 slowest .. 13), its constant quality and its cap (a share of the fixed ladder's
#: bitrate of the rung, as the H.264 ladder's PER_TITLE_CAP), chosen on bench/quality.py's corpus against the
#: per-title H.264 ladder. Preset 10 (about x264 veryfast's cost) could not hold H.264's quality on grain at
#: any CRF: a talking head's grained backdrop stayed 2 VMAF points below from CRF 16 (0.7x the bytes) to 30
#: (0.13x); the dark scene and the moving pattern lost over 1 point. Preset 6 holds it: at CRF 34 capped at
#: 0.6x (720p, 6 s titles) the talking head takes 0.08x H.264's bytes for -0.2, film grain 0.47x for +1.4,
#: the dark scene 0.43x for -0.7, high motion 0.62x for -0.1; preset 8 lost 0.6-1.1 on the same titles.
#: Over the corpus (10 s titles, every rung, CAPS): 37.5 % fewer bytes than the per-title H.264 ladder, at
#: most 0.86 VMAF below it, for 2.4x its CPU
PRESET = 6
CRF = 34
CAP = 0.6
#: the caps of particular rungs: at 1080p SVT-AV1's lead over x264 narrows on hard pictures (the moving
#: pattern lost 1.9 VMAF at 0.6x, 0.64x H.264's bytes; at 0.75x it takes 0.89x for +0.5)
CAPS = {"1080p": 0.75}
#: the AV1 ladder as a value (`ladders.Ladder`): what its one-pass run and its parts share
LADDER = Ladder(
    name=FOLDER,
    folder=FOLDER,
    codec="libsvtav1",
    preset=str(PRESET),
    crf=CRF,
    cap=CAP,
    caps=CAPS,
    # SVT-AV1 honours forced keyframes only when asked to; its own scene cuts would add keyframes
    options=("-svtav1-params", "force-key-frames=1:scd=0"),
    #: the AV1 pass yields the CPU to the other jobs on the machine (a film's H.264 parts): the film it
    #: improves is already ready
    niceness=10,
)
#: the AV1 variants' own master playlist, merged into the film's (`add_variants`)
MASTER = f"{FOLDER}/master.m3u8"


#: the smallest picture (its short side, pixels) given the AV1 ladder: SVT-AV1 fails on a 2x2 picture (a
#: 1x1 source's rendition), and so small a film gains nothing from a second ladder
MIN_SIDE = 16


def wanted(info: MediaInfo, max_seconds: float = float("inf")) -> bool:
    """Whether a film gets the AV1 ladder (with AV1_LADDER on): one whose sound is a single track, at least
    MIN_SIDE pixels on its short side, at most `max_seconds` long (AV1_MAX_SECONDS: an operator's bound on
    the AV1 pass' CPU). hls.js cannot switch an fMP4 variant with its sound muxed to an alternate MPEG-TS
    audio track (Chromium: `mediaSourceRequiresReset`, then playback stalled), so a film with several keeps
    H.264 alone."""
    short = (info.bounded_length or 0.0) <= max_seconds
    return short and not info.alternate_audio and (info.short_side or 0) >= MIN_SIDE


def folders(rungs: list[Rung]) -> list[str]:
    """The AV1 ladder's playlist folders in an output, one per rung."""
    return [f"{FOLDER}/{rung.name}" for rung in rungs]


def make_folders(output: Path, rungs: list[Rung]) -> None:
    """Make the folders FFmpeg writes the AV1 renditions into (its HLS muxer makes none)."""
    for name in folders(rungs):
        (output / name).mkdir(parents=True, exist_ok=True)


def cap_of(rung: Rung) -> float:
    """A rung's AV1 cap, a share of its fixed bitrate."""
    return LADDER.cap_of(rung)


def twins(rungs: list[Rung]) -> dict[str, Rung]:
    """The AV1 renditions' folders, each with its rung (what `quality.measure` scores beside the H.264 ones)."""
    return {f"{FOLDER}/{rung.name}": rung for rung in rungs}


#: the AV1 ladder is listed only where each of its renditions is as good as the H.264 one of its rung (VMAF
#: at most this much lower) and smaller (on average): AV1 is no better on every picture (SVT-AV1 at preset 10
#: lost 26 VMAF points on upscaled pixel art at 1.3x the bytes, bench/quality.py), and a browser that picks
#: AV1 must not get less. All or nothing: hls.js keeps to the codec it started with, so an AV1 ladder
#: missing its top rungs would hold a viewer below the H.264 ladder's best.
TOLERANCE = 1.0


def decide(
    rungs: list[Rung],
    master: str,
    variants: str,
    scores: Mapping[str, quality.Score],
    floor: float,
    measuring: bool = True,
) -> dict[str, dict]:
    """Per rung, its AV1 twin as `master` (the film's, its H.264 renditions) and `variants` (the AV1
    output's own master) list them, with the measured quality (`scores`, keyed by folder): bandwidth, VMAF,
    whether it is as good and smaller (`fit`: VMAF within TOLERANCE of its H.264 twin's, average bitrate
    lower), and whether the master lists it (`listed`: every twin fit). Not `measuring` (QUALITY_SAMPLES=0,
    the operator's choice): by the bitrate alone; a measurement that failed lists nothing."""
    h264, av1 = hls_output.average_bandwidths(master), hls_output.average_bandwidths(variants)
    peaks = {entry["name"]: entry.get("bandwidth") for entry in hls_output.renditions_in(variants, rungs)}
    twins_of: dict[str, dict] = {}
    for rung in rungs:
        score, h264_score = scores.get(f"{FOLDER}/{rung.name}"), scores.get(rung.name)
        as_good = not measuring or (
            score is not None and h264_score is not None and score.mean >= h264_score.mean - TOLERANCE
        )
        bits, h264_bits = av1.get(rung.name), h264.get(rung.name)
        smaller = bits is not None and h264_bits is not None and bits < h264_bits
        twin = {"bandwidth": peaks.get(rung.name), "average_bandwidth": bits, "fit": smaller and as_good}
        twins_of[rung.name] = {**twin, "quality": score.as_json(floor)} if score is not None else twin
    every = bool(twins_of) and all(twin["fit"] for twin in twins_of.values())
    return {name: {**twin, "listed": every} for name, twin in twins_of.items()}


def unfinished(renditions: list[dict]) -> bool:
    """Whether a ready film's renditions (as reported) lack the AV1 pass' verdict (each rung's `av1` twin):
    its pass never ran, or its worker died before reporting it."""
    return bool(renditions) and not any(FOLDER in r for r in renditions)


def without_variants(master: str) -> str:
    """The film's master without AV1 variants (each URI in FOLDER and the `#EXT-X-STREAM-INF` before it):
    what an AV1 pass that did not report may have listed."""
    lines = master.splitlines()
    uris = {i for i, line in enumerate(lines) if line.startswith(f"{FOLDER}/")}
    kept = "\n".join(line for i, line in enumerate(lines) if i not in uris and i + 1 not in uris)
    return kept.rstrip("\n") + "\n"


def with_variants(master: str, variants: str, listed: Collection[str]) -> str:
    """The film's master playlist `master` with the AV1 variants of `variants` (the AV1 output's own master)
    whose rung is `listed`, after its H.264 ones, their URIs made relative to the film's folder; applied once."""
    if f"\n{FOLDER}/" in master:
        return master
    lines = variants.splitlines()
    added = []
    for info, uri in itertools.pairwise(lines):
        if info.startswith("#EXT-X-STREAM-INF:") and uri.split("/")[0] in listed:
            added += [info, f"{FOLDER}/{uri}"]
    return master.rstrip("\n") + "\n" + "\n".join(added) + "\n" if added else master


def add_variants(output: Path, listed: Collection[str]) -> None:
    """List the finished AV1 renditions of the rungs `listed` in the film's master playlist in `output`
    (`with_variants`), atomically; the others' files go (nothing names them), the AV1 folder too when none is
    listed, and so does the AV1 output's own master once merged (no route serves it)."""
    master = output / "master.m3u8"
    text = master.read_text("utf-8")
    if (merged := with_variants(text, (output / MASTER).read_text("utf-8"), listed)) != text:
        hls_output.write_atomically(master, merged)
    (output / MASTER).unlink()
    for folder in (output / FOLDER).iterdir():
        if folder.is_dir() and folder.name not in listed:
            shutil.rmtree(folder, ignore_errors=True)
    if not listed:
        (output / FOLDER).rmdir()


def choose_listed(
    output: Path,
    rungs: list[Rung],
    renditions: list[dict],
    scores: Mapping[str, quality.Score],
    floor: float,
    measuring: bool = True,
) -> tuple[list[dict], list[str]]:
    """After the encode and its measurement (`measuring`: whether quality was to be measured): which AV1
    renditions the master lists (`decide`, `add_variants`); `renditions` each with its AV1 twin's facts
    (`av1`, shown by the status endpoint), and the AV1 playlist folders kept."""
    master, variants = (output / "master.m3u8").read_text("utf-8"), (output / MASTER).read_text("utf-8")
    twins_of = decide(rungs, master, variants, scores, floor, measuring)
    listed = [name for name, twin in twins_of.items() if twin["listed"]]
    add_variants(output, listed)
    return [{**r, FOLDER: twins_of[r["name"]]} for r in renditions], [f"{FOLDER}/{name}" for name in listed]
