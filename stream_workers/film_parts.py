"""Transcoding in parts: one long film cut at fixed times into parts that separate FFmpeg processes (on any
workers) encode independently, and an assembler that joins their outputs into one HLS output.

Why it joins without a seam:
- Parts start at multiples of the segment length and keyframes are forced every segment length from each
  part's start, so every part ends on a segment boundary and the joined playlist is the segments of the
  parts in order, each 4 s (the film's last one shorter). Numbering continues across parts
  (`-start_number`).
- Timestamps continue too: a part's output is shifted by its start (`-output_ts_offset`). Every output,
  audio included, is also shifted by the same TS_OFFSET, so that no output ever has a negative timestamp:
  FFmpeg would otherwise move such an output (the first part, whose B-frames start below 0; the audio, whose
  AAC priming does) by its own amount, and the parts or the audio would be off by a few frames.
- Audio is encoded once for the whole film (its own job), so part boundaries cannot be heard, and muxed into
  every rendition's segments without re-encoding: the served output is laid out like a single pass's (each
  rendition's `index.m3u8` carries picture and sound), because the existing frontend plays a rendition's
  playlist directly, where an audio group named only by the master would leave it silent. The audio job
  cuts its own segments every 4 s from its start, and starts where the picture does (a sound that starts
  later, as in a file cut from a longer recording, is preceded by silence: `aresample=first_pts=0`), so audio
  segment n holds the sound of video segment n (within one AAC frame); muxed segment n takes exactly those
  packets (the film's last one takes the rest), so every audio packet is served once, in order, with its own
  timestamp: no gap, no overlap.
- The part and audio jobs write into `parts/` (never served); the worker encoding a part serves each of
  its segments once the picture of every rendition and its sound exist (`serve_part`: `temp_file`
  publishes each part segment only when whole, and muxed segments appear by rename), and records them; the
  film's playlists are written from those records alone (`progress_playlists`, `final_playlists`), so no
  worker needs another's files but the audio segments, which the store shares.
- Input seeking (`-ss` before `-i`) decodes from the keyframe before the part's start and drops frames up to
  it, so each part holds exactly the frames of its interval; nothing is lost or doubled at a boundary
  (within a frame for sources with irregular timestamps).

Cutting, serving and the playlists are plain functions (no Kafka, no database, no store); the part's and the
sound job's commands are the film's steps over a part (`film_steps.FilmSteps.picture_part`, `sound_job`):
`part_jobs` runs them for the pipeline, the tests and the benchmark directly (`assemble_folder`).
"""

from __future__ import annotations

import math
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from videoflix.core.media import MediaInfo, Rung

from . import ffmpeg_run, hls_output
from .hls import SEGMENT_SECONDS
from .part_playlists import AUDIO, AUDIO_PLAYLIST, PARTS, Playlist, Served, final_playlists, read_playlist

#: part length: a multiple of the segment length
PART_SECONDS = 60


@dataclass(frozen=True)
class Part:
    index: int
    start: float
    length: float

    @property
    def first_segment(self) -> int:
        return round(self.start / SEGMENT_SECONDS)

    @property
    def playlist(self) -> str:
        return f"part-{self.index:04d}.m3u8"


#: a film's tail shorter than this joins the last part instead of making one of its own (a container's
#: duration often runs a few milliseconds past the picture, e.g. MKV with its last audio frame: a part of
#: 0.02 s holds no frame, its segment is empty, and the film could not be joined)
SHORTEST_TAIL = SEGMENT_SECONDS / 2


def cut_film(duration: float, part_seconds: int = PART_SECONDS) -> list[Part]:
    """The parts of a film of `duration` seconds, in order; the last takes the rest of the film."""
    if part_seconds % SEGMENT_SECONDS:
        raise ValueError(f"a part must be a whole number of {SEGMENT_SECONDS} s segments")
    count = max(1, math.ceil((duration - SHORTEST_TAIL) / part_seconds))
    return [
        Part(k, float(k * part_seconds), part_seconds if k < count - 1 else duration - k * part_seconds)
        for k in range(count)
    ]


def last_part(part: Part, info: MediaInfo) -> bool:
    """Whether `part` is the film's last (it takes the rest of the film)."""
    return info.duration is not None and part.start + part.length >= info.duration - 1e-3


def reads_to(part: Part, info: MediaInfo) -> float:
    """How many seconds of the source a part's decode reads: its own length; the film's last part reads on
    to the decode cap (its stated end and a little slack, `MediaLimits.decode_cap`), so that a file holding
    more than its header says shows it there and fails (`media.reached_cap`) instead of being cut quietly."""
    if last_part(part, info) and info.decode_seconds is not None:
        return max(part.length, info.decode_seconds - part.start)
    return part.length


#: a late start of the sound padded with silence, gaps of over 0.1 s filled, so that its timestamps run from
#: the film's start as the picture's do
FILL_GAPS = "aresample=async=1:first_pts=0"


