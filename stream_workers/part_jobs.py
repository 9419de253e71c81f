"""Transcoding in parts across workers: starting a long film's plan (`start_film`, from the transcode agent)
and running one job of it (`run_job`, from the part agent: `videos.parts` -> FFmpeg for one part of the
film -> its plan in PostgreSQL, `plans`). The FFmpeg side, cutting, muxing and the playlists, is in
`film_parts`.

A film at least PARTS_FROM_SECONDS long is cut into PART_SECONDS parts; the
planning worker encodes the first part and the whole film's audio itself, at once (the film plays as soon as
they have begun); every other part is one job on the part topic, keyed by video and part, so the jobs of a
film spread over the partitions and the workers owning them encode the film at once (by the key's hash: a
worker may get more parts than another). Delivery is at least once, so a job is only run by the worker that
claims it in PostgreSQL; a duplicate finds it running or done.
Workers share nothing but the database and the store (`storage.Output`): the audio job publishes its segments
and playlist there as they are whole; the worker encoding a part serves that part's segments itself as their
picture and sound exist (muxed with the audio segments, fetched from the store), and records them in its
plan row; under the plan's lock, each worker's progress report then writes the film's EVENT playlists from
the rows (the finished parts from the first on, then the segments the next one has so far): the film is
`playable` as soon as the first part's first segments and the audio's exist, as with a single pass. A part
is done once every segment is served (a part whose sound is late waits for it, without the worker's FFmpeg
slot); the worker that finishes the last part writes the VOD playlists and reports the video ready. A part
that fails for a passing reason is run again alone; bad input, or a part failing TRANSCODE_MAX_ATTEMPTS
times, fails the film, and the other parts' workers stop.
A worker killed mid-part: its claim goes stale and the redelivered job (or the watchdog's re-queue, which
resumes the plan and keeps the finished parts) runs it again, keeping the segments already served.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import uuid
from pathlib import Path

from videoflix.core import events
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, ladder_for
from videoflix.core.models import VideoStatus

from . import (
    caption_jobs,
    ffmpeg_run,
    film_keys,
    film_parts,
    hls_output,
    jobs,
    ladder_parts,
    ladder_plans,
    ladder_registry,
    part_attempts,
    part_playlists,
    plans,
    quality,
    storage,
)
from .app import app
from .db import in_thread, until_done, video_status
from .hls import PARTS_CLOCK
from .part_run import PartRun, send
from .records import PartJob, VideoUploaded
from .reports import progress, readable, report_failed, report_ready, send_dead_letter

log = logging.getLogger(__name__)

AUDIO_PART = plans.AUDIO_PART


async def start_film(event: VideoUploaded, info: MediaInfo) -> None:
    """Queue the jobs of a film's plan: a new plan, or what remains of one whose output is still there (a
    redelivered or re-queued upload event: the finished parts are kept)."""
    existing = await until_done(plans.current, event.video_id, what="reading the video's plan")
    if existing and await in_thread(storage.Output(existing[0].output).started):  # (the store alone: no keys)
        jobs = await until_done(plans.unfinished, event.video_id, what="reading the video's plan")
        if not jobs and all(row.state == "done" for row in existing):
            jobs = existing[-1:]  # every part is done, the assembly is not: a finished part's job triggers it
        log.info("video %s: plan resumed, %d of %d jobs queued again", event.video_id, len(jobs), len(existing))
    else:
        existing = []
        await progress(event, 0.0, hls_path="")  # (re)started: nothing to watch until the first segments exist
        await in_thread(storage.remove_outputs, event.video_id)
        relative = f"{storage.video_key(event.video_id)}hls-{uuid.uuid4().hex[:12]}"
        await until_done(film_keys.planned, event.video_id, what="making the film's keys")
        parts = film_parts.cut_film(info.duration, app.settings.part_seconds)
        jobs = await until_done(plans.create, event.video_id, relative, parts, info.has_audio, what="planning")
        log.info("video %s: %d parts of %d s planned", event.video_id, len(parts), app.settings.part_seconds)
    media = dataclasses.asdict(info)
    queued = [
        PartJob(video_id=event.video_id, part=row.part, output=row.output, source=event.source,
                 start=row.start, length=row.length, media=media, attempt=event.attempt,
                 crf=app.settings.ladder_crf, token=event.token)
        for row in jobs
    ]  # fmt: skip
    first = [job for job in queued if job.part in (AUDIO_PART, 0)] if not existing else []
    # The film plays once part 0 and the audio have begun. Through the topic they would wait behind whatever
    # the workers owning their partitions run (measured: 238 s for 10 min of 1080p with 2 workers), so the
    # planning worker runs them itself, now, beside any job it has; the other parts go to every worker,
    # queued once these have started (a first send to the topic can wait for the broker's metadata).
    started = [asyncio.ensure_future(run_job(job.asdict(), at_once=True)) for job in first]
    try:
        await asyncio.sleep(0)  # the first jobs take the FFmpeg slot before a queued part can
        for job in queued:
            if job.part not in {j.part for j in first}:
                await send(job)
    except BaseException:  # the worker stops, or the broker failed: the first jobs give their parts back
        for task in started:
            task.cancel()
        await asyncio.gather(*started, return_exceptions=True)
        raise
    await asyncio.gather(*started)


async def run_job(payload, at_once: bool = False) -> None:
    """Run one job of a plan; `at_once`: without waiting for the worker's FFmpeg slot (the first part and
    the audio, run by the planner). FFmpeg runs in the slot; waiting for the sound a part's last segments
    need does not (the audio job, run again after a failure, may need this very slot)."""
    if (job := await readable(PartJob, payload, events.PARTS)) is None:
        return
    if job.ladder != plans.FIRST_LADDER:  # a further ladder's part sent here by an older worker (`part_run.send`)
        await ladder_parts.run_job(job)
        return
    async with slot_for(job, at_once):
        token = uuid.uuid4().hex
        outcome, attempts = await until_done(
            plans.claim, job.video_id, job.part, job.output, token, what="claiming a part"
        )
        if outcome != "claimed":
            log.info("video %s part %s is %s; job skipped", job.video_id, job.part, outcome)
            if outcome == "done":
                await finish(job)  # a redelivered job whose worker died before it assembled the film
            return
        served = await until_done(plans.served, job.video_id, job.part, what="reading a part")
        part = PartRun(job, token, served, await until_done(film_keys.output, job.output, what="reading the keys"))
        if not await attempt(part, attempts, part.encode):
            return
    if at_once:
        await complete_part(part, attempts)
    else:  # the part agent takes its next job meanwhile: it may be the audio this part waits for
        task = asyncio.ensure_future(complete_part(part, attempts))
        _completing.add(task)
        task.add_done_callback(_completing.discard)


#: parts whose FFmpeg has ended, serving the rest and waiting for their sound (strong references)
_completing: set[asyncio.Task] = set()


async def parts_completed() -> None:
    """Wait until no part completes in the background (a worker stopping cancels them instead)."""
    while _completing:
        await asyncio.gather(*list(_completing), return_exceptions=True)


async def complete_part(part: PartRun, attempts: int) -> None:
    """Serve the rest of an encoded part and mark it done (`PartRun.complete`); then, if it was the plan's last,
    assemble the film. A worker that dies meanwhile leaves the part's claim to go stale: it runs again."""
    if await attempt(part, attempts, part.complete) and part.last_done:
        await finish(part.job)


