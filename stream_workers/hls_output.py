"""HLS playlists as files: what a playlist names, whether an output is whole and how long it is, EVENT playlists
while a film grows and VOD ones once it is made (written atomically), and the renditions a master lists."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path

from videoflix.core.media import Rung

from .ffmpeg_run import IOFault, TranscodeError


def playlist_segments(playlist: Path) -> list[str]:
    return playlist_text_segments(playlist.read_text())


def playlist_text_segments(text: str) -> list[str]:
    """The segments a media playlist's text lists, in order."""
    return [line for line in text.splitlines() if line and not line.startswith("#")]


#: a media playlist's init segment (fMP4: the AV1 ladder's)
_MAP = re.compile(r'^#EXT-X-MAP:URI="([^"]+)"', re.MULTILINE)


#: what each kind of file a playlist names is, to the store and the browsers
MEDIA_TYPES = {".ts": "video/MP2T", ".m4s": "video/iso.segment", ".mp4": "video/mp4"}


def init_segment(playlist: str, segment: str | None = None) -> str | None:
    """The init segment a media playlist's text names (`#EXT-X-MAP`: fMP4) for `segment` (the map in force
    where it is listed: a film made in parts has one per part), or for its first; None: MPEG-TS."""
    current = None
    for line in playlist.splitlines():
        if found := _MAP.match(line):
            current = found.group(1)
        elif line and not line.startswith("#") and line == (segment or line):
            return current
    return current


def media_files(playlist: str) -> list[str]:
    """The files a media playlist's text names: its init segments (fMP4), then its segments."""
    segments = [line for line in playlist.splitlines() if line and not line.startswith("#")]
    return [*dict.fromkeys(_MAP.findall(playlist)), *segments]


def check_storage(folder: Path, size: int = 1 << 20) -> None:
    """IOFault if `size` bytes cannot be written in `folder` (disk full, quota, read-only). FFmpeg's HLS
    muxer can end with status 0 and no message when its writes fail, leaving an incomplete output that
    would otherwise be blamed on the file."""
    probe_file = folder / ".storage-check"
    try:
        with probe_file.open("wb") as out:
            out.write(b"\0" * size)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        raise IOFault(f"The output could not be written: {(exc.strerror or str(exc)).lower()}.") from exc
    finally:
        with contextlib.suppress(OSError):
            probe_file.unlink()


def playlist_folders(rungs: list[Rung], also: Sequence[str] = ()) -> list[str]:
    """The folders of an output that hold a media playlist: each rendition's, then those of `also` (the
    alternate audio tracks')."""
    return [*(rung.name for rung in rungs), *also]


def check_output(output: Path, rungs: list[Rung], also: Sequence[str] = (), thumbnail: bool = True) -> None:
    """A job only counts when every rendition (and each other playlist folder `also`: the alternate audio
    tracks) has a complete playlist with segments, and there is a `thumbnail` (the AV1 pass makes none)."""
    if not (output / "master.m3u8").is_file():
        raise TranscodeError("FFmpeg wrote no master playlist: the video could not be decoded.")
    for name in playlist_folders(rungs, also):
        playlist = output / name / "index.m3u8"
        text = playlist.read_text() if playlist.is_file() else ""
        if "#EXT-X-ENDLIST" not in text:
            raise TranscodeError(f"The {name} rendition is incomplete: the video could not be decoded.")
        named = media_files(text)  # (an fMP4 playlist's init segments first)
        if not playlist_text_segments(text) or not all((playlist.parent / s).is_file() for s in named):
            raise TranscodeError(f"The {name} rendition has no segments: the video could not be decoded.")
    thumb = output / "thumbnail.jpg"
    if thumbnail and (not thumb.is_file() or thumb.read_bytes()[:3] != b"\xff\xd8\xff"):
        raise TranscodeError("No thumbnail could be made: the video could not be decoded.")


def checked(output: Path, rungs: list[Rung], also: Sequence[str] = (), thumbnail: bool = True) -> None:
    """`check_output`, a full or read-only disk told from a bad file (`check_storage`)."""
    try:
        check_output(output, rungs, also, thumbnail)
    except TranscodeError:
        check_storage(output)  # a full or read-only disk is not the file's fault
        raise


def first_segments_ready(output: Path, rungs: list[Rung], also: Sequence[str] = ()) -> bool:
    """Whether a player can start: the master playlist and, in every rendition's playlist (and each other
    one of `also`: the alternate audio tracks), a first segment that is on disk (FFmpeg publishes both only
    when written whole; one pass makes the renditions in step, so the lowest one's first segment comes with
    the others')."""
    if not (output / "master.m3u8").is_file():
        return False
    for name in playlist_folders(rungs, also):
        playlist = output / name / "index.m3u8"
        try:
            segments = playlist_segments(playlist)
        except FileNotFoundError:
            return False
        if not segments or not (playlist.parent / segments[0]).is_file():
            return False
    return True


