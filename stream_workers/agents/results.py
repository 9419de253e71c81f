"""The results agents: `videos.progress` and `videos.processed` into PostgreSQL.

Writes are idempotent (the same event applied twice leaves the same row) and ordered per video (one
partition per key). While PostgreSQL is unreachable the write is retried, so the event is not lost.
"""

from __future__ import annotations

import logging

from videoflix import events

from .. import topics
from ..app import app
from ..db import apply_processed, apply_progress, until_done
from ..records import InvalidEvent, VideoProcessed, VideoProgress
from .transcode import send_dead_letter

log = logging.getLogger(__name__)


@app.agent(topics.progress)
async def record_progress(stream):
    async for payload in stream:
        try:
            event = VideoProgress.from_payload(payload)
        except InvalidEvent as exc:
            await send_dead_letter(events.PROGRESS, payload, f"unreadable event: {exc}")
            continue
        await until_done(apply_progress, event, what=f"progress of video {event.video_id}")


@app.agent(topics.processed)
async def record_processed(stream):
    async for payload in stream:
        try:
            event = VideoProcessed.from_payload(payload)
        except InvalidEvent as exc:
            await send_dead_letter(events.PROCESSED, payload, f"unreadable event: {exc}")
            continue
        if await until_done(apply_processed, event, what=f"result of video {event.video_id}"):
            log.info("video %s is %s", event.video_id, event.status)
