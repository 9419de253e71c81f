"""Chunked transcoding: one long film cut at fixed times into chunks that separate FFmpeg processes (on any
workers) encode independently, and an assembler that joins their outputs into one HLS output.

Why it joins without a seam:
- Chunks start at multiples of the segment length and keyframes are forced every segment length from each
  chunk's start, so every chunk ends on a segment boundary and the joined playlist is the segments of the
  chunks in order, each 4 s (the film's last one shorter). Numbering continues across chunks
  (`-start_number`).
- Timestamps continue too: a chunk's output is shifted by its start (`-output_ts_offset`). Every output,
  audio included, is also shifted by the same TS_OFFSET, so that no output ever has a negative timestamp:
  FFmpeg would otherwise move such an output (the first chunk, whose B-frames start below 0; the audio, whose
  AAC priming does) by its own amount, and the chunks or the audio would be off by a few frames.
- Audio is encoded once for the whole film (its own job), so chunk boundaries cannot be heard, and muxed into
  every rendition's segments without re-encoding: the served output is laid out like a single pass's (each
  rendition's `index.m3u8` carries picture and sound), because the existing frontend plays a rendition's
  playlist directly, where an audio group named only by the master would leave it silent. The audio job
  cuts its own segments every 4 s from its start, and starts where the picture does (a sound that starts
  later, as in a file cut from a longer recording, is preceded by silence: `aresample=first_pts=0`), so audio
  segment n holds the sound of video segment n (within one AAC frame); muxed segment n takes exactly those
  packets (the film's last one takes the rest), so every audio packet is served once, in order, with its own
  timestamp: no gap, no overlap.
- The chunk and audio jobs write into `parts/` (never served); `mux_ready` copies each segment into the
  served folders once the picture of every rendition and its sound exist (`temp_file` publishes each part
  segment only when whole, and muxed segments appear by rename), and the assembly removes `parts/`.
- Input seeking (`-ss` before `-i`) decodes from the keyframe before the chunk's start and drops frames up to
  it, so each chunk holds exactly the frames of its interval; nothing is lost or doubled at a boundary
  (within a frame for sources with irregular timestamps).

Cutting, the per-chunk and audio commands, muxing and the assembly are plain functions (no Kafka, no
database): `chunk_jobs` runs them for the pipeline,
the tests and the benchmark directly.
"""

from __future__ import annotations

import itertools
import math
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from videoflix.media import MediaInfo, Rung, input_options

from . import hls
from .hls import AUDIO_KBPS, SEGMENT_SECONDS

#: chunk length: a multiple of the segment length
CHUNK_SECONDS = 60
#: every output's timestamps start here (see the module's docstring)
TS_OFFSET = 10.0
#: the jobs' own output, inside the film's output folder: `parts/<rendition>/`, `parts/audio/`
PARTS = "parts"
AUDIO = "audio"


@dataclass(frozen=True)
class Chunk:
    index: int
    start: float
    length: float

    @property
    def first_segment(self) -> int:
        return round(self.start / SEGMENT_SECONDS)

    @property
    def playlist(self) -> str:
        return f"chunk-{self.index:04d}.m3u8"


def cut_film(duration: float, chunk_seconds: int = CHUNK_SECONDS) -> list[Chunk]:
    """The chunks of a film of `duration` seconds, in order."""
    if chunk_seconds % SEGMENT_SECONDS:
        raise ValueError(f"a chunk must be a whole number of {SEGMENT_SECONDS} s segments")
    count = max(1, math.ceil(duration / chunk_seconds - 1e-9))
    return [Chunk(k, float(k * chunk_seconds), min(chunk_seconds, duration - k * chunk_seconds)) for k in range(count)]


