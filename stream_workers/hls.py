"""The pieces of a film's FFmpeg runs (`film_steps` puts them together, once for every length of film): the
picture's graph (one decode split into a scaled branch per rendition, `media.ladder_for`, made whole first:
deinterlaced, tone-mapped, constant-rate, square pixels; plus the thumbnail's and the storyboard's branches),
the default sound normalized once for every rendition, the other audio tracks and the text subtitles as
outputs of their own, and the clock every output keeps. Running a command: `ffmpeg_run`; what its playlists
say and whether the output is whole: `hls_output`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from videoflix.core import storyboard as storyboards
from videoflix.core.media import AudioStream, MediaInfo, Rung
from videoflix.core.subtitles import MAX_BYTES as SUBTITLE_MAX_BYTES

from .ladders import SEGMENT_SECONDS

AUDIO_KBPS = 128
#: every HLS output's timestamps start here (`-output_ts_offset`), so none is ever negative: FFmpeg would
#: otherwise move each output by its own amount (a rendition by its B-frames' delay, an audio-only one by
#: the AAC priming) and an alternate audio track would lead the picture by ~60 ms (measured)
TS_OFFSET = 10.0
#: what FFmpeg's MPEG-TS muxer adds to the timestamps it is given: twice its `muxdelay` (0.7 s), so the TS
#: renditions start at TS_OFFSET + 1.4 s. An output in another container (the AV1 ladder's fMP4) is offset
#: by as much, so every variant of a film, and the subtitles' X-TIMESTAMP-MAP, keep one clock; joining a
#: long film's segment picture and sound (`film_parts.mux_segment`: copied, timestamps kept) adds it
#: too, so its alternate audio tracks, served as the audio job writes them, start that much later (tested)
MPEGTS_DELAY = 1.4
#: where a film's renditions' timestamps start, made in one pass: TS_OFFSET and the TS muxer's delay
ONE_PASS_CLOCK = TS_OFFSET + MPEGTS_DELAY
#: where they start for a film made in parts: TS_OFFSET, plus MPEG-TS's delay twice (the part's own muxer,
#: then the join of picture and sound, `film_parts.mux_segment`, which keeps the timestamps). A further
#: ladder's parts take the clock of the film's H.264 renditions (`ladder_parts.film_clock`)
PARTS_CLOCK = TS_OFFSET + 2 * MPEGTS_DELAY
THUMBNAIL_HEIGHT = 360


def thumbnail_time(info: MediaInfo) -> float:
    """A second in (past fades from black), or the middle of a shorter video. The thumbnail is the last frame
    at or before this time, and at least the first frame: a container may claim more time than its frames
    last (truncated files, a single frame), and the thumbnail must not depend on that claim."""
    return min(1.0, info.duration / 2) if info.duration else 0.0


def ladder_graph(
    info: MediaInfo,
    rungs: list[Rung],
    thumbnail: bool = True,
    storyboard: storyboards.Layout | None = None,
    constant: str | None = None,
) -> str:
    """The filter graph: the picture split into one scaled branch per rendition ([v0], [v1], ...: by
    its place); with `thumbnail`, one for the thumbnail ([thumb]); with `storyboard`, one for the
    seek-bar previews' sheets ([sheets]): every output from one decode. `constant`: the constant rate of the
    stretch read (`constant_rate`), by default the whole film's."""
    n = len(rungs)
    branches = "".join(f"[s{i}]" for i in range(n)) + "[st]" * thumbnail + "[ss]" * (storyboard is not None)
    graph = [
        f"[0:v]{picture_filters(info, constant)}split={n + int(thumbnail) + int(storyboard is not None)}{branches}"
    ]
    # each rendition by its short side: a portrait picture (a phone's) keeps its full width in the top rung
    size = (lambda r: f"{r.short_side}:-2") if info.portrait else (lambda r: f"-2:{r.short_side}")
    graph += [f"[s{i}]scale={size(r)}:flags=bicubic[v{i}]" for i, r in enumerate(rungs)]
    if thumbnail:
        graph.append(f"[st]select='lte(t,{thumbnail_time(info):.3f})+eq(n,0)',scale=-2:{THUMBNAIL_HEIGHT}[thumb]")
    if storyboard is not None:
        graph.append(storyboard.graph("ss", SHEETS))
    return ";".join(graph)


