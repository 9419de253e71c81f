"""One part of a film made in parts (a picture part, or the whole film's sound): its FFmpeg run, serving
its segments as they are whole, recording them in its plan row and writing the film's playlists from the
rows, and the film's progress from the whole plan. `part_jobs` starts a plan, runs its jobs and assembles it.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import time

import sqlalchemy as sa

from stream_workers.film_parts import Part
from stream_workers.part_playlists import AUDIO_PLAYLIST, PARTS, Playlist, read_playlist
from videoflix.core import storyboard as storyboards
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, ladder_for, reached_cap
from videoflix.core.storyboard import layout_for

from . import (
    audio_tracks,
    ffmpeg_run,
    film_parts,
    hls,
    hls_output,
    loudness,
    part_playlists,
    plans,
    sheets,
    storage,
    subtitle_tracks,
    topics,
)
from .app import app
from .db import in_thread, record_subtitles, until_done
from .film_steps import FilmSteps
from .ladders import H264
from .records import PartJob
from .reports import progress

log = logging.getLogger(__name__)

AUDIO_PART = plans.AUDIO_PART

#: how much lower the audio job's CPU priority is (`PartRun.encode`)
AUDIO_NICENESS = 5


async def send(job: PartJob) -> None:
    """A job of a plan, on its topic: the fast H.264 ladder's (and the audio's) on `parts`, a further
    ladder's on `ladder_parts`, so a worker's fast jobs never queue behind minutes of AV1."""
    topic = topics.parts if job.ladder == plans.FIRST_LADDER else topics.ladder_parts
    await topic.send(key=topics.part_key(job.video_id, job.part, job.ladder), value=job)


class PartRun:
    """One claimed job of a plan on this worker: its FFmpeg run, and serving and recording what it made.

    A video part serves its own segments (`film_parts.serve_part`) and records them in its row; the
    audio part publishes its segments and playlist to the store as they are whole (nothing to do on the
    local backend, where its folder is the output). Every report, under the plan's lock, renews the claim
    and writes the film's playlists from the rows."""

    def __init__(self, job: PartJob, token: str, served: part_playlists.Served, output: storage.Output):
        self.job, self.token, self.served = job, token, served
        self.info = MediaInfo(**job.media)
        self.rungs = ladder_for(self.info.short_side)
        self.output = output  # (`film_keys.output`: sealed with the film's keys, if it has any)
        self.folder = self.output.workspace(job.part)
        self.ffmpeg = ffmpeg_exe(app.settings.ffmpeg_binary)
        self.part = Part(job.part, job.start, job.length)
        self.sent_audio: set[str] = set()
        self.sent_sheets: set[str] = set()  # the storyboard's files this job has sent
        self.storyboard = layout_for(
            self.info.width, self.info.height, self.info.bounded_length, app.settings.part_seconds
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
        source = (await in_thread(storage.Source, job.source)).path
        await in_thread(self.folder.mkdir, parents=True, exist_ok=True)
        extracted = None
        if self.audio:  # the one job that reads the whole film: it also extracts its subtitle streams
            extracted = await in_thread(subtitle_tracks.extraction_folder, self.folder, info)
            levels = await in_thread(loudness.filters, self.ffmpeg, source, info)
            await in_thread(audio_tracks.make_folders, self.folder, info)
            steps = FilmSteps(info, self.rungs, audio_filters=levels, subtitles=extracted)
            argv = steps.sound_job(self.ffmpeg, source, self.folder)
        else:
            await in_thread(sheets.make_frames_folder, self.folder, self.storyboard, job.part)
            steps = FilmSteps(info, self.rungs, H264.at(app.settings.x264_preset), job.crf, storyboard=self.storyboard)
            argv = steps.picture_part(self.ffmpeg, source, self.folder, self.part)
        last_sent = time.monotonic()

        async def on_progress(parser: ffmpeg_run.ProgressParser) -> None:
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
            result = await ffmpeg_run.run_ffmpeg(
                argv, on_progress, settings.job_timeout, settings.stall_timeout, niceness
            )
            self.ended = True
            tracks = await in_thread(subtitle_tracks.collect, job.video_id, info, extracted)
            await until_done(record_subtitles, job.video_id, tracks, what="recording the subtitle tracks")
        finally:
            if extracted is not None:
                await in_thread(shutil.rmtree, extracted, True)
        # what the part holds: the sound's FFmpeg's progress; a picture part's, its renditions' (the progress also
        # counts the storyboard's last preview, which lasts a whole interval: past the picture's end)
        made = result.out_seconds if self.audio else await in_thread(self.picture_seconds, result.out_seconds)
        if not self.audio and made < job.length - hls.SEGMENT_SECONDS:
            raise ffmpeg_run.TranscodeError(await in_thread(self.picture_ends_early, job.start + made))
        # the sound is decoded whole, and the last part to the cap: either reaching it holds more than it says
        decoded = made if self.audio else job.start + made
        if (self.audio or job.length < film_parts.reads_to(self.part, info)) and (
            problem := reached_cap(info, decoded)
        ):
            raise ffmpeg_run.TranscodeError(problem)
        self.encoded_in = time.monotonic() - started

    def picture_seconds(self, progress: float) -> float:
        """The seconds of picture the part's first rendition holds (its part playlist), else FFmpeg's progress."""
        listed = read_playlist(self.folder / PARTS / self.rungs[0].name / self.part.playlist)
        return listed.seconds if listed.segments else progress

    async def complete(self) -> None:
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
        except (ffmpeg_run.TranscodeError, OSError, storage.StorageUnavailable) as exc:
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
            playlist = part_playlists.read_playlist(folder / AUDIO_PLAYLIST)
            if output.staged:
                for _, name in playlist.segments:
                    if name not in self.sent_audio:
                        output.deliver(folder, f"{part_playlists.PARTS}/{part_playlists.AUDIO}/{name}")
                        self.sent_audio.add(name)
                text = (folder / AUDIO_PLAYLIST).read_text() if playlist.segments or playlist.ended else ""
                self.write(AUDIO_PLAYLIST, text)
            return self.serve_tracks() and playlist.ended and self.ended
        sound = Playlist.parse(output.read_text(AUDIO_PLAYLIST)) if self.info.has_audio else None
        last = film_parts.last_part(self.part, self.info)
        self.served, whole = film_parts.serve_part(
            self.ffmpeg, folder, self.rungs, self.part, last, sound,
            lambda name: output.fetch(folder, name), lambda name: output.deliver(folder, name), self.served,
        )  # fmt: skip
        whole = whole and self.ended
        sheets.tile(self.ffmpeg, folder, self.storyboard, self.job.part, final=whole)
        self.serve_storyboard()
        if self.job.part == 0 and any(self.served.values()):  # the film can be played: its thumbnail too
            thumbnail = storage.whole_jpeg(folder / "thumbnail.jpg")
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
            track = part_playlists.read_playlist(path)
            ended = ended and track.ended
            if self.output.staged:
                for _, segment in track.segments:
                    if f"{name}/{segment}" not in self.sent_audio:
                        self.output.deliver(self.folder, f"{name}/{segment}")
                        self.sent_audio.add(f"{name}/{segment}")
            if track.ended or (self.output.staged and track.segments):
                text = path.read_text()
                self.write(f"{name}/index.m3u8", hls_output.vod(text) if track.ended else text)
        return ended

    def serve_storyboard(self) -> None:
        """The part's whole storyboard sheets (S3: each once), and the plan they follow (every part writes
        the same)."""
        if not self.output.staged:
            return
        folder = self.folder / storyboards.FOLDER
        if storyboards.LAYOUT not in self.sent_sheets and (self.folder / storyboards.LAYOUT).is_file():
            self.output.deliver_bytes(storyboards.LAYOUT, (self.folder / storyboards.LAYOUT).read_bytes())
            self.sent_sheets.add(storyboards.LAYOUT)
        for name in storage.sheet_names(folder):
            if name not in self.sent_sheets:
                self.output.deliver(self.folder, f"{storyboards.FOLDER}/{name}")
                self.sent_sheets.add(name)

    def first_segment_made(self) -> bool:
        """Whether FFmpeg has written this part's first segment in every rendition."""
        folder, playlist = self.folder / part_playlists.PARTS, self.part.playlist
        return all(part_playlists.read_playlist(folder / r.name / playlist).segments for r in self.rungs)

    def write(self, name: str, text: str) -> None:
        """Write one of the output's playlists, unless it is what this job last wrote there."""
        if text and self.written.get(name) != text:
            self.output.write_text(name, text)
            self.written[name] = text

    def write_playlists(self, rows) -> bool:
        """The film's growing playlists from the plan's rows (`part_playlists.progress_playlists`); whether
        it can be played. Under the plan's lock: the rows only grow, so the last write is the longest."""
        parts = [(row.state == "done", row.served) for row in rows if row.part != AUDIO_PART]
        playlists = part_playlists.progress_playlists(self.info, self.rungs, parts)
        try:
            for name, text in playlists.items():
                self.write(name, text)
        except storage.StorageUnavailable as exc:  # the part goes on; the next report, or the assembly, writes them
            log.warning("video %s: playlists not written (%s)", self.job.video_id, exc)
            return False
        return "master.m3u8" in playlists

    def picture_ends_early(self, picture_end: float) -> str:
        """Why a film whose picture ends before the length its file claims cannot be made in parts: either its
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


async def requeue_orphans(job: PartJob) -> None:
    """Queue again the parts of `job`'s film whose worker died while it ran them (a claim not renewed for
    HEARTBEAT_STALE). A part waiting for the sound waits on the audio job: were that job's worker gone, the
    wait would last forever, and the watchdog, which resumes plans that show no activity, never sees one
    here (the waiting parts keep reporting). Found with a worker killed while its audio job ran. A job
    queued twice is claimed once (`plans.claim`)."""
    rows = await until_done(plans.unfinished, job.video_id, what="reading the video's plan")
    for row in rows:
        if row.state == "running" and row.output == job.output:
            log.info("video %s part %s: its worker is gone; queued again", job.video_id, row.part)
            await send(PartJob(**{**job.asdict(), "part": row.part, "start": row.start, "length": row.length}))


async def report_progress(job: PartJob, info: MediaInfo, rungs, rows, playable: bool) -> None:
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
            renditions[part_playlists.AUDIO] = share(row.length if row.state == "done" else row.seconds)
    fields = {
        "speed": speed,
        "eta_seconds": round(max(0.0, duration - encoded) / speed, 1) if speed else None,
        "rendition_progress": renditions,
    }
    if playable:
        listed = part_playlists.nominal_renditions(info, rungs)
        fields.update(hls_path=job.output, renditions=[{k: r[k] for k in RENDITION_KEYS} for r in listed])
    await progress(job, min(99.0, 100.0 * encoded / duration), **fields)


RENDITION_KEYS = ("name", "width", "height", "bandwidth")
