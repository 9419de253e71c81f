"""Chunked transcoding across workers: starting a long film's plan (`start_film`, from the transcode agent)
and running one job of it (`run_job`, from the chunk agent: `videos.chunks` -> FFmpeg for one part of the
film -> its plan in PostgreSQL, `plans`). The FFmpeg side, cutting, muxing and the playlists, is in
`chunked_encoding`.

A film at least CHUNKED_MIN_SECONDS long is cut into CHUNK_SECONDS parts; the
planning worker encodes the first part and the whole film's audio itself, at once (the film plays as soon as
they have begun); every other part is one job on the chunk topic, keyed by video and part, so the jobs of a
film spread over the partitions and the workers owning them encode the film at once (by the key's hash: a
worker may get more parts than another). Delivery is at least once, so a job is only run by the worker that
claims it in PostgreSQL; a duplicate finds it running or done.
Workers share nothing but the database and the store (`store.Output`): the audio job publishes its segments
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
import logging
import shutil
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

from videoflix.core import events
from videoflix.core import storyboard as storyboards
from videoflix.core.media import MediaInfo, ffmpeg_exe, ladder_for, reached_cap
from videoflix.core.models import VideoStatus
from videoflix.core.storyboard import plan_for

from . import (
    audio_tracks,
    chunked_encoding,
    hls,
    jobs,
    loudness,
    plans,
    quality,
    sheets,
    store,
    subtitle_tracks,
    topics,
)
from .app import app
from .chunked_encoding import AUDIO_PLAYLIST, Chunk, Playlist
from .db import in_thread, record_subtitles, until_done, video_status
from .metrics import FAILURES, JOBS_IN_FLIGHT
from .records import ChunkJob, VideoUploaded
from .reports import failure_cause, progress, readable, report_failed, report_ready, send_dead_letter

log = logging.getLogger(__name__)

AUDIO_PART = plans.AUDIO_PART
#: how much lower the audio job's CPU priority is (`Part.encode`)
AUDIO_NICENESS = 5


async def start_film(event: VideoUploaded, info: MediaInfo) -> None:
    """Queue the jobs of a film's plan: a new plan, or what remains of one whose output is still there (a
    redelivered or re-queued upload event: the finished parts are kept)."""
    existing = await until_done(plans.current, event.video_id, what="reading the video's plan")
    if existing and await in_thread(store.Output(existing[0].output).started):
        jobs = await until_done(plans.unfinished, event.video_id, what="reading the video's plan")
        if not jobs and all(row.state == "done" for row in existing):
            jobs = existing[-1:]  # every part is done, the assembly is not: a finished part's job triggers it
        log.info("video %s: plan resumed, %d of %d jobs queued again", event.video_id, len(jobs), len(existing))
    else:
        existing = []
        await progress(event, 0.0, hls_path="")  # (re)started: nothing to watch until the first segments exist
        await in_thread(store.remove_outputs, event.video_id)
        relative = f"{store.video_key(event.video_id)}hls-{uuid.uuid4().hex[:12]}"
        parts = chunked_encoding.cut_film(info.duration, app.settings.chunk_seconds)
        jobs = await until_done(plans.create, event.video_id, relative, parts, info.has_audio, what="planning")
        log.info("video %s: %d chunks of %d s planned", event.video_id, len(parts), app.settings.chunk_seconds)
    media = dataclasses.asdict(info)
    queued = [
        ChunkJob(video_id=event.video_id, part=row.part, output=row.output, source=event.source,
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


async def send(job: ChunkJob) -> None:
    await topics.chunks.send(key=topics.chunk_key(job.video_id, job.part), value=job)


async def run_job(payload, at_once: bool = False) -> None:
    """Run one job of a plan; `at_once`: without waiting for the worker's FFmpeg slot (the first part and
    the audio, run by the planner). FFmpeg runs in the slot; waiting for the sound a part's last segments
    need does not (the audio job, run again after a failure, may need this very slot)."""
    if (job := await readable(ChunkJob, payload, events.CHUNKS)) is None:
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
        part = Part(job, token, await until_done(plans.served, job.video_id, job.part, what="reading a part"))
        if not await attempt(part, attempts, part.encode):
            return
    if at_once:
        await settle(part, attempts)
    else:  # the chunk agent takes its next job meanwhile: it may be the audio this part waits for
        task = asyncio.ensure_future(settle(part, attempts))
        _settling.add(task)
        task.add_done_callback(_settling.discard)


#: parts whose FFmpeg has ended, serving the rest and waiting for their sound (strong references)
_settling: set[asyncio.Task] = set()


async def settled() -> None:
    """Wait until no part settles in the background (a worker stopping cancels them instead)."""
    while _settling:
        await asyncio.gather(*list(_settling), return_exceptions=True)


async def settle(part: Part, attempts: int) -> None:
    """Serve the rest of an encoded part and mark it done (`Part.settle`); then, if it was the plan's last,
    assemble the film. A worker that dies meanwhile leaves the part's claim to go stale: it runs again."""
    if await attempt(part, attempts, part.settle) and part.last_done:
        await finish(part.job)


