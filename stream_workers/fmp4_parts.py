"""A further ladder (AV1: fMP4) of a film made in parts: each part's FFmpeg run, its picture joined with the
film's sound, and the ladder's playlists from the parts' records. Plain functions (no Kafka, no database, no
store): `ladder_parts` runs them on every worker, the tests and the benchmark directly (`assemble_folder`).

Why the parts join without a seam, as the H.264 ones do (`film_parts`):
- A part is the same time range of the source as the H.264 part of the same number, read the same way
  (input seeking, `reads_to`), scaled by the same graph (`hls.ladder_graph`), with keyframes forced every
  segment length from its start: its segments are the H.264 segments' instants, numbered alike.
- Its timestamps are the H.264 renditions' (`PARTS_CLOCK`): one clock for every variant of the film, its
  subtitles and its alternate tracks.
- Its sound is not encoded again: it is the audio packets of the film's H.264 segments of the part (every
  packet of the film's one audio encode, each served once, in order), copied. Encoding the sound per part
  would put an AAC priming and a frame boundary at every join.
- The picture is encoded first, alone, into a NUT file (FFmpeg's own container: timestamps kept exactly),
  then joined with the sound into the part's fMP4 segments (a copy, `-copyts`), after an init segment of
  the part's own (`init-<part>.mp4`); the ladder's playlist names each part's init before its segments
  (`#EXT-X-MAP` per part), which hls.js and FFmpeg's HLS client follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import re
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

from videoflix.core.media import MediaInfo, Rung

from . import ffmpeg_run, hls, hls_output
from .film_parts import Part
from .film_steps import FilmSteps, picture_file
from .ladders import Ladder
from .part_playlists import PARTS


def init_name(part: Part) -> str:
    """The part's init segment, in each rendition's folder."""
    return f"init-{part.index:04d}.mp4"


def make_folders(folder: Path, ladder: Ladder, rungs: list[Rung]) -> None:
    """The folders a part's runs write into (FFmpeg makes none)."""
    for rung in rungs:
        (folder / PARTS / ladder.folder / rung.name).mkdir(parents=True, exist_ok=True)
        (folder / ladder.folder / rung.name).mkdir(parents=True, exist_ok=True)


def sound_segments(h264_playlist: str, part: Part, last: bool) -> list[str]:
    """The H.264 segments (of one rendition's VOD playlist) whose sound is the part's: those of its time
    range, and for the film's last part every one to the end."""
    segments = hls_output.playlist_text_segments(h264_playlist)
    first = part.first_segment
    count = len(segments) - first if last else math.ceil(part.length / hls.SEGMENT_SECONDS - 1e-6)
    return segments[first : first + count]


def join_command(ffmpeg: str, folder: Path, ladder: Ladder, rung: Rung, part: Part, sound: Path | None) -> list[str]:
    """The part's picture in `rung` (`picture_file`) and its `sound` (the film's H.264 segments of the
    part, one MPEG-TS stream: `sound_segments`) copied into the part's fMP4 segments, numbered from the
    part's first, after its init segment; the part's playlist and master (`part_playlists`) beside them,
    read, then removed. Every input is a file of ours, read by the demuxer named, the file protocol alone."""
    reading = ["-protocol_whitelist", "file"]
    target = folder / ladder.folder / rung.name
    argv = [ffmpeg, "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-copyts"]
    argv += [*reading, "-f", "nut", "-i", f"file:{folder / picture_file(ladder, rung, part)}"]
    if sound is not None:
        argv += [*reading, "-f", "mpegts", "-i", f"file:{sound}", "-map", "0:v", "-map", "1:a"]
    argv += ["-c", "copy", *(["-bsf:a", "aac_adtstoasc"] if sound is not None else [])]
    argv += ["-tag:v", ladder.tag] if ladder.tag else []
    playlist, master = part_playlists(part)
    return [
        *argv,
        "-f", "hls", "-hls_time", str(hls.SEGMENT_SECONDS), "-hls_playlist_type", "vod",
        "-hls_segment_type", "fmp4", "-hls_fmp4_init_filename", init_name(part),
        # the fragments in their own decode times (see FilmSteps._renditions)
        "-hls_segment_options", "movflags=+frag_discont",
        "-hls_flags", "independent_segments+temp_file", "-start_number", str(part.first_segment),
        "-master_pl_name", master, "-hls_segment_filename", str(target / "%03d.m4s"), str(target / playlist),
    ]  # fmt: skip


def part_playlists(part: Part) -> tuple[str, str]:
    """The names of a joined part's own playlist and master (in the rendition's folder; not served)."""
    return f"part-{part.index:04d}.m3u8", f"part-{part.index:04d}-master.m3u8"


#: per rendition, a part's segments: [EXTINF line, segment name, size in bytes, its init segment]; and under
#: VARIANT, per rendition, what the master says of it (its CODECS and RESOLUTION, as FFmpeg wrote them)
Served = dict[str, list[list] | dict]
VARIANT = "variant"