def chunk_command(
    ffmpeg: str, source: Path, output: Path, info: MediaInfo, rungs: list[Rung], chunk: Chunk, preset: str
) -> list[str]:
    """One chunk of the film in every rendition, video only: `parts/<rendition>/<chunk playlist>` and its
    segments. The first chunk also makes the thumbnail (taken within the first second)."""
    thumbnail = chunk.index == 0
    argv = [*hls.ffmpeg_head(ffmpeg), *input_options(source, info.container, start=chunk.start, length=chunk.length)]
    argv += ["-filter_complex", hls.ladder_graph(info, rungs, thumbnail)]
    for i, rung in enumerate(rungs):
        argv += ["-map", f"[v{i}]", *hls.rate_options(i, rung)]
    argv += [*hls.video_codec_options(preset), "-an"]
    argv += ["-output_ts_offset", f"{chunk.start + TS_OFFSET:.3f}"]
    argv += [
        "-f", "hls",
        "-hls_time", str(SEGMENT_SECONDS),
        "-hls_playlist_type", "event",  # grows while the chunk is encoded (progressive playback), ended at the end
        "-hls_flags", "independent_segments+temp_file",
        "-start_number", str(chunk.first_segment),
        "-hls_segment_filename", str(output / PARTS / "%v" / "%03d.ts"),
        "-var_stream_map", " ".join(f"v:{i},name:{r.name}" for i, r in enumerate(rungs)),
        str(output / PARTS / "%v" / chunk.playlist),
    ]  # fmt: skip
    if thumbnail:
        argv += [*hls.THUMBNAIL_OUTPUT, str(output / "thumbnail.jpg")]
    return argv


def audio_command(ffmpeg: str, source: Path, output: Path, info: MediaInfo) -> list[str]:
    """The whole film's audio, once: `parts/audio/index.m3u8` and its segments, cut every segment length
    from the film's start (a late start padded with silence, gaps of over 0.1 s filled: `aresample`)."""
    return [
        *hls.ffmpeg_head(ffmpeg),
        *input_options(source, info.container),
        "-map", "0:a:0", "-vn", "-af", "aresample=async=1:first_pts=0", *hls.AUDIO_OPTIONS,
        "-output_ts_offset", f"{TS_OFFSET:.3f}",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "event",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", str(output / PARTS / "%v" / "%03d.ts"),
        "-var_stream_map", f"a:0,name:{AUDIO}",  # (with %v in the paths the muxer makes the folder)
        str(output / PARTS / "%v" / "index.m3u8"),
    ]  # fmt: skip


@dataclass(frozen=True)
class Playlist:
    """What a job's playlist lists so far, read once: its (#EXTINF line, segment name) pairs, and whether it
    has ended. A playlist that does not exist (yet) lists nothing."""

    segments: list[tuple[str, str]]
    ended: bool


def read_playlist(path: Path) -> Playlist:
    text = _read(path)
    lines = text.splitlines()
    segments = [(line, uri) for line, uri in itertools.pairwise(lines) if line.startswith("#EXTINF")]
    return Playlist(segments, "#EXT-X-ENDLIST" in text)


def audio_playlist(output: Path) -> Path:
    """The audio job's playlist (`audio_command`)."""
    return output / PARTS / AUDIO / "index.m3u8"


def sound_seconds(output: Path) -> float | None:
    """How long the film's sound is, on the picture's timeline, once the audio job has ended (None before)."""
    playlist = read_playlist(audio_playlist(output))
    return sum(_seconds(line) for line, _ in playlist.segments) if playlist.ended else None


def _seconds(extinf: str) -> float:
    return float(re.match(r"#EXTINF:([\d.]+)", extinf).group(1))


def media_playlist(entries: list[tuple[str, str]], final: bool) -> str:
    durations = [_seconds(line) for line, _ in entries]
    body = "".join(f"{line}\n{uri}\n" for line, uri in entries)
    kind = "VOD" if final else "EVENT"
    return (
        "#EXTM3U\n#EXT-X-VERSION:6\n"
        f"#EXT-X-TARGETDURATION:{math.ceil(max(durations, default=SEGMENT_SECONDS))}\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXT-X-PLAYLIST-TYPE:{kind}\n#EXT-X-INDEPENDENT-SEGMENTS\n{body}" + ("#EXT-X-ENDLIST\n" if final else "")
    )


def write_master(output: Path, info: MediaInfo, renditions: list[dict], growing: bool) -> None:
    """`master.m3u8`: the renditions (name, width, height, and bandwidth and average in bits per second of
    their segments, sound included); `growing`: start at the beginning (hls.START_AT_BEGINNING)."""
    codecs = "avc1.640028,mp4a.40.2" if info.has_audio else "avc1.640028"
    master = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"] + [hls.START_AT_BEGINNING] * growing
    for r in renditions:
        attributes = f"BANDWIDTH={r['bandwidth']},AVERAGE-BANDWIDTH={r['average']}"
        if r["width"]:
            attributes += f",RESOLUTION={r['width']}x{r['height']}"
        master += [f'#EXT-X-STREAM-INF:{attributes},CODECS="{codecs}"', f"{r['name']}/index.m3u8"]
    hls.write_atomically(output / "master.m3u8", "\n".join(master) + "\n")


