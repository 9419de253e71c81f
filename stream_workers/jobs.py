"""What every transcoding job needs, single pass or one part of a film: the worker's FFmpeg slots, the
decision to part, whether the video was deleted meanwhile, and discarding its output. (The source and its
checked facts: `storage.Source`.)"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.exc import DBAPIError

from videoflix.core.media import MediaInfo

from . import storage
from .app import app
from .db import in_thread, video_status
from .metrics import JOBS

log = logging.getLogger(__name__)

#: one FFmpeg job per worker at a time (it uses every core by itself), single pass or part of a film
FFMPEG_SLOT = asyncio.Semaphore(1)
#: one further ladder's part per worker at a time (`ladder_parts`, its own agent), beside the FFmpeg slot: a
#: further ladder yields the CPU (niceness 10), so a new upload's fast pass or a long film's H.264 part runs
#: at once instead of waiting behind minutes of another film's AV1 or best H.264 encode
LADDER_SLOT = asyncio.Semaphore(1)


class VideoDeleted(Exception):
    """The video's row disappeared while its job ran (an operator deleted it)."""


def in_parts(info: MediaInfo) -> bool:
    """Whether a film is long enough to be spread over the workers in parts (shorter ones keep the single
    pass), on either backend; a film that does not decode cleanly from a seek never is (`seeking`: its parts
    would begin on garbage)."""
    return bool(info.duration) and info.duration >= app.settings.parts_from_seconds and info.seeks


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
    await in_thread(storage.remove_video, video_id)
    JOBS.labels("discarded").inc()
