"""The playlists of a film made in parts, written from its plan rows: each rendition's media playlist from
the segments its parts served (growing while they are made, VOD once all are), the master naming the
renditions (nominal while it grows, measured at the end), and the audio job's own playlist as read back.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from videoflix.core.media import MediaInfo, Rung

from . import audio_tracks, hls_output
from .hls import AUDIO_KBPS, SEGMENT_SECONDS

#: the jobs' own output, inside the film's output folder: `parts/<rendition>/`, `parts/audio/`
PARTS = "parts"


AUDIO = "audio"


@dataclass(frozen=True)
class Playlist:
    """What a job's playlist lists so far, read once: its (#EXTINF line, segment name) pairs, and whether it
    has ended. A playlist that does not exist (yet) lists nothing."""

    segments: list[tuple[str, str]]
    ended: bool

    @classmethod
    def parse(cls, text: str) -> Playlist:
        lines = text.splitlines()
        segments = [(line, uri) for line, uri in itertools.pairwise(lines) if line.startswith("#EXTINF")]
        return cls(segments, "#EXT-X-ENDLIST" in text)

    @property
    def seconds(self) -> float:
        return sum(_seconds(line) for line, _ in self.segments)


def read_playlist(path: Path) -> Playlist:
    return Playlist.parse(_read(path))


#: the audio job's playlist (`audio_command`), relative to the film's output
AUDIO_PLAYLIST = f"{PARTS}/{AUDIO}/index.m3u8"


def _seconds(extinf: str) -> float:
    return float(re.match(r"#EXTINF:([\d.]+)", extinf).group(1))


def media_playlist(entries: list[tuple[str, str]] | list[list], final: bool) -> str:
    """A rendition's playlist of `entries` ([EXTINF line, segment name, ...]); EVENT while it grows, else VOD."""
    durations = [_seconds(entry[0]) for entry in entries]
    body = "".join(f"{entry[0]}\n{entry[1]}\n" for entry in entries)
    kind = "VOD" if final else "EVENT"
    return (
        "#EXTM3U\n#EXT-X-VERSION:6\n"
        f"#EXT-X-TARGETDURATION:{math.ceil(max(durations, default=SEGMENT_SECONDS))}\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXT-X-PLAYLIST-TYPE:{kind}\n#EXT-X-INDEPENDENT-SEGMENTS\n{body}" + ("#EXT-X-ENDLIST\n" if final else "")
    )


def master_playlist(info: MediaInfo, renditions: list[dict], growing: bool) -> str:
    """`master.m3u8`: the renditions (name, width, height, and bandwidth and average in bits per second of
    their segments, sound included); `growing`: start at the beginning (hls_output.START_AT_BEGINNING)."""
    codecs = "avc1.640028,mp4a.40.2" if info.has_audio else "avc1.640028"
    master = ["#EXTM3U", "#EXT-X-VERSION:6", "#EXT-X-INDEPENDENT-SEGMENTS"] + [hls_output.START_AT_BEGINNING] * growing
    for r in renditions:
        attributes = f"BANDWIDTH={r['bandwidth']},AVERAGE-BANDWIDTH={r['average']}"
        if r["width"]:
            attributes += f",RESOLUTION={r['width']}x{r['height']}"
        master += [f'#EXT-X-STREAM-INF:{attributes},CODECS="{codecs}"', f"{r['name']}/index.m3u8"]
    return audio_tracks.with_group("\n".join(master) + "\n", info)


def nominal_renditions(info: MediaInfo, rungs: list[Rung]) -> list[dict]:
    """The renditions as the growing master lists them: bandwidths from the ladder's rates (the measured
    ones are known once every segment is)."""
    sound = AUDIO_KBPS * 1000 if info.has_audio else 0
    return [
        {"name": r.name, **_size(info, r), "average": r.video_kbps * 1000 + sound,
         "bandwidth": int(r.video_kbps * 1070) + sound}
        for r in rungs
    ]  # fmt: skip


def _size(info: MediaInfo, rung: Rung) -> dict[str, int | None]:
    width, height = info.rendition_size(rung.short_side)
    return {"width": width, "height": height}


#: per rendition, a part's segments served so far, in order: [EXTINF line, segment name, size in bytes].
#: Recorded in the part's plan row: the film's playlists are written from these alone.
Served = dict[str, list[list]]


def progress_playlists(info: MediaInfo, rungs: list[Rung], parts: list[tuple[bool, Served]]) -> dict[str, str]:
    """Progressive playback of a film made in parts, from its parts' records in order, (done, served): each
    rendition's `index.m3u8` as an EVENT playlist listing the served segments of the finished parts from the
    first on, then those the next part (being encoded) has so far (a later part, finished or not, waits for
    it); and the master once every rendition has a first segment. A playlist only ever grows: served
    segments stay served, also when a part is encoded again after a failure.
    Returns the playlists to write (relative name -> text); no master: the film cannot be played yet."""
    playlists = {}
    for rung in rungs:
        entries = []
        for done, served in parts:
            entries += served.get(rung.name, [])
            if not done:
                break
        if entries:
            playlists[f"{rung.name}/index.m3u8"] = media_playlist(entries, final=False)
    if len(playlists) == len(rungs):
        playlists["master.m3u8"] = master_playlist(info, nominal_renditions(info, rungs), growing=True)
    return playlists


def final_playlists(info: MediaInfo, rungs: list[Rung], parts: list[Served]) -> tuple[dict[str, str], list[dict]]:
    """The finished film's VOD playlists and master (with the bandwidths measured on its segments), from
    every part's served segments in order; and the renditions as the master lists them. ValueError when a
    rendition has nothing served. Write the master first: the VOD rendition playlists mark the film
    assembled (`assembled`)."""
    renditions, playlists = [], {}
    for rung in rungs:
        entries = [entry for served in parts for entry in served.get(rung.name, [])]
        if not entries:
            raise ValueError(f"no segment of {rung.name} was served")
        durations = [_seconds(entry[0]) for entry in entries]
        sizes = [entry[2] for entry in entries]
        peak = max(8 * size / max(d, 0.1) for size, d in zip(sizes, durations, strict=True))
        average = 8 * sum(sizes) / max(sum(durations), 0.1)
        renditions.append(
            {"name": rung.name, **_size(info, rung), "bandwidth": int(peak),
             "average": int(average)}
        )  # fmt: skip
        playlists[f"{rung.name}/index.m3u8"] = media_playlist(entries, final=True)
    master = {"master.m3u8": master_playlist(info, renditions, growing=False)}
    return master | playlists, [{k: r[k] for k in ("name", "width", "height", "bandwidth")} for r in renditions]


def assembled(read: Callable[[str], str], rungs: list[Rung]) -> bool:
    """Whether the film's playlists are final (`read(name)`: the output's file `name`, "" when missing)."""
    return all("#EXT-X-PLAYLIST-TYPE:VOD" in read(f"{r.name}/index.m3u8") for r in rungs)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
