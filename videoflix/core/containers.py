"""What FFmpeg may read and how: the container families a source may be (sniffed from its first bytes,
never its name), the one way every command names its input (one demuxer, one protocol family, no nested
playlists), a stored object as a signed URL, and which FFmpeg runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .redaction import redact


@dataclass(frozen=True)
class Container:
    """A container family this service accepts, and how FFmpeg is made to read it and nothing else.

    FFmpeg left to guess a format scores every demuxer it has against the file: a text file that passes our
    sniffing (``<!--wide-->`` looks like a MOV atom) is read as a DASH manifest and FFmpeg fetches whatever its
    ``<BaseURL>`` names; a file with TS sync bytes and ``c=IN IP4`` lines opens RTP sockets as SDP. So every run
    names the demuxer of the family the first bytes announce (``demuxer``), and FFmpeg's own report of the
    format it read must be ``reported``."""

    name: str
    extension: str  # the stored source's extension
    demuxer: str  # FFmpeg's `-f`
    reported: str  # what `ffmpeg -i` prints after "Input #0, "
    options: tuple[str, ...] = ()  # demuxer options pinned to their safe values


_MOV = {"demuxer": "mov", "reported": "mov,mp4,m4a,3gp,3g2,mj2", "options": ("-enable_drefs", "0")}


CONTAINERS = {
    c.name: c
    for c in (
        Container("mp4", ".mp4", **_MOV),  # MP4, M4V, 3GP
        Container("mov", ".mov", **_MOV),
        Container("matroska", ".mkv", "matroska", "matroska,webm"),  # MKV, WebM
        Container("flv", ".flv", "flv", "flv"),
        Container("ogg", ".ogv", "ogg", "ogg"),
        Container("mpeg-ps", ".mpg", "mpeg", "mpeg"),
        Container("asf", ".wmv", "asf", "asf"),
        Container("avi", ".avi", "avi", "avi"),
        Container("mpeg-ts", ".ts", "mpegts", "mpegts"),
    )
}


#: container signatures: (offset, magic bytes, family). Only containers FFmpeg reads and cameras/editors write.
_SIGNATURES = [
    (4, b"ftyp", "mp4"),  # MP4, MOV, M4V, 3GP
    (4, b"moov", "mov"),
    (4, b"mdat", "mov"),
    (4, b"wide", "mov"),
    (0, b"\x1a\x45\xdf\xa3", "matroska"),  # MKV, WebM
    (0, b"FLV\x01", "flv"),
    (0, b"OggS", "ogg"),
    (0, b"\x00\x00\x01\xba", "mpeg-ps"),
    (0, b"\x30\x26\xb2\x75\x8e\x66\xcf\x11", "asf"),  # WMV
]


SNIFF_BYTES = 1024


def sniff_container(head: bytes) -> str | None:
    """The family (a key of CONTAINERS) a file's first bytes announce, or None when it is not a video
    container we accept."""
    for offset, magic, name in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:  # MPEG-TS sync bytes every 188
        return "mpeg-ts"
    return None


class ProbeFailed(Exception):
    """The file cannot be read as the video it claims to be (the message says why, with no server path)."""


def sniff_file(path: Path) -> str:
    """The family of a stored file, from its own first bytes (ProbeFailed if none)."""
    with path.open("rb") as source:
        container = sniff_container(source.read(SNIFF_BYTES))
    if container is None:
        raise ProbeFailed("the file is not a video container this service accepts")
    return container


class ObjectURL(str):
    """A signed URL of one stored object (S3), for FFmpeg to read with ranged requests instead of a local
    file. Only a value of this type is ever read over the network: a plain string is always a file name."""

    def __repr__(self) -> str:  # a traceback's or a log's view of it holds no signature (redaction.py)
        return f"ObjectURL({redact(str(self))!r})"

    @property
    def protocols(self) -> str:
        """The protocols FFmpeg may use for it, and no other (no `file`, no nested playlists)."""
        if self.startswith("https://"):
            return "https,tls,tcp"
        if self.startswith("http://"):
            return "http,tcp"
        raise ProbeFailed("a stored object's URL must be http or https")


#: FFmpeg's HTTP client rides out a store that goes away under it and comes back: it reconnects at the byte
#: it had reached (after a refused connection, a reset, a 5xx while the store starts), waiting 0, 1, 3, 7, 15
#: and 31 s: 57 s in all (a SeaweedFS killed and started again answered after 15-35 s, the longer on a busy
#: machine); a store that hangs counts as gone after 30 s. Without this, FFmpeg took a SeaweedFS killed
#: mid-read for the end of the file and exited 0 with the 17 s it had read of a 40 s clip (measured).
STORE_RECONNECT = [
    "-reconnect", "1", "-reconnect_on_network_error", "1",
    "-reconnect_delay_max", "60", "-reconnect_delay_total_max", "120", "-rw_timeout", "90000000",
]  # fmt: skip


def input_options(
    source: Path | str | ObjectURL, container: str, *, start: float | None = None, length: float | None = None
) -> list[str]:
    """The input part of every FFmpeg command that reads a source: the demuxer of its sniffed family, its
    safe options, one protocol family only (a local file as a `file:` URL, a name never taken for a
    protocol; or a stored object's signed URL over http(s), which names that one object), no nested
    playlists or `concat:`. `start`/`length`: input seeking (over http, by ranged requests)."""
    if container not in CONTAINERS:
        raise ProbeFailed("the file is not a video container this service accepts")
    family = CONTAINERS[container]
    remote = isinstance(source, ObjectURL)
    argv = ["-protocol_whitelist", source.protocols if remote else "file", "-f", family.demuxer, *family.options]
    if start is not None:
        argv += ["-ss", f"{start:.3f}"]
    if length is not None:
        argv += ["-t", f"{length:.3f}"]
    if remote:
        argv += STORE_RECONNECT
    return [*argv, "-i", str(source) if remote else f"file:{source}"]


def ffmpeg_exe(configured: str | None = None) -> str:
    """A system FFmpeg when configured (FFMPEG_BINARY), else the static build in the imageio-ffmpeg wheel."""
    configured = configured or os.environ.get("FFMPEG_BINARY")
    if configured:
        return configured
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()