def slot_for(job: ChunkJob, at_once: bool) -> contextlib.AbstractAsyncContextManager:
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


async def attempt(part: Part, attempts: int, step) -> bool:
    """Run one step of a claimed part; whether it went through (a failure is handled: `failed`). A worker
    that is stopping gives the part back, so the worker taking over runs it at once."""
    job = part.job
    try:
        with JOBS_IN_FLIGHT.track_inprogress():
            await step()
        return True
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(in_thread(plans.release, job.video_id, job.part, part.token)), 5)
        raise
    except Exception as exc:
        await in_thread(part.output.drop_workspace, job.part)
        await failed(job, part.token, attempts, exc)
        return False


class Part:
    """One claimed job of a plan on this worker: its FFmpeg run, and serving and recording what it made.

    A video part serves its own segments (`chunked_encoding.serve_chunk`) and records them in its row; the
    audio part publishes its segments and playlist to the store as they are whole (nothing to do on the
    local backend, where its folder is the output). Every report, under the plan's lock, renews the claim
    and writes the film's playlists from the rows."""

    def __init__(self, job: ChunkJob, token: str, served: chunked_encoding.Served):
        self.job, self.token, self.served = job, token, served
        self.info = MediaInfo(**job.media)
        self.rungs = ladder_for(self.info.short_side)
        self.output = store.Output(job.output)
        self.folder = self.output.workspace(job.part)
        self.ffmpeg = ffmpeg_exe(app.settings.ffmpeg_binary)
        self.chunk = Chunk(job.part, job.start, job.length)
        self.sent_audio: set[str] = set()
        self.sent_sheets: set[str] = set()  # the storyboard's files this job has sent
        self.storyboard = plan_for(
            self.info.width, self.info.height, self.info.bounded_length, app.settings.chunk_seconds
        )
        self.written: dict[str, str] = {}  # playlists this job last wrote
        self.thumbnail: bytes | None = None  # what this part last sent as the film's thumbnail
        self.last_done = False  # the plan's last part to finish was this one
        self.began = time.monotonic()
        self.encoded_in = 0.0  # seconds FFmpeg took
        # this run's FFmpeg has ended: only then are the part's playlists in the folder its own. A worker that
        # died after its run of the part had ended leaves ended playlists behind (the local backend's folder
        # is the film's output), and a run taking the part over took them for its own end: it tiled its last
        # storyboard sheet and removed the preview frames' folder under its FFmpeg, which failed the film
        self.ended = False
        self.announced = False  # this job has logged that the film is playable

    @property
    def audio(self) -> bool:
        return self.job.part == AUDIO_PART

    async def encode(self) -> None:
        """Run the part's FFmpeg job, reporting as it goes."""
        info, job = self.info, self.job
        source = (await in_thread(store.Source, job.source)).path
        await in_thread(self.folder.mkdir, parents=True, exist_ok=True)
        extracted = None
        if self.audio:  # the one job that reads the whole film: it also extracts its subtitle streams
            extracted = await in_thread(subtitle_tracks.extraction_folder, self.folder, info)
            levels = await in_thread(loudness.filters, self.ffmpeg, source, info)
            await in_thread(audio_tracks.prepare, self.folder, info)
            argv = chunked_encoding.audio_command(self.ffmpeg, source, self.folder, info, extracted, levels)
        else:
            await in_thread(sheets.prepare, self.folder, self.storyboard, job.part)
            argv = chunked_encoding.chunk_command(
                self.ffmpeg, source, self.folder, info, self.rungs, self.chunk, app.settings.x264_preset,
                self.storyboard, job.crf,
            )  # fmt: skip
        last_sent = time.monotonic()

        async def on_progress(parser: hls.ProgressParser) -> None:
            """Report every PROGRESS_INTERVAL; and, until the film's first segments are served, at each of
            FFmpeg's progress lines (every 0.5 s) once they exist, so it is playable as soon as a single
            pass would be."""
            nonlocal last_sent
            due = time.monotonic() - last_sent >= app.settings.progress_interval
            if not due and job.part == 0 and not any(self.served.values()):
                due = await in_thread(self.first_segment_made)
            if due:
                last_sent = time.monotonic()
                await self.report(parser.out_seconds, parser.speed, final=False)

        started = time.monotonic()
        # The audio job, far faster than the picture, yields the CPU to the first part beside it, which makes
        # the film playable: its first segment comes ~1 s sooner on 2 cores (bench/progressive.py).
        niceness = AUDIO_NICENESS if self.audio else 0
        settings = app.settings
        try:
            result = await hls.run_ffmpeg(argv, on_progress, settings.job_timeout, settings.stall_timeout, niceness)
            self.ended = True
            tracks = await in_thread(subtitle_tracks.collect, job.video_id, info, extracted)
            await until_done(record_subtitles, job.video_id, tracks, what="recording the subtitle tracks")
        finally:
            if extracted is not None:
                await in_thread(shutil.rmtree, extracted, True)
        if not self.audio and result.out_seconds < job.length - hls.SEGMENT_SECONDS:
            raise hls.TranscodeError(await in_thread(self.picture_ends_early, job.start + result.out_seconds))
        # the sound is decoded whole, and the last part to the cap: either reaching it holds more than it says
        decoded = result.out_seconds if self.audio else job.start + result.out_seconds
        if (self.audio or job.length < chunked_encoding.reads_to(self.chunk, info)) and (
            problem := reached_cap(info, decoded)
        ):
            raise hls.TranscodeError(problem)
        self.encoded_in = time.monotonic() - started

    async def settle(self) -> None:
        """Serve the rest and mark the part done: at once, or, for a part whose sound is not all there yet,
        once it is (renewing the claim meanwhile; a plan withdrawn meanwhile ends the wait)."""
        deadline = time.monotonic() + app.settings.job_timeout
        checked = time.monotonic()
        while not await self.report(self.job.length, None, final=True):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the sound of part {self.job.part} did not arrive")
            if time.monotonic() - checked >= plans.HEARTBEAT_STALE:
                checked = time.monotonic()
                await requeue_orphans(self.job)
            await asyncio.sleep(app.settings.progress_interval)
        # (logged once the part is done, served and recorded: a part whose worker died before is run again)
        log.info("video %s part %s encoded in %.1f s", self.job.video_id, self.job.part, self.encoded_in)
        await in_thread(self.output.drop_workspace, self.job.part)

    async def report(self, seconds: float, speed: float | None, final: bool) -> bool:
        """Serve what is new, record it with the part's progress (or its end, when `final` and everything is
        served), write the film's playlists, and report the film's progress. Whether the part is done. While
        PostgreSQL is unreachable the part goes on: its end waits for it."""
        try:
            rows, playable, done = await in_thread(self.tick, seconds, speed, final)
        except sa.exc.DBAPIError as exc:
            if final:
                raise
            log.warning("video %s part %s: progress not recorded (%s)", self.job.video_id, self.job.part,
                        type(exc).__name__)  # fmt: skip
            return False
        await report_progress(self.job, self.info, self.rungs, rows, playable)
        if playable and not self.announced:
            self.announced = True
            log.info("video %s is playable, %.1f s after part %s began", self.job.video_id,
                     time.monotonic() - self.began, self.job.part)  # fmt: skip
        return done

    def tick(self, seconds: float, speed: float | None, final: bool) -> tuple[list, bool, bool]:
        """(In a thread.) Serve, then, under the plan's lock, record and write the playlists. A segment that
        cannot be served now does not undo the part: the next report tries it again."""
        try:
            whole = self.serve()
        except (hls.TranscodeError, OSError, store.StorageUnavailable) as exc:
            if final:
                raise
            log.warning("video %s: segments not served yet: %s", self.job.video_id, exc)
            whole = False
        done = final and whole
        video_id, part = self.job.video_id, self.job.part
        with plans.locked(video_id) as conn:
            if done:
                plans.complete(conn, video_id, part, self.token, self.served)
            else:
                plans.beat(conn, video_id, part, self.token, seconds, speed, self.served)
            rows = plans.rows(conn, video_id)
            playable = self.write_playlists(rows)
        self.last_done = done and all(row.state == "done" for row in rows)
        return rows, playable, done

    def serve(self) -> bool:
        """Serve what is new of this part; whether all of it is (this run's FFmpeg has ended: `ended`). A
        segment an earlier run of the part left whole may be served before this run writes it again (the
        same frames, encoded the same way)."""
        folder, output = self.folder, self.output
        if self.audio:
            playlist = chunked_encoding.read_playlist(folder / AUDIO_PLAYLIST)
            if store.remote():
                for _, name in playlist.segments:
                    if name not in self.sent_audio:
                        output.deliver(folder, f"{chunked_encoding.PARTS}/{chunked_encoding.AUDIO}/{name}")
                        self.sent_audio.add(name)
                text = (folder / AUDIO_PLAYLIST).read_text() if playlist.segments or playlist.ended else ""
                self.write(AUDIO_PLAYLIST, text)
            return self.serve_tracks() and playlist.ended and self.ended
        sound = Playlist.parse(output.read_text(AUDIO_PLAYLIST)) if self.info.has_audio else None
        last = self.job.start + self.job.length >= (self.info.duration or 0.0) - 0.01
        self.served, whole = chunked_encoding.serve_chunk(
            self.ffmpeg, folder, self.rungs, self.chunk, last, sound,
            lambda name: output.fetch(folder, name), lambda name: output.deliver(folder, name), self.served,
        )  # fmt: skip
        whole = whole and self.ended
        sheets.tile(self.ffmpeg, folder, self.storyboard, self.job.part, final=whole)
        self.serve_storyboard()
        if self.job.part == 0 and any(self.served.values()):  # the film can be played: its thumbnail too
            thumbnail = store.whole_jpeg(folder / "thumbnail.jpg")
            if thumbnail is not None and thumbnail != self.thumbnail:  # again if FFmpeg picked a later frame
                output.deliver_bytes("thumbnail.jpg", thumbnail)
                self.thumbnail = thumbnail
        return whole

    def serve_tracks(self) -> bool:
        """(The audio job.) The alternate audio tracks, served as they are (`audio/<n>/`, not muxed): each
        segment once whole, the playlist after it, made VOD once the track has ended. Whether all have.
        On the local backend FFmpeg writes them in place: only the end is written over."""
        ended = True
        for name in audio_tracks.folders(self.info):
            path = self.folder / name / "index.m3u8"
            track = chunked_encoding.read_playlist(path)
            ended = ended and track.ended
            if store.remote():
                for _, segment in track.segments:
                    if f"{name}/{segment}" not in self.sent_audio:
                        self.output.deliver(self.folder, f"{name}/{segment}")
                        self.sent_audio.add(f"{name}/{segment}")
            if track.ended or (store.remote() and track.segments):
                text = path.read_text()
                self.write(f"{name}/index.m3u8", hls.vod(text) if track.ended else text)
        return ended

    def serve_storyboard(self) -> None:
        """The part's whole storyboard sheets (S3: each once), and the plan they follow (every part writes
        the same)."""
        if not store.remote():
            return
        folder = self.folder / storyboards.FOLDER
        if storyboards.PLAN not in self.sent_sheets and (self.folder / storyboards.PLAN).is_file():
            self.output.deliver_bytes(storyboards.PLAN, (self.folder / storyboards.PLAN).read_bytes())
            self.sent_sheets.add(storyboards.PLAN)
        for name in store.sheet_names(folder):
            if name not in self.sent_sheets:
                self.output.deliver(self.folder, f"{storyboards.FOLDER}/{name}")
                self.sent_sheets.add(name)

    def first_segment_made(self) -> bool:
        """Whether FFmpeg has written this part's first segment in every rendition."""
        folder, playlist = self.folder / chunked_encoding.PARTS, self.chunk.playlist
        return all(chunked_encoding.read_playlist(folder / r.name / playlist).segments for r in self.rungs)

    def write(self, name: str, text: str) -> None:
        """Write one of the output's playlists, unless it is what this job last wrote there."""
        if text and self.written.get(name) != text:
            self.output.write_text(name, text)
            self.written[name] = text

    def write_playlists(self, rows) -> bool:
        """The film's growing playlists from the plan's rows (`chunked_encoding.progress_playlists`); whether
        it can be played. Under the plan's lock: the rows only grow, so the last write is the longest."""
        parts = [(row.state == "done", row.served) for row in rows if row.part != AUDIO_PART]
        playlists = chunked_encoding.progress_playlists(self.info, self.rungs, parts)
        try:
            for name, text in playlists.items():
                self.write(name, text)
        except store.StorageUnavailable as exc:  # the part goes on; the next report, or the assembly, writes them
            log.warning("video %s: playlists not written (%s)", self.job.video_id, exc)
            return False
        return "master.m3u8" in playlists

    def picture_ends_early(self, picture_end: float) -> str:
        """Why a film whose picture ends before the length its file claims cannot be chunked: either its
        sound runs on (a whole file; the later parts would have no picture to cut) or the file was cut short
        (its header, written first, still claims the whole length). The audio job, far faster than a video
        part and started with the first one, has almost always ended by now and tells which."""
        info = self.info
        sound = Playlist.parse(self.output.read_text(AUDIO_PLAYLIST)) if info.has_audio else None
        if sound is not None and sound.ended and sound.seconds >= info.duration - hls.SEGMENT_SECONDS:
            return (
                f"The picture ends at about {picture_end:.0f} s but the sound runs on to {sound.seconds:.0f} s: a "
                "film this long is encoded in parts, which needs a picture as long as the sound; export it so."
            )
        return (
            f"The picture ends at about {picture_end:.0f} s although the file says it lasts {info.duration:.0f} s: "
            "the file may be truncated or damaged."
        )


