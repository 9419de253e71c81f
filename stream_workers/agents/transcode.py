"""The transcode agent: `videos.uploaded` -> FFmpeg -> `videos.progress` / `videos.processed`.

At-least-once delivery makes every step idempotent: a video already ready is skipped; a job that crashed
midway left an unfinished `hls-*` folder, which the next attempt removes before starting over (the video is
not ready, so no finished output can be among them). The output is watchable as soon as its first segments
exist (the video becomes `playable`, its playlists growing EVENT playlists) and `ready` once complete;
with AV1_LADDER on, a second FFmpeg run then makes its AV1 ladder, and the film is reported again with it.
Bad input fails at once with a reason; other errors (database, broker, disk) are retried a bounded number
of times, then the event goes to the dead-letter topic and the video is marked failed. Nothing here can
crash the worker into a loop.
A film from CHUNKED_MIN_SECONDS on is not transcoded here: `chunk_jobs.start_film` plans it into chunks that
every worker encodes (`agents/encode_chunks.py`); this agent is then free for the next upload.
An operator may delete a video while its job runs: the job checks the row with each progress report, stops
FFmpeg once the row is gone, and however the job ends, removes the video's folder instead of reporting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from cachetools import LRUCache

from videoflix.core import events
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, Rung, ladder_for, reached_cap
from videoflix.core.models import VideoStatus
from videoflix.core.storyboard import layout_for

from .. import (
    audio_tracks,
    av1_ladder,
    chunk_jobs,
    ffmpeg_run,
    hls_output,
    interlacing,
    jobs,
    ladder_parts,
    loudness,
    plans,
    quality,
    sheets,
    store,
    subtitle_tracks,
    topics,
)
from ..app import app
from ..db import claim_av1, in_thread, ready_output, record_subtitles, release_claim, until_done, video_status
from ..film_steps import FilmSteps
from ..ladders import H264
from ..metrics import FAILURES, JOB_SECONDS, JOBS_IN_FLIGHT
from ..records import AV1_STAGE, AV1_STAGE_ENDED, VideoUploaded
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
        await resume_av1_ladder(event)
        return

    source, info = await examined(event)
    if jobs.chunked(info):  # the chunks go to every worker; this agent is free
        await chunk_jobs.start_film(event, info)
        return
    async with jobs.FFMPEG_SLOT:
        await single_pass(event, source, info)


async def examined(event: VideoUploaded) -> tuple[store.Source, MediaInfo]:
    """The event's source and its facts, checked as at upload, with the deinterlacing verdict (reached once,
    here: a chunked film's parts carry it in their jobs)."""
    source = await in_thread(store.Source, event.source)
    info = await in_thread(source.facts)
    return source, await in_thread(interlacing.detect, ffmpeg_exe(app.settings.ffmpeg_binary), source.path, info)


async def single_pass(event: VideoUploaded, source: store.Source, info: MediaInfo) -> None:
    """One FFmpeg process makes every rendition (a film shorter than CHUNKED_MIN_SECONDS), in the work root;
    the store gets each piece as it is whole (`store.Publisher`). The film is ready once they are whole and
    measured; with AV1_LADDER on, a second run then adds the AV1 ladder (`add_av1_ladder`)."""
    settings = app.settings
    await progress(event, 0.0, hls_path="")  # (re)started: nothing to watch until the first segments exist
    await until_done(plans.abandon, event.video_id, what="dropping an earlier plan")
    await in_thread(store.remove_outputs, event.video_id)  # unfinished outputs of earlier attempts
    hls_path = f"{store.video_key(event.video_id)}hls-{uuid.uuid4().hex[:12]}"
    output = store.work_root() / hls_path
    output.mkdir(parents=True)
    publisher = store.Publisher(output, hls_path)
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
        await in_thread(checked, output, rungs, tracks)
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
        if store.remote():
            await in_thread(store.store().delete_prefix, hls_path + "/")
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
    await report_ready(event, hls_path, renditions, duration, "; ".join(notes) or None)
    if settings.av1_ladder and av1_ladder.wanted(info, settings.av1_max_seconds):
        film = Film(event, source.path, output, hls_path, info, rungs, duration)
        async with av1_claim(event.video_id) as mine:
            if mine:
                await add_av1_ladder(film, levels, renditions, scores, publisher, output.joinpath)
    await in_thread(publisher.discard_local)