def _width(info: MediaInfo, rung: Rung) -> int | None:
    return round(info.width * rung.height / info.height / 2) * 2 if info.width and info.height else None


#: per rendition, per chunk (in the plan's order), the chunk's part playlist
PartPlaylists = dict[str, list[Playlist]]


def part_playlists(output: Path, rungs: list[Rung], chunks: list[Chunk]) -> PartPlaylists:
    """What the chunk jobs have written so far, read once for `mux_ready` and the playlists built after it."""
    return {r.name: [read_playlist(output / PARTS / r.name / c.playlist) for c in chunks] for r in rungs}


def mux_ready(
    ffmpeg: str, output: Path, info: MediaInfo, rungs: list[Rung], chunks: list[Chunk], parts: PartPlaylists
) -> None:
    """Serve every segment whose picture exists in every rendition and whose sound exists, and that is not
    served yet (`mux_segment`). A segment waits while the audio job has not reached it.
    Callers serialize calls for one output (the plan's lock)."""
    playlist = read_playlist(audio_playlist(output)) if info.has_audio else Playlist([], ended=True)
    sound = [uri for _, uri in playlist.segments]
    for i, chunk in enumerate(chunks):
        listed = [parts[r.name][i].segments for r in rungs]
        count = min(len(entries) for entries in listed)
        film_ends = chunk == chunks[-1] and all(parts[r.name][i].ended for r in rungs)
        for k, (_, name) in enumerate(listed[0][:count]):
            if all((output / r.name / name).is_file() for r in rungs):
                continue
            number = chunk.first_segment + k
            if film_ends and k == count - 1:  # the film's last segment: the rest of the sound
                audio = sound[number:] if playlist.ended else None
            elif number < len(sound):
                audio = [sound[number]]
            else:  # not encoded yet, or the sound ended before the picture
                audio = [] if playlist.ended else None
            if audio is None:
                break  # the chunk's later segments wait for their sound too
            mux_segment(ffmpeg, output, rungs, name, audio)


def mux_segment(ffmpeg: str, output: Path, rungs: list[Rung], name: str, audio: list[str]) -> None:
    """Segment `name` of every rendition: its picture from `parts/<rendition>/` and the audio segments
    `audio` (in order), copied without re-encoding into one MPEG-TS each, timestamps kept, each published
    by rename (whole or not at all)."""
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-copyts"]
    for rung in rungs:
        argv += ["-i", str(output / PARTS / rung.name / name)]
    if audio:  # several segments (the film's last) are read as one stream, byte after byte
        argv += ["-i", "concat:" + "|".join(str(output / PARTS / AUDIO / a) for a in audio)]
    token = uuid.uuid4().hex[:12]
    partials = []
    for i, rung in enumerate(rungs):
        (output / rung.name).mkdir(exist_ok=True)
        partials.append(output / rung.name / f"{name}.{token}.new")
        sound = ["-map", f"{len(rungs)}:a:0"] if audio else []
        argv += ["-map", f"{i}:v:0", *sound, "-c", "copy", "-f", "mpegts", str(partials[-1])]
    try:
        result = subprocess.run(  # noqa: S603 - our own ffmpeg, paths we created
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120
        )
        stderr, failed = result.stderr, result.returncode != 0
    except subprocess.TimeoutExpired:
        stderr, failed = "FFmpeg did not end within 120 s", True
    if failed:
        for partial in partials:
            partial.unlink(missing_ok=True)
        if storage := hls.storage_error(stderr):
            raise storage
        said = hls.summarize(stderr)
        raise hls.TranscodeError(f"The film's parts could not be joined at segment {name}: {said}")
    for partial, rung in zip(partials, rungs, strict=True):
        partial.replace(output / rung.name / name)