def published_seconds(output: Path, rungs: list[Rung]) -> dict[str, float]:
    """Per rendition, the media seconds its playlist lists so far (segments written whole)."""
    seconds = {}
    for rung in rungs:
        try:
            text = (output / rung.name / "index.m3u8").read_text()
        except FileNotFoundError:
            text = ""
        seconds[rung.name] = sum(float(m) for m in re.findall(r"^#EXTINF:([\d.]+)", text, re.MULTILINE))
    return seconds


#: players treat a playlist without an end as live and would start near its newest segment; a film still
#: transcoding should start at its beginning (hls.js and Safari honour EXT-X-START in the master playlist).
#: Only while the playlists grow: FFmpeg's HLS client cannot read a master playlist with it, and a VOD
#: playlist starts at the beginning anyway.
START_AT_BEGINNING = "#EXT-X-START:TIME-OFFSET=0,PRECISE=YES"


def start_at_beginning(output: Path) -> None:
    """Add START_AT_BEGINNING to the master playlist (FFmpeg writes it once, with the first segments)."""
    master = output / "master.m3u8"
    lines = master.read_text("utf-8").splitlines()
    if START_AT_BEGINNING not in lines:
        at = next((i + 1 for i, line in enumerate(lines) if line.startswith("#EXT-X-VERSION")), 1)
        write_atomically(master, "\n".join([*lines[:at], START_AT_BEGINNING, *lines[at:]]) + "\n")


def finalize_playlists(output: Path, rungs: list[Rung], also: Sequence[str] = ()) -> None:
    """EVENT -> VOD once every segment is there (check_output first), in the renditions and the other
    playlist folders `also`; the master without START_AT_BEGINNING."""
    for name in playlist_folders(rungs, also):
        playlist = output / name / "index.m3u8"
        write_atomically(playlist, vod(playlist.read_text()))
    master = output / "master.m3u8"
    lines = master.read_text("utf-8").splitlines()
    if START_AT_BEGINNING in lines:
        write_atomically(master, "\n".join(line for line in lines if line != START_AT_BEGINNING) + "\n")


def vod(playlist: str) -> str:
    """A whole EVENT media playlist as the VOD one it has become (players may then cache and seek freely)."""
    return playlist.replace("#EXT-X-PLAYLIST-TYPE:EVENT", "#EXT-X-PLAYLIST-TYPE:VOD")


def write_atomically(path: Path, text: str) -> None:
    """Write or replace a file atomically: a player reading it meanwhile sees the old or the new one, whole.
    Each write has its own partial file, so writers on several machines never mix their bytes."""
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex[:12]}.new")
    partial.write_text(text, "utf-8")  # (a master may name a track "Français")
    os.replace(partial, path)


def master_renditions(output: Path, rungs: list[Rung]) -> list[dict]:
    """Name, size and bandwidth of each rendition, read back from the master playlist FFmpeg wrote."""
    return renditions_in((output / "master.m3u8").read_text("utf-8"), rungs)


def average_bandwidths(master: str) -> dict[str, int]:
    """Per variant of the master playlist `master` (by its URI's first folder), its average bitrate
    (AVERAGE-BANDWIDTH, else its peak BANDWIDTH)."""
    found = {}
    for info, uri in itertools.pairwise(master.splitlines()):
        if info.startswith("#EXT-X-STREAM-INF:"):
            rate = re.search(r"AVERAGE-BANDWIDTH=(\d+)", info) or re.search(r"[^-]BANDWIDTH=(\d+)", info)
            if rate:
                found[uri.split("/")[0]] = int(rate.group(1))
    return found


def renditions_in(master: str, rungs: list[Rung]) -> list[dict]:
    """Name, size and bandwidth of each rendition, as the master playlist `master` lists them."""
    entries = {}
    for info, uri in itertools.pairwise(master.splitlines()):
        if info.startswith("#EXT-X-STREAM-INF:"):
            size = re.search(r"RESOLUTION=(\d+)x(\d+)", info)
            bandwidth = re.search(r"[^-]BANDWIDTH=(\d+)", info)
            entries[uri.split("/")[0]] = {
                "width": int(size.group(1)) if size else None,
                "height": int(size.group(2)) if size else None,
                "bandwidth": int(bandwidth.group(1)) if bandwidth else None,
            }
    return [{"name": r.name, **entries.get(r.name, {"height": r.short_side})} for r in rungs]
