"""Chunked transcoding across workers: starting a long film's plan (`start_film`, from the transcode agent)
and running one job of it (`run_job`, from the chunk agent: `videos.chunks` -> FFmpeg for one part of the
film -> its plan in PostgreSQL, `plans`). The FFmpeg side, cutting, muxing and assembly, is in
`chunked_encoding`.

A film at least CHUNKED_MIN_SECONDS long is cut into CHUNK_SECONDS parts; the
planning worker encodes the first part and the whole film's audio itself, at once (the film plays as soon as
they have begun); every other part is one job on the chunk topic, keyed by video and part, so the jobs of a
film spread over the partitions and the workers owning them encode the film at once (by the key's hash: a
worker may get more parts than another). Delivery is at least once, so a job is only run by the worker that
claims it in PostgreSQL; a duplicate finds it running or done.
While parts are encoded, the worker of each serves the segments whose picture and sound both exist (muxed
into each rendition's folder) and refreshes the film's EVENT playlists (the finished parts from the first
on, then the segments the next one has so far): the film is `playable` as soon as the first part's first
segments and the audio's exist, as with a single pass. The worker that finishes the last part assembles the
VOD playlists and reports the video ready. A part that fails for a passing reason is run again alone; bad
input, or a part failing TRANSCODE_MAX_ATTEMPTS times, fails the film, and the other parts' workers stop.
A worker killed mid-part: its claim goes stale and the redelivered job (or the watchdog's re-queue, which
resumes the plan and keeps the finished parts) runs it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import shutil
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from videoflix import events
from videoflix.media import MediaInfo, ffmpeg_exe, ladder_for
from videoflix.models import VideoStatus

from . import chunked_encoding, hls, jobs, plans, store, topics
from .app import app
from .db import in_thread, until_done, video_status
from .metrics import FAILURES, JOBS_IN_FLIGHT
from .records import ChunkJob, VideoUploaded
from .reports import failure_cause, progress, readable, report_failed, report_ready, send_dead_letter

log = logging.getLogger(__name__)

AUDIO_PART = plans.AUDIO_PART


async def start_film(event: VideoUploaded, info: MediaInfo, folder: Path) -> None:
    """Queue the jobs of a film's plan: a new plan, or what remains of one whose output is still there (a
    redelivered or re-queued upload event: the finished parts are kept)."""
    existing = await until_done(plans.current, event.video_id, what="reading the video's plan")
    if existing and (app.settings.media_root / existing[0].output).is_dir():
        jobs = await until_done(plans.unfinished, event.video_id, what="reading the video's plan")
        if not jobs and all(row.state == "done" for row in existing):
            jobs = existing[-1:]  # every part is done, the assembly is not: a finished part's job triggers it
        log.info("video %s: plan resumed, %d of %d jobs queued again", event.video_id, len(jobs), len(existing))
    else:
        await progress(event, 0.0, hls_path="")  # (re)started: nothing to watch until the first segments exist
        await in_thread(store.remove_outputs, event.video_id)
        output = folder / f"hls-{uuid.uuid4().hex[:12]}"
        output.mkdir(parents=True)
        parts = chunked_encoding.cut_film(info.duration, app.settings.chunk_seconds)
        relative = str(output.relative_to(app.settings.media_root))
        jobs = await until_done(plans.create, event.video_id, relative, parts, info.has_audio, what="planning")
        log.info("video %s: %d chunks of %d s planned", event.video_id, len(parts), app.settings.chunk_seconds)
    media = dataclasses.asdict(info)
    queued = [
        ChunkJob(video_id=event.video_id, part=row.part, output=row.output, source=event.source,
                 start=row.start, length=row.length, media=media, attempt=event.attempt)
        for row in jobs
    ]  # fmt: skip
    first = [job for job in queued if job.part in (AUDIO_PART, 0)] if not existing else []
    for job in queued:
        if job.part not in {j.part for j in first}:
            await send(job)
    # The film plays once part 0 and the audio have begun. Through the topic they would wait behind whatever
    # the workers owning their partitions run (measured: 238 s for 10 min of 1080p with 2 workers), so the
    # planning worker runs them itself, now, beside any job it has; the other parts go to every worker.
    await asyncio.gather(*(run_job(job.asdict(), at_once=True) for job in first))


async def send(job: ChunkJob) -> None:
    await topics.chunks.send(key=topics.chunk_key(job.video_id, job.part), value=job)


async def run_job(payload, at_once: bool = False) -> None:
    """Run one job of a plan; `at_once`: without waiting for the worker's FFmpeg slot (the first part and
    the audio, run by the planner)."""
    if (job := await readable(ChunkJob, payload, events.CHUNKS)) is None:
        return
    async with contextlib.nullcontext() if at_once else jobs.FFMPEG_SLOT:
        token = uuid.uuid4().hex
        outcome, attempts = await until_done(
            plans.claim, job.video_id, job.part, job.output, token, what="claiming a part"
        )
        if outcome != "claimed":
            log.info("video %s part %s is %s; job skipped", job.video_id, job.part, outcome)
            if outcome == "done":
                await finish(job)  # a redelivered job whose worker died before it assembled the film
            return
        try:
            with JOBS_IN_FLIGHT.track_inprogress():
                last = await encode(job, token)
        except asyncio.CancelledError:  # the worker is stopping: the one that takes over runs the part at once
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(in_thread(plans.release, job.video_id, job.part, token)), 5)
            raise
        except Exception as exc:
            await failed(job, token, attempts, exc)
            return
    if last:
        await finish(job)


def media(job: ChunkJob) -> tuple[MediaInfo, list]:
    info = MediaInfo(**job.media)
    return info, ladder_for(info.height)


def chunks_of(rows) -> list[chunked_encoding.Chunk]:
    """The film's chunks from its plan's rows (the audio job's row is not a chunk)."""
    return [chunked_encoding.Chunk(row.part, row.start, row.length) for row in rows if row.part != AUDIO_PART]


async def encode(job: ChunkJob, token: str) -> bool:
    """Run the part's FFmpeg job; whether it was the plan's last part to finish."""
    info, rungs = media(job)
    output = app.settings.media_root / job.output
    source = (await in_thread(store.Source, job.source)).path
    ffmpeg = ffmpeg_exe(app.settings.ffmpeg_binary)
    if job.part == AUDIO_PART:
        argv = chunked_encoding.audio_command(ffmpeg, source, output, info)
    else:
        part = chunked_encoding.Chunk(job.part, job.start, job.length)
        argv = chunked_encoding.chunk_command(ffmpeg, source, output, info, rungs, part, app.settings.x264_preset)
    last_sent = time.monotonic()

    def tick(seconds: float, speed: float | None, done: bool) -> tuple[list, bool]:
        """Record the part's progress (or its end) and refresh the film's playlists, under the plan's lock.
        A segment that cannot be served now does not undo the part: the next refresh, or the assembly, tries
        it again."""
        with plans.locked(job.video_id) as conn:
            if done:
                plans.complete(conn, job.video_id, job.part, token)
            else:
                plans.beat(conn, job.video_id, job.part, token, seconds, speed)
            rows = plans.rows(conn, job.video_id)
            try:
                playable = chunked_encoding.publish_progress(
                    ffmpeg, output, info, rungs, chunks_of(rows), done_parts(rows)
                )
            except (hls.TranscodeError, OSError) as exc:
                log.warning("video %s: segments not served yet: %s", job.video_id, exc)
                playable = False
        return rows, playable

    async def on_progress(parser: hls.ProgressParser) -> None:
        nonlocal last_sent
        if time.monotonic() - last_sent >= app.settings.progress_interval:
            last_sent = time.monotonic()
            try:
                rows, playable = await in_thread(tick, parser.out_seconds, parser.speed, False)
            except sa.exc.DBAPIError as exc:  # PostgreSQL unreachable: the part goes on, its end waits for it
                log.warning("video %s part %s: progress not recorded (%s)", job.video_id, job.part, type(exc).__name__)
                return
            await report_progress(job, info, rungs, rows, playable)

    started = time.monotonic()
    result = await hls.run_ffmpeg(argv, on_progress, app.settings.job_timeout, app.settings.stall_timeout)
    if job.part != AUDIO_PART and result.out_seconds < job.length - hls.SEGMENT_SECONDS:
        raise hls.TranscodeError(picture_ends_early(info, output, job.start + result.out_seconds))
    rows, playable = await until_done(tick, 0.0, None, True, what="recording a finished part")
    await report_progress(job, info, rungs, rows, playable)
    log.info("video %s part %s encoded in %.1f s", job.video_id, job.part, time.monotonic() - started)
    return all(row.state == "done" for row in rows)


def picture_ends_early(info: MediaInfo, output: Path, picture_end: float) -> str:
    """Why a film whose picture ends before the length its file claims cannot be chunked: either its sound
    runs on (a whole file; the later parts would have no picture to cut) or the file was cut short (its
    header, written first, still claims the whole length). The audio job, far faster than a video part and
    started with the first one, has almost always ended by now and tells which."""
    sound = chunked_encoding.sound_seconds(output) if info.has_audio else None
    if sound is not None and sound >= info.duration - hls.SEGMENT_SECONDS:
        return (
            f"The picture ends at about {picture_end:.0f} s but the sound runs on to {sound:.0f} s: a film this "
            "long is encoded in parts, which needs a picture as long as the sound; export it so."
        )
    return (
        f"The picture ends at about {picture_end:.0f} s although the file says it lasts {info.duration:.0f} s: "
        "the file may be truncated or damaged."
    )


def done_parts(rows) -> set[int]:
    return {row.part for row in rows if row.state == "done"}


async def report_progress(job: ChunkJob, info: MediaInfo, rungs, rows, playable: bool) -> None:
    """The film's progress from its whole plan: encoded seconds of every part, the speed of all the
    workers on it together, and per rendition (the video renditions move together, the audio apart)."""
    duration = info.duration or 1.0
    video = [row for row in rows if row.part != AUDIO_PART]
    encoded = sum(row.length if row.state == "done" else row.seconds for row in video)
    speed = round(sum(row.speed or 0.0 for row in video if row.state == "running"), 2) or None

    def share(seconds: float) -> dict:
        return {"seconds": round(seconds, 1), "percent": round(min(100.0, 100.0 * seconds / duration), 1)}

    renditions = {rung.name: share(encoded) for rung in rungs}
    for row in rows:
        if row.part == AUDIO_PART:
            renditions[chunked_encoding.AUDIO] = share(row.length if row.state == "done" else row.seconds)
    fields = {
        "speed": speed,
        "eta_seconds": round(max(0.0, duration - encoded) / speed, 1) if speed else None,
        "rendition_progress": renditions,
    }
    if playable:
        output = app.settings.media_root / job.output
        fields.update(hls_path=job.output, renditions=await in_thread(hls.master_renditions, output, rungs))
    await progress(job, min(99.0, 100.0 * encoded / duration), **fields)


async def failed(job: ChunkJob, token: str, attempts: int, exc: Exception) -> None:
    """A part ended without its output: withdrawn (the film was deleted or failed elsewhere: stop quietly),
    run again alone (a passing fault), or the film fails."""
    output = app.settings.media_root / job.output
    if await jobs.deleted(job.video_id):
        await jobs.discard(job.video_id)
        return
    if isinstance(exc, plans.Withdrawn) or not await holds(job, token):
        log.info("video %s part %s was withdrawn: %s", job.video_id, job.part, exc.__class__.__name__)
        if not await until_done(plans.current, job.video_id):  # the plan is gone: so is its output
            await in_thread(shutil.rmtree, output, True)
        return
    permanent = isinstance(exc, hls.TranscodeError)
    FAILURES.labels(failure_cause(exc)).inc()
    if not permanent and attempts < app.settings.max_attempts:
        log.error("video %s part %s: attempt %d failed", job.video_id, job.part, attempts, exc_info=exc)
        await until_done(plans.requeue, job.video_id, job.part, token, str(exc), what="re-queuing a part")
        await asyncio.sleep(app.settings.retry_delay * attempts)
        await send(job)
        return
    reason = str(exc) if permanent else f"Processing failed {attempts} times; the last error was: {exc}"
    if await give_up(job, reason) and not permanent:
        await send_dead_letter(events.CHUNKS, job.asdict(), reason)


async def give_up(job: ChunkJob, reason: str) -> bool:
    """Fail the film: drop its plan and output and report it; False (and nothing done) when another part's
    worker gave up first and reported it."""
    if not await until_done(plans.abandon, job.video_id, job.output, what="abandoning a plan"):
        return False
    log.info("video %s failed in part %s: %s", job.video_id, job.part, reason)
    await in_thread(shutil.rmtree, app.settings.media_root / job.output, True)
    await report_failed(job.video_id, reason, job.attempt)
    return True


async def holds(job: ChunkJob, token: str) -> bool:
    """Whether this worker still holds the part (while PostgreSQL is unreachable, assume it does)."""
    try:
        return await in_thread(plans.holds, job.video_id, job.part, token)
    except sa.exc.DBAPIError:
        return True


async def finish(job: ChunkJob) -> None:
    """Assemble the film once every part is done, and report it ready. Idempotent: a second call (two
    redeliveries) finds the output assembled and reports the same."""
    info, rungs = media(job)
    output = app.settings.media_root / job.output
    ffmpeg = ffmpeg_exe(app.settings.ffmpeg_binary)

    def assemble_if_complete() -> list[dict] | None:
        with plans.locked(job.video_id) as conn:
            rows = plans.rows(conn, job.video_id)
            if not rows or rows[0].output != job.output or any(row.state != "done" for row in rows):
                return None
            if video_status(job.video_id) == VideoStatus.READY:
                return None
            renditions = chunked_encoding.assemble(ffmpeg, output, info, rungs, chunks_of(rows))
            hls.check_output(output, rungs)
            return renditions

    try:
        renditions = await until_done(assemble_if_complete, what="assembling")
    except (hls.TranscodeError, ValueError, OSError) as exc:  # a part's files vanished (storage)
        await give_up(job, f"The film could not be assembled from its parts: {exc}")
        return
    if renditions is not None:
        log.info("video %s assembled from its parts", job.video_id)
        await report_ready(job.video_id, job.output, renditions, info.duration, job.attempt)
