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
- Audio is encoded once for the whole film, as its own HLS rendition (an EXT-X-MEDIA audio group that every
  video rendition names), so chunk boundaries cannot be heard. Video chunks carry no audio.
- Input seeking (`-ss` before `-i`) decodes from the keyframe before the chunk's start and drops frames up to
  it, so each chunk holds exactly the frames of its interval; nothing is lost or doubled at a boundary
  (within a frame for sources with irregular timestamps).

The planner, the per-chunk jobs and the assembler are plain functions: the pipeline runs them from its agents,
the tests and the benchmark directly.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass
from pathlib import Path

from videoflix.media import AUDIO_RENDITION, MediaInfo, Rung

from . import hls
from .hls import AUDIO_KBPS, SEGMENT_SECONDS

#: chunk length: a multiple of the segment length
CHUNK_SECONDS = 60
#: every output's timestamps start here (see the module's docstring)
TS_OFFSET = 10.0
AUDIO = AUDIO_RENDITION


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


def plan_chunks(duration: float, chunk_seconds: int = CHUNK_SECONDS) -> list[Chunk]:
    """The chunks of a film of `duration` seconds, in order."""
    if chunk_seconds % SEGMENT_SECONDS:
        raise ValueError(f"a chunk must be a whole number of {SEGMENT_SECONDS} s segments")
    count = max(1, math.ceil(duration / chunk_seconds - 1e-9))
    return [Chunk(k, float(k * chunk_seconds), min(chunk_seconds, duration - k * chunk_seconds)) for k in range(count)]


def chunk_command(
    ffmpeg: str, source: Path, output: Path, info: MediaInfo, rungs: list[Rung], chunk: Chunk, preset: str
) -> list[str]:
    """One chunk of the film in every rendition, video only: `<rendition>/<chunk playlist>` and its segments.
    The first chunk also makes the thumbnail (taken within the first second)."""
    thumbnail = chunk.index == 0
    argv = [*hls.ffmpeg_head(ffmpeg), "-ss", f"{chunk.start:.3f}", "-t", f"{chunk.length:.3f}", "-i", str(source)]
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
        "-hls_segment_filename", str(output / "%v" / "%03d.ts"),
        "-var_stream_map", " ".join(f"v:{i},name:{r.name}" for i, r in enumerate(rungs)),
        str(output / "%v" / chunk.playlist),
    ]  # fmt: skip
    if thumbnail:
        argv += [*hls.THUMBNAIL_OUTPUT, str(output / "thumbnail.jpg")]
    return argv


def audio_command(ffmpeg: str, source: Path, output: Path) -> list[str]:
    """The whole film's audio, once, as the audio rendition: `audio/index.m3u8` and its segments."""
    return [
        *hls.ffmpeg_head(ffmpeg),
        "-i", str(source), "-map", "0:a:0", "-vn", *hls.AUDIO_OPTIONS,
        "-output_ts_offset", f"{TS_OFFSET:.3f}",
        "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_playlist_type", "event",
        "-hls_flags", "independent_segments+temp_file",
        "-hls_segment_filename", str(output / "%v" / "%03d.ts"),
        "-var_stream_map", f"a:0,name:{AUDIO}",  # (with %v in the paths the muxer makes the folder)
        str(output / "%v" / "index.m3u8"),
    ]  # fmt: skip


def listed_segments(playlist: Path) -> list[tuple[str, str]]:
    """The (#EXTINF line, segment name) pairs a chunk's playlist lists so far; none while it does not exist."""
    lines = _read(playlist).splitlines()
    return [(line, uri) for line, uri in itertools.pairwise(lines) if line.startswith("#EXTINF")]


def ended(playlist: Path) -> bool:
    return "#EXT-X-ENDLIST" in _read(playlist)


def media_playlist(entries: list[tuple[str, str]], final: bool) -> str:
    durations = [float(re.match(r"#EXTINF:([\d.]+)", line).group(1)) for line, _ in entries]
    body = "".join(f"{line}\n{uri}\n" for line, uri in entries)
    kind = "VOD" if final else "EVENT"
    return (
        "#EXTM3U\n#EXT-X-VERSION:6\n"
        f"#EXT-X-TARGETDURATION:{math.ceil(max(durations, default=SEGMENT_SECONDS))}\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXT-X-PLAYLIST-TYPE:{kind}\n#EXT-X-INDEPENDENT-SEGMENTS\n{body}" + ("#EXT-X-ENDLIST\n" if final else "")
    )