async def requeue_orphans(job: ChunkJob) -> None:
    """Queue again the parts of `job`'s film whose worker died while it ran them (a claim not renewed for
    HEARTBEAT_STALE). A part waiting for the sound waits on the audio job: were that job's worker gone, the
    wait would last forever, and the watchdog, which resumes plans that show no activity, never sees one
    here (the waiting parts keep reporting). Found with a worker killed while its audio job ran. A job
    queued twice is claimed once (`plans.claim`)."""
    rows = await until_done(plans.unfinished, job.video_id, what="reading the video's plan")
    for row in rows:
        if row.state == "running" and row.output == job.output:
            log.info("video %s part %s: its worker is gone; queued again", job.video_id, row.part)
            await send(ChunkJob(**{**job.asdict(), "part": row.part, "start": row.start, "length": row.length}))


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
        listed = chunked_encoding.nominal_renditions(info, rungs)
        fields.update(hls_path=job.output, renditions=[{k: r[k] for k in RENDITION_KEYS} for r in listed])
    await progress(job, min(99.0, 100.0 * encoded / duration), **fields)


RENDITION_KEYS = ("name", "width", "height", "bandwidth")


async def failed(job: ChunkJob, token: str, attempts: int, exc: Exception) -> None:
    """A part ended without its output: withdrawn (the film was deleted or failed elsewhere: stop quietly),
    run again alone (a passing fault), or the film fails."""
    if await jobs.deleted(job.video_id):
        await jobs.discard(job.video_id)
        return
    if isinstance(exc, plans.Withdrawn) or not await holds(job, token):
        log.info("video %s part %s was withdrawn: %s", job.video_id, job.part, exc.__class__.__name__)
        if not await until_done(plans.current, job.video_id):  # the plan is gone: so is its output
            await in_thread(store.Output(job.output).remove)
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
    await in_thread(store.Output(job.output).remove)
    await report_failed(job, reason)
    return True