def join_part(
    ffmpeg: str,
    folder: Path,
    ladder: Ladder,
    rungs: list[Rung],
    part: Part,
    last: bool,
    h264: Callable[[str], Path],
    has_audio: bool,
) -> Served:
    """Join every rendition of an encoded part with its sound (`join_command`): `h264(name)`, the local file
    of the film's `name` (its lowest H.264 rendition's playlist and segments, whose sound the part takes).
    What the part made, as its plan row records it; the part's pictures and playlists are gone after."""
    sound = None
    if has_audio:
        lowest = rungs[0].name
        names = sound_segments(h264(f"{lowest}/index.m3u8").read_text(), part, last)
        sound = folder / PARTS / ladder.folder / f"part-{part.index:04d}.sound.ts"
        with sound.open("wb") as out:  # TS packets concatenate: one stream, every packet once
            for name in names:
                with h264(f"{lowest}/{name}").open("rb") as segment:
                    shutil.copyfileobj(segment, out)
    served: Served = {VARIANT: {}}
    try:
        for rung in rungs:
            failed = ffmpeg_run.run_copy(join_command(ffmpeg, folder, ladder, rung, part, sound), 300)
            if failed is not None:
                raise ffmpeg_run.copy_failure(failed, f"part {part.index}")
            target = folder / ladder.folder / rung.name
            playlist, master = (target / name for name in part_playlists(part))
            entries = re.findall(r"^(#EXTINF:[^\n]*)\n(\S+)$", playlist.read_text(), re.MULTILINE)
            served[rung.name] = [
                [line, name, (target / name).stat().st_size, init_name(part)] for line, name in entries
            ]
            stream = re.search(r"^#EXT-X-STREAM-INF:(.*)$", master.read_text(), re.MULTILINE)
            attributes = dict(re.findall(r'([A-Z-]+)=("[^"]*"|[^,]*)', stream.group(1))) if stream else {}
            served[VARIANT][rung.name] = {
                k: attributes[k].strip('"') for k in ("CODECS", "RESOLUTION") if k in attributes
            }
            playlist.unlink()
            master.unlink()
            (folder / picture_file(ladder, rung, part)).unlink(missing_ok=True)
    finally:
        if sound is not None:
            sound.unlink(missing_ok=True)
    return served


def files_of(served: Served, rung: Rung) -> list[str]:
    """The files a part made in `rung`, relative to the rendition's folder: its init, then its segments."""
    entries = served.get(rung.name, [])
    return [*dict.fromkeys(entry[3] for entry in entries), *(entry[1] for entry in entries)]


def _seconds(extinf: str) -> float:
    return float(re.match(r"#EXTINF:([\d.]+)", extinf).group(1))


def media_playlist(entries: Sequence[list]) -> str:
    """A rendition's VOD playlist of every part's `entries` (`Served`), each part's init named before its
    first segment."""
    body, init = [], None
    for line, name, _, part_init in entries:
        if part_init != init:
            body.append(f'#EXT-X-MAP:URI="{part_init}"')
            init = part_init
        body += [line, name]
    longest = math.ceil(max((_seconds(entry[0]) for entry in entries), default=hls.SEGMENT_SECONDS))
    return (
        f"#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:{longest}\n#EXT-X-MEDIA-SEQUENCE:0\n"
        "#EXT-X-PLAYLIST-TYPE:VOD\n#EXT-X-INDEPENDENT-SEGMENTS\n" + "\n".join(body) + "\n#EXT-X-ENDLIST\n"
    )


def ladder_playlists(ladder: Ladder, rungs: list[Rung], parts: list[Served]) -> dict[str, str]:
    """The ladder's VOD playlists and its own master (`<ladder>/master.m3u8`: the variants with their peak and
    average bandwidth measured on the segments, the size and codecs FFmpeg wrote), from every part's record
    in order; merged into the film's master by the verdict (`ladder_verdict.choose_listed`). ValueError when a
    rendition has nothing."""
    playlists, master = {}, ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for rung in rungs:
        entries = list(itertools.chain.from_iterable(part.get(rung.name, []) for part in parts))
        if not entries:
            raise ValueError(f"no segment of {ladder.name} {rung.name} was made")
        durations = [_seconds(entry[0]) for entry in entries]
        peak = max(8 * entry[2] / max(d, 0.1) for entry, d in zip(entries, durations, strict=True))
        average = 8 * sum(entry[2] for entry in entries) / max(sum(durations), 0.1)
        variant = next((part[VARIANT][rung.name] for part in parts if rung.name in part.get(VARIANT, {})), {})
        attributes = f"BANDWIDTH={int(peak)},AVERAGE-BANDWIDTH={int(average)}"
        if "RESOLUTION" in variant:
            attributes += f",RESOLUTION={variant['RESOLUTION']}"
        if "CODECS" in variant:
            attributes += f',CODECS="{variant["CODECS"]}"'
        master += [f"#EXT-X-STREAM-INF:{attributes}", f"{rung.name}/index.m3u8"]
        playlists[f"{ladder.folder}/{rung.name}/index.m3u8"] = media_playlist(entries)
    return {f"{ladder.folder}/master.m3u8": "\n".join(master) + "\n", **playlists}


def assemble_folder(
    ffmpeg: str,
    source: Path,
    output: Path,
    info: MediaInfo,
    ladder: Ladder,
    rungs: list[Rung],
    parts: list[Part],
    clock: float = hls.PARTS_CLOCK,
) -> None:
    """Make `ladder` of a film whose H.264 renditions are in `output` (made in parts, or in one pass: its
    `clock`, `hls.ONE_PASS_CLOCK`), part after part, into the same folder, and write its playlists (the tests'
    and the benchmark's way; the pipeline runs the same steps through `ladder_parts`, each part on its worker)."""
    make_folders(output, ladder, rungs)
    served = []
    for part in parts:
        argv = FilmSteps(info, rungs, ladder, clock=clock).picture_part(ffmpeg, source, output, part)
        asyncio.run(ffmpeg_run.run_ffmpeg(argv))
        served.append(join_part(ffmpeg, output, ladder, rungs, part, part == parts[-1], output.joinpath,
                                info.has_audio))  # fmt: skip
    for name, text in ladder_playlists(ladder, rungs, served).items():
        hls_output.write_atomically(output / name, text)
    shutil.rmtree(output / PARTS / ladder.folder, ignore_errors=True)
    with contextlib.suppress(OSError):  # (the H.264 parts' are gone already)
        (output / PARTS).rmdir()
