"""The one check of what a received file is, for both upload paths (multipart and tus): its container from
its first bytes, then FFmpeg's facts read as that container and nothing else, within the media limits."""

from __future__ import annotations

from pathlib import Path

from videoflix.core.containers import CONTAINERS, ObjectURL, ProbeFailed, sniff_container
from videoflix.core.media import MediaInfo, MediaLimits, probe

from .errors import InvalidInput, UnsupportedMediaType


def check_container(head: bytes) -> str:
    """The container family the first bytes announce (a key of `containers.CONTAINERS`), or 415: checked as soon
    as they arrive, so a large upload of something else is refused early."""
    container = sniff_container(head)
    if container is None:
        raise UnsupportedMediaType(
            "The file is not a video container this service accepts (MP4, MOV, MKV, "
            "WebM, AVI, MPEG-TS/PS, FLV, Ogg, WMV)."
        )
    return container


def inspect_video(
    path: Path | ObjectURL, head: bytes, ffmpeg_binary: str | None, limits: MediaLimits
) -> tuple[str, MediaInfo]:
    """(extension, media facts) of a received file, or a 4xx saying why it cannot become a video: FFmpeg
    reads it as the container its first bytes announce and nothing else (`containers.input_options`), it must
    hold a video stream, and what it claims must be within `limits`."""
    container = check_container(head)
    try:
        info = probe(path, ffmpeg_binary, container=container)
    except ProbeFailed as exc:
        raise InvalidInput.field("file", f"The file could not be read: {exc}.") from None
    if not info.has_video:
        raise InvalidInput.field("file", "The file has no video stream that can be decoded.")
    if problem := limits.problem(info):
        raise InvalidInput.field("file", problem)
    return CONTAINERS[container].extension, info