def checked(output: Path, rungs: list[Rung], folders: list[str], thumbnail: bool = True) -> None:
    """`hls_output.check_output`, a full or read-only disk told from a bad file (`hls_output.check_storage`)."""
    try:
        hls_output.check_output(output, rungs, folders, thumbnail)
    except ffmpeg_run.TranscodeError:
        hls_output.check_storage(output)  # a full or read-only disk is not the file's fault
        raise


@dataclass(frozen=True)
class Film:
    """A film made ready by the single pass, as the AV1 pass takes it up."""

    event: VideoUploaded
    source: Path
    output: Path
    hls_path: str
    info: MediaInfo
    rungs: list[Rung]
    duration: float | None


async def add_av1_ladder(
    film: Film,
    levels: Mapping[int, str | None],
    renditions: list[dict],
    scores: Mapping[str, quality.Score],
    publisher: store.Publisher,
    local: Callable[[str], Path],
) -> None:
    """The AV1 ladder of a ready film, by its own FFmpeg run (`av1_ladder.build_command`: SVT-AV1 takes
    about 2.4x the H.264 pass' CPU, so the film does not wait for it), scored in the H.264 renditions' VMAF
    windows, listed in the master where it holds their quality in fewer bytes (`av1_ladder.choose_listed`),
    published, and reported again (the renditions with their AV1 twins). Its progress is reported as the
    job's is (minutes of SVT-AV1 on a short film), as a ready film's AV1 stage (`VideoProgress.stage`).
    Where SVT-AV1 fails on the film (it refuses some pictures the H.264 encoder takes), the film stays as
    it is: ready, with H.264 alone.
    `local(name)`: the local file of the output's `name` (the H.264 segments the scoring reads). A worker
    that dies meanwhile leaves the film ready with H.264 alone; the event, redelivered, resumes the pass
    (`resume_av1_ladder`)."""
    settings, event, output = app.settings, film.event, film.output
    ffmpeg = ffmpeg_exe(settings.ffmpeg_binary)
    await in_thread(av1_ladder.make_folders, output, film.rungs)
    argv = FilmSteps(film.info, film.rungs, av1_ladder.LADDER, audio_filters=levels).ladder_pass(
        ffmpeg, film.source, output
    )
    last_checked = time.monotonic()
    await progress(event, 0.0, stage=AV1_STAGE)

    async def on_progress(parser: ffmpeg_run.ProgressParser) -> None:
        nonlocal last_checked
        if time.monotonic() - last_checked >= settings.progress_interval:
            last_checked = time.monotonic()
            if await jobs.deleted(event.video_id):
                raise jobs.VideoDeleted  # stops FFmpeg; handle() discards the output
            percent, speed = parser.percent(film.info.duration), parser.speed or None  # (N/A, 0x: not known yet)
            await progress(event, percent, stage=AV1_STAGE, speed=speed, eta_seconds=parser.eta(film.info.duration))

    try:
        result = await ffmpeg_run.run_ffmpeg(
            argv, on_progress, settings.job_timeout, settings.stall_timeout, av1_ladder.LADDER.niceness
        )
        await in_thread(checked, output, [], av1_ladder.folders(film.rungs), False)
    except BaseException as exc:
        await in_thread(shutil.rmtree, output / av1_ladder.FOLDER, True)  # nothing names it
        if not isinstance(exc, ffmpeg_run.TranscodeError):
            raise
        log.warning("video %s: no AV1 ladder (%s); H.264 alone", event.video_id, exc)
        await progress(event, 0.0, stage=AV1_STAGE_ENDED)
        return
    twins = await in_thread(
        quality.measured, ffmpeg, film.source, film.info, local, film.rungs, settings.quality_samples,
        av1_ladder.twins(film.rungs), False,
    )  # fmt: skip
    renditions, listed = await in_thread(
        av1_ladder.choose_listed, output, film.rungs, renditions, {**scores, **twins}, settings.vmaf_floor,
        settings.quality_samples > 0,
    )  # fmt: skip
    await in_thread(hls_output.finalize_playlists, output, [], listed)
    await in_thread(publisher.publish, [], True, listed)  # (the H.264 ladder is in the store since ready)
    log.info("video %s: AV1 ladder made in %.1f s, %s", event.video_id, result.wall_seconds,
             "listed" if listed else "not listed (H.264 holds its quality better)")  # fmt: skip
    if await jobs.deleted(event.video_id):
        raise jobs.VideoDeleted
    _recently_done[event.video_id] = time.monotonic()  # (a duplicate that waited for this pass finds it done)
    await report_ready(event, film.hls_path, renditions, film.duration)