def slot_for(job: PartJob, at_once: bool) -> contextlib.AbstractAsyncContextManager:
    """The FFmpeg slot a job runs in. The planner's first part takes the slot when it is free, so that a
    later part of the same film, just queued to this worker, waits instead of slowing the part that makes
    the film playable (measured: 7.2 s to playable for 4 min of 1080p with one worker, against 4.4 s for a
    single pass); when the slot is busy it runs beside (it must not wait behind another film's part). The
    audio job, far lighter, always runs beside."""
    if not at_once:
        return jobs.FFMPEG_SLOT
    if job.part != AUDIO_PART and not jobs.FFMPEG_SLOT.locked():
        return jobs.FFMPEG_SLOT  # free: acquired at once
    return contextlib.nullcontext()


async def attempt(part: PartRun, attempts: int, step) -> bool:
    """Run one step of a claimed part; whether it went through (`part_attempts.attempt`; a failure for good
    fails the film: `fail_film`)."""
    job = part.job

    async def plan_gone() -> None:  # withdrawn: if the plan is gone, so is its output
        if not await until_done(plans.current, job.video_id):
            await in_thread(film_keys.output(job.output).remove)

    async def fail_film(exc: Exception, tried: int) -> None:
        permanent = isinstance(exc, ffmpeg_run.TranscodeError)
        reason = str(exc) if permanent else f"Processing failed {tried} times; the last error was: {exc}"
        if await give_up(job, reason) and not permanent:
            await send_dead_letter(events.PARTS, job.asdict(), reason)

    drop = functools.partial(part.output.drop_workspace, job.part)
    return await part_attempts.attempt(job, part.token, attempts, step, drop, fail_film, plan_gone)


