"""A film's other audio tracks (languages, commentary) as HLS alternate audio renditions (PeerTube #939).

Every rendition's own segments keep the source's default track muxed in: the existing frontend plays
`…/{res}/index.m3u8` directly and must keep its sound, and a player that knows no audio groups hears that
track. The master names all the source's tracks in one group (`#EXT-X-MEDIA:TYPE=AUDIO`): the default one
without a URI (RFC 8216 4.4.6.2.1: its sound is in the renditions), each other one with its own audio-only
playlist, `audio/<n>/index.m3u8` (n: its place among the source's audio streams), which the same FFmpeg run
writes beside the renditions (cut on the same clock, so a switch keeps the sync). hls.js lists the group and
plays the chosen track beside the picture, dropping the muxed sound while it does.

A source with one audio track gets no group: there is nothing to choose, and its master stays as before.
"""

from __future__ import annotations

import re
from pathlib import Path

from videoflix.core.media import AudioStream, MediaInfo
from videoflix.core.playlist_text import quoted_string
from videoflix.core.subtitles import default_label, language_tag

from . import hls, hls_output

#: the master's audio group
GROUP = "audio"


def folders(info: MediaInfo) -> list[str]:
    """The output folders of the film's alternate tracks (none for a source with one track or none)."""
    return [hls.audio_folder(stream) for stream in info.alternate_audio]


def make_folders(output: Path, info: MediaInfo) -> None:
    """Make the alternate tracks' folders (FFmpeg's HLS muxer makes only those its `%v` names)."""
    for name in folders(info):
        (output / name).mkdir(parents=True, exist_ok=True)


def names(info: MediaInfo) -> dict[int, str]:
    """What a player shows for each track: its title, else its language's name ("English", "Deutsch"), else
    "Audio <n>"; made unique within the group ("English 2"), as HLS requires."""
    chosen: dict[int, str] = {}
    for stream in info.audio_streams:
        title = quoted_string(stream.title)
        language = _language(stream)
        name = title or (default_label(language) if language else f"Audio {stream.index + 1}")
        unique, count = name, 1
        while unique in chosen.values():
            count += 1
            unique = f"{name} {count}"
        chosen[stream.index] = unique[:100]
    return chosen


def _language(stream: AudioStream) -> str | None:
    """The stream's language as a BCP 47 tag ("de" for "ger"), None when untagged or undetermined."""
    try:
        tag = language_tag(stream.language)
    except ValueError:
        return None
    return None if tag in ("und", "zxx", "mul", "mis") else tag


def media_lines(info: MediaInfo) -> list[str]:
    """The master's `#EXT-X-MEDIA` lines of the group: the default track first, without a URI."""
    if not info.alternate_audio:
        return []
    shown = names(info)
    default = next(s for s in info.audio_streams if s.index == info.default_audio)
    lines = []
    for stream in [default, *info.alternate_audio]:
        attributes = [f'TYPE=AUDIO,GROUP-ID="{GROUP}",NAME="{shown[stream.index]}"']
        if language := _language(stream):
            attributes.append(f'LANGUAGE="{language}"')
        attributes.append("DEFAULT=YES" if stream is default else "DEFAULT=NO")
        attributes.append('AUTOSELECT=YES,CHANNELS="2"')
        if stream is not default:
            attributes.append(f'URI="{hls.audio_folder(stream)}/index.m3u8"')
        lines.append("#EXT-X-MEDIA:" + ",".join(attributes))
    return lines


def with_group(master: str, info: MediaInfo) -> str:
    """The master playlist `master` with the film's audio group: its `#EXT-X-MEDIA` lines before the first
    rendition, each rendition naming the group (the AV1 ladder's too, which may be listed after the group
    was added). Unchanged for a film with one track; idempotent."""
    lines = media_lines(info)
    if not lines:
        return master
    text = [
        re.sub(r"^(#EXT-X-STREAM-INF:.*)$", rf'\1,AUDIO="{GROUP}"', line) if "AUDIO=" not in line else line
        for line in master.splitlines()
    ]
    if f'GROUP-ID="{GROUP}"' in master:
        return "\n".join(text) + "\n"
    at = next((i for i, line in enumerate(text) if line.startswith("#EXT-X-STREAM-INF:")), len(text))
    return "\n".join([*text[:at], *lines, *text[at:]]) + "\n"


def add_group(output: Path, info: MediaInfo) -> None:
    """Give the master FFmpeg wrote in `output` the audio group (`with_group`), atomically."""
    master = output / "master.m3u8"
    text = master.read_text("utf-8")
    if (grouped := with_group(text, info)) != text:
        hls_output.write_atomically(master, grouped)
