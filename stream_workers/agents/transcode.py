"""The transcode agent: `videos.uploaded` -> FFmpeg -> `videos.progress` / `videos.processed`.

At-least-once delivery makes every step idempotent: a video already ready is skipped; a job that crashed
midway left an unfinished `hls-*` folder, which the next attempt removes before starting over (the video is
not ready, so no finished output can be among them). The output is watchable as soon as its first segments
exist (the video becomes `playable`, its playlists growing EVENT playlists) and `ready` once complete; its
further ladders (the best H.264, AV1, HEVC) are planned in parts then (`ladder_plans`), which every worker's
further-ladders agent makes, and the film is reported again with each: this agent is free for the next upload at once.
Bad input fails at once with a reason; other errors (database, broker, disk) are retried a bounded number
of times, then the event goes to the dead-letter topic and the video is marked failed. Nothing here can
crash the worker into a loop.
A film from PARTS_FROM_SECONDS on is not transcoded here: `part_jobs.start_film` plans it into parts that
every worker encodes (`agents/encode_parts.py`); this agent is then free for the next upload.
An operator may delete a video while its job runs: the job checks the row with each progress report, stops
FFmpeg once the row is gone, and however the job ends, removes the video's folder instead of reporting.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import shutil
import time
import uuid

from cachetools import LRUCache

from videoflix.core import events
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, ladder_for, reached_cap
from videoflix.core.models import VideoStatus
from videoflix.core.storyboard import layout_for

from .. import (
    audio_tracks,
    caption_jobs,
    ffmpeg_run,
    film_keys,
    hls,
    hls_output,
    interlacing,
    jobs,
    ladder_plans,
    ladder_registry,
    loudness,
    part_jobs,
    plans,
    quality,
    seeking,
    sheets,
    storage,
    subtitle_tracks,
    topics,
)
from ..app import app
from ..caption_stage import CAPTIONS
from ..db import in_thread, record_subtitles, until_done, video_status
from ..film_steps import FilmSteps
from ..ladders import H264
from ..metrics import FAILURES, JOB_SECONDS, JOBS_IN_FLIGHT
from ..records import VideoUploaded
from ..reports import failure_cause, progress, readable, report_failed, report_ready, send_dead_letter

log = logging.getLogger(__name__)


@app.agent(topics.uploaded, concurrency=1)
async def transcode(stream):
    async for payload in stream:
        await handle(payload)


async def handle(payload) -> None:
    if (event := await readable(VideoUploaded, payload, events.UPLOADED)) is None:
        return
    try:
        with JOBS_IN_FLIGHT.track_inprogress():
            await process(event)
    except asyncio.CancelledError:
        raise  # the worker is stopping: the event is not acknowledged and will be redelivered
    except Exception as exc:
        if await jobs.deleted(event.video_id):  # the error may only be the deletion pulling files from under FFmpeg
            await jobs.discard(event.video_id)
        else:
            await failed(event, payload, exc)


async def failed(event: VideoUploaded, payload, exc: Exception) -> None:
    """Report why a job failed: bad input at once; a machine fault is queued again until `max_attempts`."""
    if isinstance(exc, ffmpeg_run.TranscodeError):
        log.info("video %s failed: %s", event.video_id, exc)
        FAILURES.labels(failure_cause(exc)).inc()
        await report_failed(event, str(exc))
        return
    FAILURES.labels(failure_cause(exc)).inc()
    attempts = event.attempt + 1
    log.error("video %s: attempt %d failed", event.video_id, attempts, exc_info=exc)
    if attempts < app.settings.max_attempts:
        await asyncio.sleep(app.settings.retry_delay * attempts)
        retry = VideoUploaded(video_id=event.video_id, source=event.source, attempt=attempts, token=event.token)
        await topics.uploaded.send(key=topics.key(event.video_id), value=retry)
    else:
        reason = f"Processing failed {attempts} times; the last error was: {exc}"
        await send_dead_letter(events.UPLOADED, payload, reason)
        await report_failed(event, reason)


#: video id -> when this worker finished transcoding it. A duplicate event (a redelivery, or the watchdog's
#: requeue) reaches the same worker (events are keyed by video id) and can arrive before the results agent has
#: written `ready`; this spares it a second transcode. Across workers the database check covers it.
_recently_done: LRUCache[int, float] = LRUCache(maxsize=4096)
RECENT = 600.0


async def process(event: VideoUploaded) -> None:
    finished = _recently_done.get(event.video_id)
    if finished is not None and time.monotonic() - finished < RECENT:
        log.info("video %s was transcoded here %.0f s ago; duplicate event ignored", event.video_id,
                 time.monotonic() - finished)  # fmt: skip
        return
    status = await until_done(video_status, event.video_id, what="reading the video's status")
    if status is None:
        log.info("video %s no longer exists; nothing to do", event.video_id)
        return
    if status == VideoStatus.READY:
        # its speech's plan idle (the watchdog): the parts no live worker holds are queued again
        captions = await until_done(plans.current, event.video_id, CAPTIONS, what="reading the video's plan")
        if captions:
            await caption_jobs.resume(event)
        if not await ladder_plans.resume(event, examined) and not captions:
            log.info("video %s is already ready; redelivered event ignored", event.video_id)
        return

    source, info = await examined(event)
    if jobs.in_parts(info):  # the parts go to every worker; this agent is free
        await part_jobs.start_film(event, info)
        return
    async with jobs.FFMPEG_SLOT:
        await single_pass(event, source, info)


async def examined(event: VideoUploaded) -> tuple[storage.Source, MediaInfo]:
    """The event's source and its facts, checked as at upload, with the deinterlacing verdict and whether it
    decodes cleanly from a seek (reached once, here: a long film's parts carry them in their jobs)."""
    source = await in_thread(storage.Source, event.source)
    info = await in_thread(source.facts)
    ffmpeg = ffmpeg_exe(app.settings.ffmpeg_binary)
    if not (info := await in_thread(seeking.check, ffmpeg, source.path, info)).seeks:  # (first: idet reads by it)
        log.info("video %s does not decode cleanly from a seek: read from its start, in one pass", event.video_id)
    return source, await in_thread(interlacing.detect, ffmpeg, source.path, info)


async def single_pass(event: VideoUploaded, source: storage.Source, info: MediaInfo) -> None:
    """One FFmpeg process makes every rendition (a film shorter than PARTS_FROM_SECONDS), in the work root;
    the store gets each piece as it is whole (`storage.Publisher`). The film is ready once they are whole and
    measured; its further ladders are planned in parts before it is reported so (`ladder_plans.start`)."""
    settings = app.settings
    await progress(event, 0.0, hls_path="")  # (re)started: nothing to watch until the first segments exist
    await until_done(plans.abandon, event.video_id, what="dropping an earlier plan")
    await in_thread(storage.remove_outputs, event.video_id)  # unfinished outputs of earlier attempts
    hls_path = f"{storage.video_key(event.video_id)}hls-{uuid.uuid4().hex[:12]}"
    keys = await in_thread(film_keys.planned, event.video_id)  # (a database fault fails the attempt: retried)
    output = storage.work_root(keys) / hls_path
    output.mkdir(parents=True)
    publisher = storage.Publisher(output, hls_path, keys)
    rungs = ladder_for(info.short_side)
    tracks = audio_tracks.folders(info)  # the alternate audio tracks' playlists, beside the renditions'
    ffmpeg = ffmpeg_exe(settings.ffmpeg_binary)
    extracted = subtitle_tracks.extraction_folder(output, info)
    notes: list[str] = []  # what an operator should know of the ready film (a track left out)
    storyboard = await in_thread(
        sheets.make_frames_folder, output, layout_for(info.width, info.height, info.bounded_length)
    )
    levels = await in_thread(loudness.filters, ffmpeg, source.path, info)
    await in_thread(audio_tracks.make_folders, output, info)
    steps = FilmSteps(info, rungs, H264.at(settings.x264_preset), settings.ladder_crf, storyboard=storyboard,
                      audio_filters=levels, subtitles=extracted)  # fmt: skip
    argv = steps.single_pass(ffmpeg, source.path, output)
    last_sent = time.monotonic()
    playable = False

    async def detail(parser: ffmpeg_run.ProgressParser) -> dict:
        """Speed and ETA from FFmpeg's own figures; per rendition, what its playlist has published."""
        published = await in_thread(hls_output.published_seconds, output, rungs)

        def share(seconds: float) -> float | None:
            return round(min(100.0, 100.0 * seconds / info.duration), 1) if info.duration else None

        return {
            "speed": parser.speed,
            "eta_seconds": parser.eta(info.duration),
            "rendition_progress": {
                name: {"seconds": round(seconds, 1), "percent": share(seconds)} for name, seconds in published.items()
            },
        }

    async def on_progress(parser: ffmpeg_run.ProgressParser) -> None:
        nonlocal last_sent, playable
        percent = parser.percent(info.duration)
        if not playable and await in_thread(hls_output.first_segments_ready, output, rungs, tracks):
            playable = True
            await in_thread(audio_tracks.add_group, output, info)
            await in_thread(hls_output.start_at_beginning, output)
            renditions = await in_thread(hls_output.master_renditions, output, rungs)
            await in_thread(sheets.tile, ffmpeg, output, storyboard)
            await in_thread(publisher.publish, rungs, True, tracks)  # in the store before the database names it
            await progress(event, percent, hls_path=hls_path, renditions=renditions, **await detail(parser))
            log.info("video %s is playable after %.1f s", event.video_id, time.monotonic() - started)
        elif time.monotonic() - last_sent >= settings.progress_interval:
            last_sent = time.monotonic()
            if await jobs.deleted(event.video_id):
                raise jobs.VideoDeleted  # stops FFmpeg; handle() discards the output
            await in_thread(sheets.tile, ffmpeg, output, storyboard)
            await in_thread(publisher.publish, rungs, playable, tracks)
            await progress(event, percent, **await detail(parser))

    started = time.monotonic()
    try:
        result = await ffmpeg_run.run_ffmpeg(argv, on_progress, settings.job_timeout, settings.stall_timeout)
        made = min((await in_thread(hls_output.published_seconds, output, rungs)).values(), default=None)  # as made
        if problem := reached_cap(info, made):  # it holds more than was checked
            raise ffmpeg_run.TranscodeError(problem)
        await in_thread(hls_output.checked, output, rungs, tracks)
        renditions = await in_thread(hls_output.master_renditions, output, rungs)
        scores = await in_thread(
            quality.measured, ffmpeg, source.path, info, output.joinpath, rungs, settings.quality_samples
        )
        renditions = quality.with_quality(renditions, scores, settings.vmaf_floor)
        # again: FFmpeg rewrites the master when it ends (with the bandwidths it measured), without the group
        await in_thread(audio_tracks.add_group, output, info)
        await in_thread(hls_output.finalize_playlists, output, rungs, tracks)
        await in_thread(sheets.tile, ffmpeg, output, storyboard, 0, True)
        await in_thread(publisher.publish, rungs, True, tracks)
        subtitles = await in_thread(subtitle_tracks.collect, event.video_id, info, extracted, notes)
    except BaseException:
        await in_thread(shutil.rmtree, output, True)
        if publisher.staged:
            await in_thread(storage.backend().delete_prefix, hls_path + "/")
        raise
    finally:
        if extracted is not None:
            await in_thread(shutil.rmtree, extracted, True)
    log.info(
        "video %s transcoded in %.1f s (%s)", event.video_id, result.wall_seconds, ", ".join(r.name for r in rungs)
    )
    if await jobs.deleted(event.video_id):
        raise jobs.VideoDeleted
    _recently_done[event.video_id] = time.monotonic()
    JOB_SECONDS.labels(rungs[-1].name).observe(result.wall_seconds)
    await until_done(record_subtitles, event.video_id, subtitles, what="recording the subtitle tracks")
    duration = info.duration or made or None  # a length the file left unsaid: what was made of it
    await in_thread(publisher.discard_local)  # (in the store: the further ladders' parts fetch what they need)
    if duration and (ladders := ladder_registry.wanted(info, settings, settings.av1_max_seconds)):
        made_info = info if info.duration else dataclasses.replace(info, duration=duration)
        film = ladder_plans.film_job(event, hls_path, made_info, hls.ONE_PASS_CLOCK)
        await ladder_plans.start(film, made_info, ladder_plans.cut(made_info, duration), ladders)
    await report_ready(event, hls_path, renditions, duration, "; ".join(notes) or None)
    await caption_jobs.request(event, event.source, info)
