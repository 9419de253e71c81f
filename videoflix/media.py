"""Media facts and files, shared by the web tier (upload checks) and the workers (transcoding).

There is no ffprobe in the imageio-ffmpeg wheel, so facts are read from what `ffmpeg -i FILE` prints.
Storage layout under MEDIA_ROOT (all paths kept in the database are relative to it):

    uploads/<uuid>.part                 an upload being received
    videos/<id>/source<ext>             the original
    videos/<id>/.work-<job>/            a transcode in progress (never served)
    videos/<id>/hls-<job>/              a finished output: master.m3u8, <rendition>/index.m3u8 + NNN.ts,
                                        thumbnail.jpg; the database names the current one
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: container signatures: (offset, magic bytes, name). Only containers FFmpeg reads and cameras/editors write.
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

VIDEO_EXTENSIONS = {
    "mp4": ".mp4",
    "mov": ".mov",
    "matroska": ".mkv",
    "flv": ".flv",
    "ogg": ".ogv",
    "mpeg-ps": ".mpg",
    "asf": ".wmv",
    "avi": ".avi",
    "mpeg-ts": ".ts",
}


def sniff_container(head: bytes) -> str | None:
    """The container a file's first bytes announce, or None when it is not a video container we accept."""
    for offset, magic, name in _SIGNATURES:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:  # MPEG-TS sync bytes every 188
        return "mpeg-ts"
    return None


def ffmpeg_exe(configured: str | None = None) -> str:
    """A system FFmpeg when configured (FFMPEG_BINARY), else the static build in the imageio-ffmpeg wheel."""
    configured = configured or os.environ.get("FFMPEG_BINARY")
    if configured:
        return configured
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class MediaInfo:
    duration: float | None  # seconds; None when the container does not say
    width: int | None  # as displayed, i.e. after rotation
    height: int | None
    fps: float | None
    video_codec: str | None
    has_audio: bool
    rotation: int = 0

    @property
    def has_video(self) -> bool:
        return self.video_codec is not None and bool(self.width) and bool(self.height)


_DURATION = re.compile(r"Duration: (\d+):(\d{2}):(\d{2}(?:\.\d+)?)")
_VIDEO = re.compile(r"Stream #\d+:\d+.*?: Video: (\w+)(.*)")
_SIZE = re.compile(r", (\d{1,5})x(\d{1,5})[ ,\[]")
_FPS = re.compile(r"(\d+(?:\.\d+)?) fps")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")


def parse_probe(stderr: str) -> MediaInfo:
    """Read the facts of the first video stream (and whether there is audio) from `ffmpeg -i` output."""
    duration = None
    if match := _DURATION.search(stderr):
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    codec = width = height = fps = None
    rotation = 0
    if match := _VIDEO.search(stderr):
        codec, rest = match.group(1), match.group(2) + " "
        if size := _SIZE.search(rest):
            width, height = int(size.group(1)), int(size.group(2))
        if rate := _FPS.search(rest):
            fps = float(rate.group(1))
        after = stderr[match.end() : match.end() + 2000]
        next_stream = after.find("Stream #")
        if rot := _ROTATION.search(after if next_stream < 0 else after[:next_stream]):
            rotation = round(float(rot.group(1))) % 360
    if width and height and rotation in (90, 270):
        width, height = height, width  # FFmpeg rotates on decode; the output has the displayed size
    has_audio = re.search(r"Stream #\d+:\d+.*?: Audio: ", stderr) is not None
    return MediaInfo(duration, width, height, fps, codec, has_audio, rotation)


class ProbeFailed(Exception):
    pass


def probe(path: Path, ffmpeg: str | None = None, timeout: float = 30.0) -> MediaInfo:
    """Media facts of `path`. `ffmpeg -i` without an output always exits 1; the facts are on stderr."""
    try:
        result = subprocess.run(  # noqa: S603 - our own ffmpeg, a path we created
            [ffmpeg_exe(ffmpeg), "-hide_banner", "-nostdin", "-i", str(path)],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ProbeFailed("reading the file's media information timed out") from None
    return parse_probe(result.stderr.decode("utf-8", "replace"))


@dataclass(frozen=True)
class Rung:
    name: str  # also the URL segment: /api/video/{id}/{name}/index.m3u8
    height: int
    video_kbps: int


#: the renditions, lowest first (x264 veryfast: 1.0 / 2.8 / 5.0 Mbit/s)
LADDER = (Rung("480p", 480, 1000), Rung("720p", 720, 2800), Rung("1080p", 1080, 5000))
RESOLUTIONS = tuple(rung.name for rung in LADDER)


def ladder_for(height: int | None) -> list[Rung]:
    """The rungs at or below the source height (never upscale). A source below the lowest rung still gets
    that rung, at its own height, so every video has something to play."""
    height = height or 0
    rungs = [r for r in LADDER if r.height <= height]
    if not rungs:
        lowest = LADDER[0]
        rungs = [Rung(lowest.name, max(2, height - height % 2), lowest.video_kbps)]
    return rungs


def video_dir(media_root: Path, video_id: int) -> Path:
    return media_root / "videos" / str(video_id)


def uploads_dir(media_root: Path) -> Path:
    return media_root / "uploads"