def publish_progress(
    ffmpeg: str, output: Path, info: MediaInfo, rungs: list[Rung], chunks: list[Chunk], done: set[int]
) -> bool:
    """Progressive playback of a chunked film: serve what can be (`mux_ready`), then write each rendition's
    `index.m3u8` as an EVENT playlist listing the served segments of the finished chunks from the first on,
    then those the next chunk (being encoded) has so far; the master once there is something to play. A
    playlist only ever grows (a chunk encoded again after a failure starts its own playlist over: what was
    served stays served). Callers serialize calls for one output (the plan's lock).
    Returns whether the film can be played: every rendition has a first segment, with its sound."""
    parts = part_playlists(output, rungs, chunks)
    mux_ready(ffmpeg, output, info, rungs, chunks, parts)
    playable = True
    for rung in rungs:
        folder = output / rung.name
        entries: list[tuple[str, str]] = []
        for chunk, part in zip(chunks, parts[rung.name], strict=True):
            served = served_prefix(folder, part.segments)
            entries += served
            if chunk.index not in done or len(served) < len(part.segments):
                break  # a later chunk, finished or not, waits for this one
        index = folder / "index.m3u8"
        if len(entries) > len(read_playlist(index).segments):
            hls.write_atomically(index, media_playlist(entries, final=False))
        playable = playable and index.exists()
    if playable and not (output / "master.m3u8").exists():
        sound = AUDIO_KBPS * 1000 if info.has_audio else 0
        nominal = [
            {"name": r.name, "width": _width(info, r), "height": r.height, "average": r.video_kbps * 1000 + sound,
             "bandwidth": int(r.video_kbps * 1070) + sound}
            for r in rungs
        ]  # fmt: skip
        write_master(output, info, nominal, growing=True)
    return playable


def served_prefix(folder: Path, entries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The entries, from the first on, whose segment is served in `folder`."""
    return list(itertools.takewhile(lambda entry: (folder / entry[1]).is_file(), entries))


def assemble(ffmpeg: str, output: Path, info: MediaInfo, rungs: list[Rung], chunks: list[Chunk]) -> list[dict]:
    """Serve the segments not served yet, write each rendition's VOD `index.m3u8` and `master.m3u8` with the
    measured bandwidths, and remove `parts/`. Returns the renditions as the master lists them. Every chunk and
    the audio must be complete: a missing or unfinished part raises ValueError.
    Idempotent: run again on an assembled output (a redelivered job), it only reads the master back."""
    if assembled(output, rungs):
        shutil.rmtree(output / PARTS, ignore_errors=True)  # a worker that died right after the playlists
        return hls.master_renditions(output, rungs)
    parts = part_playlists(output, rungs, chunks)
    for rung in rungs:
        for chunk, part in zip(chunks, parts[rung.name], strict=True):
            if not part.ended:
                raise ValueError(f"chunk {chunk.index} of {rung.name} is unfinished")
    if info.has_audio and not read_playlist(audio_playlist(output)).ended:
        raise ValueError("the audio is unfinished")
    mux_ready(ffmpeg, output, info, rungs, chunks, parts)
    renditions, playlists = [], {}
    for rung in rungs:
        folder = output / rung.name
        entries = [entry for part in parts[rung.name] for entry in part.segments]
        if missing := [uri for _, uri in entries if not (folder / uri).is_file()]:
            raise ValueError(f"segments {', '.join(missing[:3])} of {rung.name} were not served")
        durations = [_seconds(line) for line, _ in entries]
        sizes = [(folder / uri).stat().st_size for _, uri in entries]
        peak = max(8 * size / max(d, 0.1) for size, d in zip(sizes, durations, strict=True))
        average = 8 * sum(sizes) / max(sum(durations), 0.1)
        renditions.append(
            {"name": rung.name, "width": _width(info, rung), "height": rung.height, "bandwidth": int(peak),
             "average": int(average)}
        )  # fmt: skip
        playlists[rung.name] = media_playlist(entries, final=True)
    write_master(output, info, renditions, growing=False)
    for rung in rungs:  # last: the rendition playlists are what marks the output assembled
        hls.write_atomically(output / rung.name / "index.m3u8", playlists[rung.name])
    shutil.rmtree(output / PARTS, ignore_errors=True)
    for partial in output.glob("*/*.new"):  # left by a worker killed while it served a segment
        partial.unlink(missing_ok=True)
    return [{k: r[k] for k in ("name", "width", "height", "bandwidth")} for r in renditions]


def assembled(output: Path, rungs: list[Rung]) -> bool:
    return all("#EXT-X-PLAYLIST-TYPE:VOD" in _read(output / r.name / "index.m3u8") for r in rungs)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