#: an interlaced source's frames made whole before anything is scaled (bwdif: FFmpeg's best CPU deinterlacer;
#: one frame per frame, so the frame rate stays; only frames flagged interlaced, so a progressive stretch of a
#: mixed broadcast is left alone). Scaling combed frames instead blurs the two fields into ghosts.
DEINTERLACE = "bwdif=mode=send_frame:parity=auto:deint=interlaced"


#: HDR (PQ or HLG, BT.2020) to SDR BT.709 8-bit, which every browser and screen shows: zscale to linear light
#: (100 nits as SDR white), BT.2020 to BT.709 primaries, `mobius` (linear up to half the peak, highlights
#: rolled off; hable darkened an SDR scene's mid-tones by ~30 %), back to BT.709's transfer. The frames then
#: carry BT.709, which the encoder writes into the stream (tested). Left as is, PQ reads washed out and grey.
TONE_MAP = (
    "zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap=tonemap=mobius:param=0.5:desat=0,"
    "zscale=t=bt709:m=bt709:r=tv,format=yuv420p"
)


#: non-square pixels resampled to square ones at the displayed width (after deinterlacing, which needs the
#: stored lines): every output, the JPEGs too, then shows the picture's own aspect
SQUARE_PIXELS = "scale=trunc(iw*sar/2)*2:ih:flags=bicubic,setsar=1"


def deinterlace(info: MediaInfo) -> str:
    """The deinterlacer for this source, or "": DEINTERLACE for one that declares its field order; for one
    found interlaced by its picture alone (`interlacing`), whose frames are not flagged, every frame, with
    the field order found."""
    if info.field_order in ("tff", "bff"):
        return f"bwdif=mode=send_frame:parity={info.field_order}:deint=all"
    return DEINTERLACE if info.interlaced else ""


def constant_rate(info: MediaInfo, start: float | None = 0.0, end: float | None = None, clock: float = 0.0) -> str:
    """A variable-rate source made constant (`fps`: pictures repeated or dropped by their timestamps, so the
    length and the sync with the sound stay), on one grid of 1/rate steps from the film's start, whatever
    stretch of it a run reads: `clock`, the film's time at the input's 0 (a part read from its start);
    `start`, the film's time of the first slot, the first picture repeated back to it (the film's start: its
    picture may start after its sound; a part's start), None for the slot nearest the first picture (a VMAF
    window read from before it); `end` (a part's end): exactly the slots before it, so that the parts' pictures
    follow on one another, none twice (a picture lasting past a part's cut gave one more, a segment that
    took the next part's segment name). Empty for a constant-rate source."""
    if not info.cfr_rate:
        return ""
    rate = info.cfr_rate
    steps = [f"setpts=PTS+{clock:.6f}/TB"] if clock else []
    steps.append(f"fps={rate:g}" + (f":start_time={start:.6f}" if start is not None else ""))
    if end is not None and start is not None:
        steps.append(f"trim=end_frame={round(end * rate) - round(start * rate)}")
    if clock:
        steps.append(f"setpts=PTS-{clock:.6f}/TB")
    return ",".join(steps)


def picture_filters(info: MediaInfo, constant: str | None = None) -> str:
    """What every output of the picture needs first (the split's input), ending in a comma, or nothing: made
    whole (deinterlaced, tone-mapped), constant-rate (`constant`, by default the whole film's:
    `constant_rate`), square pixels, as HLS players and encoders expect."""
    constant = constant_rate(info) if constant is None else constant
    whole = deinterlace(info)
    needed = (
        (whole, bool(whole)), (TONE_MAP, bool(info.hdr)), (constant, bool(constant)),
        (SQUARE_PIXELS, info.anamorphic),
    )  # fmt: skip
    return "".join(f"{step}," for step, wanted in needed if wanted)