async def give_up(job: PartJob, reason: str) -> bool:
    """Fail the film: drop its plan and output and report it; False (and nothing done) when another part's
    worker gave up first and reported it."""
    if not await until_done(plans.abandon, job.video_id, job.output, what="abandoning a plan"):
        return False
    log.info("video %s failed in part %s: %s", job.video_id, job.part, reason)
    await in_thread(film_keys.output(job.output).remove)
    await report_failed(job, reason)
    return True


def rate(job: PartJob, info: MediaInfo, rungs, output: storage.Output, renditions: list[dict]) -> list[dict]:
    """(In a thread.) The assembled film's renditions with their measured quality (`quality.rated`): the
    sampled segments fetched from the store into a workspace of this worker's, dropped after."""
    settings = app.settings
    folder = output.workspace(0)
    try:
        source = storage.Source(job.source).path
        return quality.rated(
            ffmpeg_exe(settings.ffmpeg_binary), source, info, lambda name: output.fetch(folder, name), rungs,
            renditions, settings.vmaf_floor, settings.quality_samples,
        )  # fmt: skip
    except (ffmpeg_run.TranscodeError, storage.StorageUnavailable, OSError) as exc:
        log.warning("video %s: quality not measured (%s)", job.video_id, exc)
        return renditions
    finally:
        output.drop_workspace(0)


async def finish(job: PartJob) -> None:
    """Write the film's final playlists once every part is done, and report it ready. Idempotent: a second
    call (two redeliveries) finds the output assembled and reports the same."""
    info = MediaInfo(**job.media)
    rungs = ladder_for(info.short_side)
    output = await until_done(film_keys.output, job.output, what="reading the film's keys")

    parts: list[film_parts.Part] = []  # the plan's cut, which the further ladders take

    def assemble_if_complete() -> list[dict] | None:
        with plans.locked(job.video_id) as conn:
            rows = plans.rows(conn, job.video_id)
            if not rows or rows[0].output != job.output or any(row.state != "done" for row in rows):
                return None
            if video_status(job.video_id) == VideoStatus.READY:
                return None
            parts[:] = [film_parts.Part(r.part, r.start, r.length) for r in rows if r.part != AUDIO_PART]
            if part_playlists.assembled(output.read_text, rungs):  # a worker that died right after writing
                renditions = hls_output.renditions_in(output.read_text("master.m3u8"), rungs)
            else:
                if not output.exists("thumbnail.jpg"):
                    raise ffmpeg_run.TranscodeError("No thumbnail could be made: the video could not be decoded.")
                served = [row.served for row in rows if row.part != AUDIO_PART]
                playlists, renditions = part_playlists.final_playlists(info, rungs, served)
                for name, text in playlists.items():  # the master first, the VOD rendition playlists last
                    output.write_text(name, text)
            output.remove(part_playlists.PARTS)
            for partial in Path(output.workspace(0)).glob("*/*.new"):  # a worker killed while it muxed
                partial.unlink(missing_ok=True)
            return renditions

    try:
        renditions = await until_done(assemble_if_complete, what="assembling")
    except storage.StorageUnavailable as exc:  # every part is kept: the watchdog's re-queue finishes the film
        log.warning("video %s: not assembled, the store is unavailable (%s)", job.video_id, exc)
        return
    except (ffmpeg_run.TranscodeError, ValueError, OSError) as exc:  # a part's files vanished (storage)
        await give_up(job, f"The film could not be assembled from its parts: {exc}")
        return
    if renditions is not None:
        log.info("video %s assembled from its parts", job.video_id)
        renditions = await in_thread(rate, job, info, rungs, output, renditions)
        film = ladder_plans.film_job(job, job.output, info, PARTS_CLOCK)
        # (planned before the film is ready: the rows are the record)
        await ladder_plans.start(film, info, parts, ladder_registry.wanted(info, app.settings))
        await report_ready(job, job.output, renditions, info.duration)
        await caption_jobs.request(job, job.source, info)
