"""What a job tells the pipeline: progress and results on their topics, unreadable or hopeless events on the
dead-letter topic, and the metric label of a failure. Every agent and job reports through here."""

from __future__ import annotations

import logging
from pathlib import Path

from videoflix.core.redaction import redact
from videoflix.core.storage import StorageUnavailable

from . import ffmpeg_run, topics
from .metrics import JOBS
from .records import DeadLetter, InvalidEvent, VideoProcessed, VideoProgress

log = logging.getLogger(__name__)


async def readable(record_type, payload, topic: str):
    """The payload as a `record_type`, or None once an unreadable one went to the dead-letter topic."""
    try:
        return record_type.from_payload(payload)
    except InvalidEvent as exc:
        await send_dead_letter(topic, payload, f"unreadable event: {exc}")
        return None


async def send_dead_letter(topic: str, payload, reason: str) -> None:
    reason = redact(reason)
    log.error("dead letter from %s: %s", topic, reason)
    await topics.dead_letter.send(value=DeadLetter(topic=topic, reason=reason, payload=payload))


async def progress(event, percent: float, **fields) -> None:
    """A progress event of the job for `event` (an upload or a part job); the other VideoProgress fields as
    known (`hls_path`, `renditions` once watchable)."""
    record = VideoProgress(video_id=event.video_id, progress=round(percent, 1), attempt=event.attempt,
                           token=event.token, **fields)  # fmt: skip
    await topics.progress.send(key=topics.key(event.video_id), value=record)


async def report(record: VideoProcessed) -> None:
    await topics.processed.send(key=topics.key(record.video_id), value=record)


async def report_ready(event, hls_path: str, renditions: list[dict], duration, note: str | None = None) -> None:
    """A finished output (`hls_path` relative to MEDIA_ROOT, its thumbnail inside); `note`: what an operator
    should know of it (a source's track left out, and why), shown where a failure's reason is."""
    JOBS.labels("ready").inc()
    thumbnail = str(Path(hls_path) / "thumbnail.jpg")
    await report(VideoProcessed(video_id=event.video_id, status="ready", renditions=renditions, hls_path=hls_path,
                                thumbnail=thumbnail, duration=duration, attempt=event.attempt, token=event.token,
                                error=redact(note) if note else None))  # fmt: skip


async def report_failed(event, reason: str) -> None:
    """A failed job, with why in words an operator may see (no signed URL, server path or host: `redact`)."""
    JOBS.labels("failed").inc()
    await report(VideoProcessed(video_id=event.video_id, status="failed", error=redact(reason),
                                attempt=event.attempt, token=event.token))  # fmt: skip


def failure_cause(exc: Exception) -> str:
    """The `cause` label of a failed attempt in the FAILURES metric ("storage": the film's bytes could not be
    read or written, on the worker's disk or in the configured storage)."""
    if isinstance(exc, ffmpeg_run.TranscodeError):
        return "timeout" if isinstance(exc, ffmpeg_run.TranscodeTimeout) else "bad_input"
    return "storage" if isinstance(exc, ffmpeg_run.IOFault | StorageUnavailable) else "other"