def serve_part(
    ffmpeg: str,
    folder: Path,
    rungs: list[Rung],
    part: Part,
    last: bool,
    sound: Playlist | None,
    fetch: Callable[[str], Path],
    deliver: Callable[[str], None],
    served: Served,
) -> tuple[Served, bool]:
    """Serve what can be of one part, as the worker that encodes it (its part playlists are in `folder`):
    each segment whose picture exists in every rendition and whose sound exists, and that is not served yet,
    in order (`mux_segment`). A segment waits while the audio job has not reached it. `sound`: the audio
    job's playlist so far (None: the film has no sound); `last`: the film's last part, whose last segment
    takes the rest of the sound; `fetch(name)`: the local file of the output's `name` (an audio segment);
    `deliver(name)`: a muxed segment `folder/name` is whole, to the store with it. `served`: what earlier
    calls (or an earlier attempt at the part) served.
    Returns what is served now, and whether the whole part is: its encoding ended, every segment served."""
    playlists = [read_playlist(folder / PARTS / r.name / part.playlist) for r in rungs]
    count = min(len(playlist.segments) for playlist in playlists)
    ended = all(playlist.ended for playlist in playlists)
    served = {r.name: list(served.get(r.name, [])) for r in rungs}
    sounds = [uri for _, uri in sound.segments] if sound else []
    for k in range(min(len(entries) for entries in served.values()), count):
        number = part.first_segment + k
        if sound is None:
            audio = []
        elif last and ended and k == count - 1:  # the film's last segment: the rest of the sound
            audio = sounds[number:] if sound.ended else None
        elif number < len(sounds):
            audio = [sounds[number]]
        else:  # not encoded yet, or the sound ended before the picture
            audio = [] if sound.ended else None
        if audio is None:
            break  # the part's later segments wait for their sound too
        name = playlists[0].segments[k][1]
        mux_segment(ffmpeg, folder, rungs, name, [fetch(f"{PARTS}/{AUDIO}/{a}") for a in audio])
        for rung, playlist in zip(rungs, playlists, strict=True):
            size = (folder / rung.name / name).stat().st_size
            deliver(f"{rung.name}/{name}")
            served[rung.name].append([playlist.segments[k][0], name, size])
    return served, ended and all(len(entries) >= count for entries in served.values())


def mux_segment(ffmpeg: str, folder: Path, rungs: list[Rung], name: str, audio: list[Path]) -> None:
    """Segment `name` of every rendition: its picture from `parts/<rendition>/` and the audio segments
    `audio` (in order), copied without re-encoding into one MPEG-TS each, timestamps kept, each published
    by rename (whole or not at all)."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-copyts"]
    token = uuid.uuid4().hex[:12]
    # every input is a file of ours read as MPEG-TS and nothing else: its demuxer named, the file protocol alone
    # (no `concat:`, no other protocol a file's name could open)
    reading = ["-protocol_whitelist", "file", "-f", "mpegts", "-i"]
    for rung in rungs:
        argv += [*reading, f"file:{folder / PARTS / rung.name / name}"]
    joined = folder / PARTS / f"{name}.{token}.audio"
    if audio:  # several segments (the film's last) are one stream, byte after byte (TS packets concatenate)
        with joined.open("wb") as out:
            for segment in audio:
                with segment.open("rb") as piece:
                    shutil.copyfileobj(piece, out)
        argv += [*reading, f"file:{joined}"]
    partials = []
    for i, rung in enumerate(rungs):
        (folder / rung.name).mkdir(exist_ok=True)
        partials.append(folder / rung.name / f"{name}.{token}.new")
        sound = ["-map", f"{len(rungs)}:a:0"] if audio else []
        argv += ["-map", f"{i}:v:0", *sound, "-c", "copy", "-f", "mpegts", str(partials[-1])]
    try:
        failed = ffmpeg_run.run_copy(argv, 120)
    finally:
        joined.unlink(missing_ok=True)
    if failed is not None:
        for partial in partials:
            partial.unlink(missing_ok=True)
        raise ffmpeg_run.copy_failure(failed, f"parts at segment {name}")
    for partial, rung in zip(partials, rungs, strict=True):
        partial.replace(folder / rung.name / name)


def assemble_folder(ffmpeg: str, output: Path, info: MediaInfo, rungs: list[Rung], parts: list[Part]) -> list[dict]:
    """Serve and assemble a film whose every job wrote into the one folder `output` (the benchmark's and the
    tests' way; the pipeline does the same steps through `part_jobs`, each on its part's worker): every
    part served, the final playlists written, `parts/` removed. The renditions as the master lists them."""
    sound = read_playlist(output / AUDIO_PLAYLIST) if info.has_audio else None
    served_parts = []
    for part in parts:
        served, whole = serve_part(
            ffmpeg, output, rungs, part, part == parts[-1], sound, output.joinpath, lambda name: None, {}
        )
        if not whole:
            raise ValueError(f"part {part.index} is unfinished or its sound is")
        served_parts.append(served)
    playlists, renditions = final_playlists(info, rungs, served_parts)
    for name, text in playlists.items():
        hls_output.write_atomically(output / name, text)
    shutil.rmtree(output / PARTS, ignore_errors=True)
    return renditions