def write_master(output: Path, info: MediaInfo, renditions: list[dict], growing: bool) -> None:
    """`master.m3u8`: the renditions (name, width, height, bandwidth, average) and, when the film has sound,
    the audio group every one of them names; `growing`: start at the beginning (hls.START_AT_BEGINNING)."""
    audio = info.has_audio
    audio_bits = AUDIO_KBPS * 1000 if audio else 0
    master = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"] + [hls.START_AT_BEGINNING] * growing
    if audio:
        master.append(
            f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="{AUDIO}",NAME="audio",DEFAULT=YES,AUTOSELECT=YES,'
            f'URI="{AUDIO}/index.m3u8"'
        )
    for r in renditions:
        codecs = "avc1.640028,mp4a.40.2" if audio else "avc1.640028"
        attributes = f"BANDWIDTH={r['bandwidth'] + audio_bits},AVERAGE-BANDWIDTH={r['average'] + audio_bits}"
        if r["width"]:
            attributes += f",RESOLUTION={r['width']}x{r['height']}"
        attributes += f',CODECS="{codecs}"' + (f',AUDIO="{AUDIO}"' if audio else "")
        master += [f"#EXT-X-STREAM-INF:{attributes}", f"{r['name']}/index.m3u8"]
    hls.write_atomically(output / "master.m3u8", "\n".join(master) + "\n")


def _width(info: MediaInfo, rung: Rung) -> int | None:
    return round(info.width * rung.height / info.height / 2) * 2 if info.width and info.height else None


def publish_progress(output: Path, info: MediaInfo, rungs: list[Rung], chunks: list[Chunk], done: set[int]) -> bool:
    """Progressive playback of a chunked film: each rendition's `index.m3u8` as an EVENT playlist listing the
    segments of the finished chunks from the first on, then those the next chunk (being encoded) has
    published so far; the master once there is something to play. A playlist only ever grows (a chunk
    encoded again after a failure starts its own playlist over: what was listed stays listed, its segments
    are replaced whole by identical ones). Callers serialize calls for one output (the plan's lock).
    Returns whether the film can be played: every rendition, and the audio, has a first segment."""
    playable = True
    for rung in rungs:
        entries: list[tuple[str, str]] = []
        for chunk in chunks:
            entries += listed_segments(output / rung.name / chunk.playlist)
            if chunk.index not in done:
                break  # a later chunk, finished or not, waits for this one
        index = output / rung.name / "index.m3u8"
        if len(entries) > len(listed_segments(index)):
            hls.write_atomically(index, media_playlist(entries, final=False))
        playable = playable and index.exists()
    if info.has_audio and not listed_segments(output / AUDIO / "index.m3u8"):
        playable = False
    if playable and not (output / "master.m3u8").exists():
        nominal = [
            {"name": r.name, "width": _width(info, r), "height": r.height, "average": r.video_kbps * 1000,
             "bandwidth": int(r.video_kbps * 1070)}
            for r in rungs
        ]  # fmt: skip
        write_master(output, info, nominal, growing=True)
    return playable


def assemble(output: Path, info: MediaInfo, rungs: list[Rung], chunks: list[Chunk]) -> list[dict]:
    """Join the chunks' playlists into each rendition's VOD `index.m3u8`, end the audio's playlist, and write
    `master.m3u8` with the measured bandwidths. Returns the renditions as the master lists them. Every chunk
    must be complete: a missing or unfinished chunk playlist raises FileNotFoundError or ValueError.
    Idempotent: run again on an assembled output (a redelivered job), it only reads the master back."""
    if assembled(output, rungs):
        return hls.master_renditions(output, rungs)
    renditions = []
    for rung in rungs:
        folder = output / rung.name
        entries: list[tuple[str, str]] = []
        for chunk in chunks:
            if not ended(folder / chunk.playlist):
                raise ValueError(f"chunk {chunk.index} of {rung.name} is unfinished")
            entries += listed_segments(folder / chunk.playlist)
        durations = [float(re.match(r"#EXTINF:([\d.]+)", line).group(1)) for line, _ in entries]
        sizes = [(folder / uri).stat().st_size for _, uri in entries]
        peak = max(8 * size / max(d, 0.1) for size, d in zip(sizes, durations, strict=True))
        average = 8 * sum(sizes) / max(sum(durations), 0.1)
        renditions.append(
            {"name": rung.name, "width": _width(info, rung), "height": rung.height, "bandwidth": int(peak),
             "average": int(average)}
        )  # fmt: skip
    if info.has_audio:
        audio = output / AUDIO / "index.m3u8"
        if not ended(audio):
            raise ValueError("the audio is unfinished")
        hls.write_atomically(audio, audio.read_text().replace("#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD"))
    write_master(output, info, renditions, growing=False)
    for rung in rungs:  # last: the rendition playlists are what marks the output assembled
        hls.write_atomically(
            output / rung.name / "index.m3u8",
            media_playlist([e for c in chunks for e in listed_segments(output / rung.name / c.playlist)], final=True),
        )
    for rung in rungs:
        for chunk in chunks:
            (output / rung.name / chunk.playlist).unlink(missing_ok=True)
    return [{k: r[k] for k in ("name", "width", "height", "bandwidth")} for r in renditions]


def assembled(output: Path, rungs: list[Rung]) -> bool:
    return all("#EXT-X-PLAYLIST-TYPE:VOD" in _read(output / r.name / "index.m3u8") for r in rungs)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
