"""The results agents: `videos.progress` and `videos.processed` into PostgreSQL.

Writes are idempotent (the same event applied twice leaves the same row) and ordered per video (one
partition per key). While PostgreSQL is unreachable the write is retried, so the event is not lost.
"""

from __future__ import annotations

import logging

from videoflix.core import events

from .. import topics
from ..app import app
from ..db import apply_processed, apply_progress, in_thread, until_done
from ..records import VideoProcessed, VideoProgress
from ..reports import readable
from ..sweep import measure_film

log = logging.getLogger(__name__)


async def record(stream, record_type, topic: str, apply, what: str) -> None:
    """Read each payload as `record_type` (unreadable ones go to the dead-letter topic) and apply it."""
    async for payload in stream:
        if (event := await readable(record_type, payload, topic)) is None:
            continue
        if await until_done(apply, event, what=f"{what} of video {event.video_id}") and what == "result":
            log.info("video %s is %s", event.video_id, event.status)
            try:
                await in_thread(measure_film, event.video_id)
            except Exception as exc:  # the store away: the next sweep measures it
                log.warning("video %s: its size in the store could not be measured: %s", event.video_id, exc)


@app.agent(topics.progress)
async def record_progress(stream):
    await record(stream, VideoProgress, events.PROGRESS, apply_progress, "progress")


@app.agent(topics.processed)
async def record_processed(stream):
    await record(stream, VideoProcessed, events.PROCESSED, apply_processed, "result")
