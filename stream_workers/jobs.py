"""What every transcoding job needs, single pass or one part of a film: the worker's one FFmpeg slot, the
stored source and its checked facts, whether the video was deleted meanwhile, and discarding its output."""

from __future__ import annotations

import asyncio
import logging
import shutil
from pathlib import Path

from sqlalchemy.exc import DBAPIError

from videoflix.media import MediaInfo, ProbeFailed, probe, video_dir

from . import hls
from .app import app
from .db import in_thread, video_status
from .metrics import JOBS

log = logging.getLogger(__name__)

#: one FFmpeg job per worker at a time (it uses every core by itself), single pass or part of a film
FFMPEG_SLOT = asyncio.Semaphore(1)


class VideoDeleted(Exception):
    """The video's row disappeared while its job ran (an operator deleted it)."""


def source_file(relative: str) -> Path:
    """The stored source, which must be a file under MEDIA_ROOT."""
    root = app.settings.media_root.resolve()
    source = (root / relative).resolve()
    if root not in source.parents or not source.is_file():
        raise hls.TranscodeError("The uploaded file is missing from storage.")
    return source


def read_facts(source: Path) -> MediaInfo:
    """The source's media facts, read as the container its first bytes announce (`media.probe`), checked as
    at upload: a file that got past those checks (or limits lowered since) fails here, before anything is
    planned from what it claims."""
    try:
        info = probe(source, app.settings.ffmpeg_binary)
    except ProbeFailed as exc:
        raise hls.TranscodeError(f"The file could not be read: {exc}.") from None
    if not info.has_video:
        raise hls.TranscodeError("The file has no video stream that can be decoded.")
    if problem := app.settings.media_limits.problem(info):
        raise hls.TranscodeError(problem)
    return info


def chunked(info: MediaInfo) -> bool:
    """Whether a film is long enough to be spread over the workers in chunks (shorter ones keep the single
    pass)."""
    return bool(info.duration) and info.duration >= app.settings.chunked_min_seconds


async def deleted(video_id: int) -> bool:
    """Whether the video's row is gone. While PostgreSQL is unreachable, assume it is not: the job goes on
    and the results agent discards a result for a missing row."""
    try:
        return await in_thread(video_status, video_id) is None
    except DBAPIError:
        return False


async def discard(video_id: int) -> None:
    """Remove whatever a job for a deleted video left (FFmpeg may have re-created the folder)."""
    log.info("video %s was deleted while it was processed; its output is discarded", video_id)
    await in_thread(shutil.rmtree, video_dir(app.settings.media_root, video_id), True)
    JOBS.labels("discarded").inc()