@contextlib.asynccontextmanager
async def av1_claim(video_id: int) -> AsyncIterator[bool]:
    """Whether this worker may run the film's AV1 pass: none other is running it (`db.claim_av1`)."""
    conn = await until_done(claim_av1, video_id, what="claiming the AV1 pass")
    if conn is None:
        log.info("video %s: another worker is making its AV1 ladder", video_id)
    try:
        yield conn is not None
    finally:
        if conn is not None:
            await in_thread(release_claim, conn)


async def resume_av1_ladder(event: VideoUploaded) -> None:
    """The event of a ready film, again: its worker died after the film was ready, during its AV1 pass (the
    event was not acknowledged), or it is a duplicate. Where the film wants the AV1 ladder and has no verdict
    on it (`av1_ladder.unfinished`), the pass runs again from the start: whatever the interrupted one left
    goes (its folder; its variants, had it listed them), the H.264 scores are the ones reported (not
    measured again), and the H.264 segments it scores beside are fetched from the store as needed. A film
    made in parts has its further ladders made in parts: what remains of their plans is queued again
    (`ladder_parts.resume`; the watchdog queues such a film when its plan is idle)."""
    settings = app.settings
    ready = None
    if settings.av1_ladder:
        ready = await until_done(ready_output, event.video_id, what="reading the ready film")
    if ready is None or not av1_ladder.unfinished(ready.renditions):
        log.info("video %s is already ready; redelivered event ignored", event.video_id)
        return
    source, info = await examined(event)
    if jobs.chunked(info):  # its further ladders are made in parts
        if not await ladder_parts.resume(event, info, ready):
            log.info("video %s is already ready; redelivered event ignored", event.video_id)
        return
    if not av1_ladder.wanted(info, settings.av1_max_seconds):
        log.info("video %s is already ready (H.264 alone); redelivered event ignored", event.video_id)
        return
    log.info("video %s is ready without its AV1 ladder's verdict: the AV1 pass runs again", event.video_id)
    output, stored = store.work_root() / ready.hls_path, store.Output(ready.hls_path)
    async with jobs.FFMPEG_SLOT, av1_claim(event.video_id) as mine:
        if not mine:
            return
        master = await in_thread(stored.fetch, output, "master.m3u8")
        h264_alone = av1_ladder.without_variants(await in_thread(master.read_text, "utf-8"))
        await in_thread(hls_output.write_atomically, master, h264_alone)
        if store.remote():
            await in_thread(stored.write_text, "master.m3u8", h264_alone)
        await in_thread(stored.remove, av1_ladder.FOLDER)  # (in the store, and in scratch)
        rungs = ladder_for(info.short_side)
        levels = await in_thread(loudness.filters, ffmpeg_exe(settings.ffmpeg_binary), source.path, info)
        film = Film(event, source.path, output, ready.hls_path, info, rungs, ready.duration)
        publisher = store.Publisher(output, ready.hls_path)
        try:
            await add_av1_ladder(
                film, levels, ready.renditions, quality.recorded(ready.renditions), publisher,
                lambda name: stored.fetch(output, name),
            )  # fmt: skip
        finally:
            await in_thread(publisher.discard_local)