async def holds(job: ChunkJob, token: str) -> bool:
    """Whether this worker still holds the part (while PostgreSQL is unreachable, assume it does)."""
    try:
        return await in_thread(plans.holds, job.video_id, job.part, token)
    except sa.exc.DBAPIError:
        return True


def rate(job: ChunkJob, info: MediaInfo, rungs, output: store.Output, renditions: list[dict]) -> list[dict]:
    """(In a thread.) The assembled film's renditions with their measured quality (`quality.rated`): the
    sampled segments fetched from the store into a workspace of this worker's, dropped after."""
    settings = app.settings
    folder = output.workspace(0)
    try:
        source = store.Source(job.source).path
        return quality.rated(
            ffmpeg_exe(settings.ffmpeg_binary), source, info, lambda name: output.fetch(folder, name), rungs,
            renditions, settings.vmaf_floor, settings.quality_samples,
        )  # fmt: skip
    except (hls.TranscodeError, store.StorageUnavailable, OSError) as exc:
        log.warning("video %s: quality not measured (%s)", job.video_id, exc)
        return renditions
    finally:
        output.drop_workspace(0)


async def finish(job: ChunkJob) -> None:
    """Write the film's final playlists once every part is done, and report it ready. Idempotent: a second
    call (two redeliveries) finds the output assembled and reports the same."""
    info = MediaInfo(**job.media)
    rungs = ladder_for(info.short_side)
    output = store.Output(job.output)

    def assemble_if_complete() -> list[dict] | None:
        with plans.locked(job.video_id) as conn:
            rows = plans.rows(conn, job.video_id)
            if not rows or rows[0].output != job.output or any(row.state != "done" for row in rows):
                return None
            if video_status(job.video_id) == VideoStatus.READY:
                return None
            if chunked_encoding.assembled(output.read_text, rungs):  # a worker that died right after writing
                renditions = hls.renditions_in(output.read_text("master.m3u8"), rungs)
            else:
                if not output.exists("thumbnail.jpg"):
                    raise hls.TranscodeError("No thumbnail could be made: the video could not be decoded.")
                served = [row.served for row in rows if row.part != AUDIO_PART]
                playlists, renditions = chunked_encoding.final_playlists(info, rungs, served)
                for name, text in playlists.items():  # the master first, the VOD rendition playlists last
                    output.write_text(name, text)
            output.remove(chunked_encoding.PARTS)
            for partial in Path(output.workspace(0)).glob("*/*.new"):  # a worker killed while it muxed
                partial.unlink(missing_ok=True)
            return renditions

    try:
        renditions = await until_done(assemble_if_complete, what="assembling")
    except store.StorageUnavailable as exc:  # every part is kept: the watchdog's re-queue finishes the film
        log.warning("video %s: not assembled, the store is unavailable (%s)", job.video_id, exc)
        return
    except (hls.TranscodeError, ValueError, OSError) as exc:  # a part's files vanished (storage)
        await give_up(job, f"The film could not be assembled from its parts: {exc}")
        return
    if renditions is not None:
        log.info("video %s assembled from its parts", job.video_id)
        renditions = await in_thread(rate, job, info, rungs, output, renditions)
        await report_ready(job, job.output, renditions, info.duration)