#: the filter graph's label of the storyboard's sheets
SHEETS = "sheets"


AUDIO_OPTIONS = ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2", "-ar", "48000"]
THUMBNAIL_OUTPUT = ["-map", "[thumb]", "-update", "1", "-q:v", "3"]  # -update 1: each selected frame overwrites


def sound_copies(info: MediaInfo, filters: Mapping[int, str | None], n: int, label: str) -> str:
    """The filter graph's part for the film's default sound when it needs a filter (its loudness
    normalization, `filters`): filtered once, then one copy for each of `n` renditions ([a0], [a1], ...:
    `label` and its place); nothing when the renditions take the source's track as it is."""
    level = filters.get(info.default_audio)
    if not (info.has_audio and level):
        return ""
    return f";[0:a:{info.default_audio}]{level},asplit={n}" + "".join(f"[{label}{i}]" for i in range(n))


def sound(info: MediaInfo, filters: Mapping[int, str | None], label: str) -> str:
    """What an output maps for the film's default sound: the graph's copy `label` of the normalized sound
    (`sound_copies`), or the source's track as it is when it needs no filter."""
    return f"[{label}]" if filters.get(info.default_audio) else f"0:a:{info.default_audio}"


#: the folder of the alternate audio tracks' playlists (`audio/<n>/`, n: the stream's place among the audio
#: streams), and what stream_workers.audio_tracks names in the master
AUDIO_FOLDER = "audio"


def audio_folder(stream: AudioStream) -> str:
    """The output folder of an alternate audio track (relative to the film's output)."""
    return f"{AUDIO_FOLDER}/{stream.index}"


def alternate_audio_outputs(
    info: MediaInfo, output: Path, filters: Mapping[int, str | None], hls_options: list[str] | None = None
) -> list[str]:
    """Extra outputs of a job's FFmpeg run: the source's other audio tracks (`MediaInfo.alternate_audio`),
    one audio-only HLS output each (`audio/<n>/`, made beforehand: `audio_tracks.make_folders`), stereo AAC as
    the muxed track is, cut every segment length. `filters[n]`: track n's filter (its loudness
    normalization), applied to that output alone; `hls_options`: what else the caller's HLS outputs have
    (a long film's audio job's timestamp offset), so every track keeps the same clock."""
    argv: list[str] = []
    for stream in info.alternate_audio:
        target = output / audio_folder(stream)
        level = filters.get(stream.index)
        argv += [
            "-map", f"0:a:{stream.index}", *(["-af", level] if level else []), *AUDIO_OPTIONS, *(hls_options or []),
            "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "event",
            "-hls_flags", "independent_segments+temp_file",
            "-hls_segment_filename", str(target / "%03d.ts"), str(target / "index.m3u8"),
        ]  # fmt: skip
    return argv


def subtitle_outputs(info: MediaInfo, folder: Path | None) -> list[str]:
    """Extra outputs of a job's FFmpeg run: each text subtitle stream of the source as `<folder>/<n>.vtt`
    (n: its place among the subtitle streams). Converting text subtitles costs nothing next to the video;
    a second FFmpeg run would read the whole source again."""
    if folder is None:
        return []
    argv: list[str] = []
    for stream in info.subtitles:
        if stream.text:
            argv += [
                "-map",
                f"0:s:{stream.index}",
                "-c:s",
                "webvtt",
                "-f",
                "webvtt",
                "-fs",  # FFmpeg stops writing it past the bound (a source can carry a track of any size)
                str(SUBTITLE_MAX_BYTES + 1),
                str(folder / f"{stream.index}.vtt"),
            ]
    return argv
