"""Automatic captions as a stage of their own: a ready film's speech becomes a subtitle track (`origin`
'auto', labelled automatic) and its transcript, on the `videos.captions` topic and its agent
(`agents/captions.py`), so that transcription scales apart from the encoders (a deployment may run workers
that only caption).

- Asked for (`request`) once a film's first ladder is whole, when CAPTIONS is on and the film has sound: the
  film is ready before, and never waits for its captions.
- Planned (`plan`): the film's speech is cut into parts of about CAPTION_PART_SECONDS at its silences
  (`speech_parts`; a short film is one part), recorded as a plan in PostgreSQL (`video_parts` under the
  ladder name CAPTIONS, `plans`), and each part is a job on the same topic, keyed by video and part, so a
  long film's parts spread over every worker. The language is the one CAPTION_LANGUAGE names, or the one
  detected once from the first part's speech, so that every part is heard in the same language.
- A part (`run_part`): claimed in PostgreSQL (a duplicate finds it running or done), its stretch of the
  film's default sound decoded by our FFmpeg and transcribed (`transcription`, the model CAPTION_MODEL
  names); the claim is renewed while it runs, with the stage's progress, speed and ETA (`caption_stage`);
  its words are kept in its row. The worker finishing the last part joins the words (the parts meet in
  silences: no word doubled or lost), makes them cues for reading (`caption_cues`), stores them as WebVTT
  beside the film's other tracks and records the track and its transcript. Speech in a language that
  already has a track (an operator's, or one the source carried) adds no track: an automatic track never
  replaces either (its words are still the transcript search finds). No speech: no track.
- Faults: a part failing for a passing reason (the store, the database) is run again alone, up to
  TRANSCODE_MAX_ATTEMPTS times; sound that cannot be decoded, or a part failing every time, ends the stage:
  the film stays ready without captions, the stage shows why (`progress_detail["captions"]`), the failure
  is counted (FAILURES, cause "captions"). A worker that dies mid-part: its claim goes stale, and the
  watchdog's re-queue of the film (its plan idle) queues the parts no live worker holds again (`resume`).

Blocking work (FFmpeg, the model) runs in a thread of its own, off the event loop and the database's pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from videoflix.core import events
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo
from videoflix.core.storage import video_key
from videoflix.core.subtitles import default_label, webvtt_text

from . import caption_cues, caption_stage, db, plans, speech_model, speech_parts, storage, topics, transcription
from .app import app
from .caption_cues import Word
from .caption_stage import CAPTIONS
from .ffmpeg_run import TranscodeError
from .film_parts import Part
from .metrics import FAILURES
from .records import CaptionJob
from .reports import readable

log = logging.getLogger(__name__)

#: what an automatic track's label says after the language's name (in the list, the master, the console)
AUTOMATIC = "automatic"
#: `CaptionJob.part` of the job that plans the film (or resumes its plan)
PLAN = -1
#: seconds between a running part's claim renewals (plans.HEARTBEAT_STALE: 30)
BEAT_SECONDS = 5.0

#: how much the speech thread yields the CPU (as a further ladder's FFmpeg does: av1_ladder's niceness), so a
#: worker that also encodes makes films playable first; the model's own threads, started from it, inherit it
NICENESS = 10


def _yielding() -> None:
    """(The speech thread's start.) Lower its priority by NICENESS (a thread's own, on Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)


_speech = ThreadPoolExecutor(max_workers=1, thread_name_prefix="videoflix-speech", initializer=_yielding)


async def request(event, source: str, info: MediaInfo) -> None:
    """Ask for the film's captions (a ready film of `event`'s job, its source key): when CAPTIONS is on and the
    film has sound."""
    if app.settings.captions and info.has_audio:
        await _send_plan(event, source)


async def resume(event) -> None:
    """A ready film with a speech plan, queued again (`event`: the watchdog's, its plan idle; or a
    redelivery): its plan job is sent again, which queues the parts no live worker holds (or joins them)."""
    await _send_plan(event, event.source)
    log.info("video %s: its captions' plan resumed", event.video_id)


async def _send_plan(event, source: str) -> None:
    job = CaptionJob(video_id=event.video_id, source=source, language=app.settings.caption_language,
                     attempt=event.attempt, token=event.token)  # fmt: skip
    await topics.captions.send(key=topics.key(event.video_id), value=job)


async def run(payload) -> None:
    """One job of the stage; a failure is logged, counted and shown, the film stays as it is."""
    if (job := await readable(CaptionJob, payload, events.CAPTIONS)) is None:
        return
    try:
        await (plan(job) if job.part == PLAN else run_part(job))
    except asyncio.CancelledError:
        raise  # the worker is stopping: the job is not acknowledged and will be redelivered
    except Exception as exc:  # (a film without captions is still a film: never a loop)
        await give_up(job, f"{type(exc).__name__}: {exc}")


async def give_up(job: CaptionJob, reason: str) -> None:
    FAILURES.labels("captions").inc()
    log.warning("video %s: no automatic captions (%s)", job.video_id, reason)
    await db.until_done(caption_stage.end, job.video_id, f"No automatic captions: {reason}"[:500],
                        what="ending the captions")  # fmt: skip


async def plan(job: CaptionJob) -> None:
    """Plan the film's speech in parts and queue them; or, with a plan already, queue what remains of it
    (or join it, when every part is done)."""
    if not await db.until_done(db.wants_captions, job.video_id, what="reading the video's tracks"):
        log.info("video %s has its automatic captions or is gone; nothing to do", job.video_id)
        return
    rows = await db.until_done(plans.current, job.video_id, CAPTIONS, what="reading the video's plan")
    loop = asyncio.get_running_loop()
    if rows:
        if all(row.state == "done" for row in rows):
            await join(job)
            return
        todo = await db.until_done(plans.unfinished, job.video_id, CAPTIONS, what="reading the video's plan")
        language, model = await db.until_done(caption_stage.chosen, job.video_id, what="reading the video's plan")
        job = CaptionJob.from_payload({**job.asdict(), "language": job.language or language, "model": model})
        if not job.language and len(rows) > 1:
            job = CaptionJob.from_payload({**job.asdict(), "language": await loop.run_in_executor(
                _speech, detected, job, rows[0].start, rows[0].length)})  # fmt: skip
        await queue(job, todo, job.language)
        return
    await loop.run_in_executor(_speech, model_folder, job)  # (an unknown model ends the stage, saying so)
    stretches, language = await loop.run_in_executor(_speech, planned, job)
    rows = await db.until_done(plans.create_ladder, job.video_id, job.source, CAPTIONS, stretches, what="planning")
    await db.until_done(caption_stage.settle, job.video_id, language, job.model, what="planning")
    log.info("video %s: its speech planned in %d parts (%s)", job.video_id, len(rows), language or "language per part")
    await queue(job, rows, language)


def planned(job: CaptionJob) -> tuple[list[Part], str]:
    """(Blocking.) The film's speech in parts, cut at its silences, and the language they are heard in ("":
    a one-part film detects its own)."""
    settings = app.settings
    source = storage.Source(job.source)
    info = source.facts()
    duration = info.duration or 0.0
    if duration < speech_parts.ONE_PART_BELOW * settings.caption_part_seconds:
        return [Part(0, 0.0, duration)], job.language
    ffmpeg = ffmpeg_exe(settings.ffmpeg_binary)
    quiet = speech_parts.silences(ffmpeg, source.path, info, settings.job_timeout)
    stretches = speech_parts.cut(duration, quiet, settings.caption_part_seconds)
    loud = [s.start for s in stretches[1:] if not speech_parts.in_silence(s.start, quiet)]
    if loud:
        log.info("video %s: no silence near %s s; cut there", job.video_id, ", ".join(f"{t:.0f}" for t in loud))
    language = job.language or detected(job, stretches[0].start, stretches[0].length, source, info)
    return stretches, language


def detected(job: CaptionJob, start: float, length: float, source=None, info=None) -> str:
    """(Blocking.) The language spoken in the stretch, "" if none is heard (`source`, `info`: the film's, when
    the caller has them)."""
    settings = app.settings
    source = source or storage.Source(job.source)
    info = info or source.facts()
    samples = transcription.sound(ffmpeg_exe(settings.ffmpeg_binary), source.path, info, start, length,
                                  timeout=settings.job_timeout)  # fmt: skip
    return transcription.language_of(samples, model_folder(job), settings.caption_device)


def model_folder(job: CaptionJob):
    """(Blocking: a packaged model is joined once.) The folder of the model the job names, or CAPTION_MODEL's;
    SpeechModelError (saying what was looked for) when this machine has no such model."""
    return speech_model.model_folder(job.model or app.settings.caption_model, speech_model.CACHE)


async def queue(job: CaptionJob, rows, language: str) -> None:
    for row in rows:
        part = CaptionJob(video_id=job.video_id, source=job.source, language=language, attempt=job.attempt,
                          token=job.token, part=row.part, start=row.start, length=row.length,
                          output=row.output, model=job.model)  # fmt: skip
        await topics.captions.send(key=topics.part_key(job.video_id, row.part, CAPTIONS), value=part)


async def run_part(job: CaptionJob) -> None:
    """Hear one part of the film; the worker that hears the last one joins them."""
    token = uuid.uuid4().hex
    outcome, attempts = await db.until_done(plans.claim, job.video_id, job.part, job.output, token, CAPTIONS,
                                            what="claiming a part")  # fmt: skip
    if outcome != "claimed":
        log.info("video %s captions part %s is %s; job skipped", job.video_id, job.part, outcome)
        return
    heard = Heard(job, token)
    try:
        said = await heard.run()
        last = await db.until_done(caption_stage.finish_part, job.video_id, job.part, token, said.language,
                                   job.model, list(said.words), what="recording a part")  # fmt: skip
    except plans.Withdrawn:
        log.info("video %s captions part %s was taken from this worker", job.video_id, job.part)
        return
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await asyncio.shield(db.in_thread(plans.release, job.video_id, job.part, token, CAPTIONS))
        raise
    except TranscodeError as exc:  # the sound cannot be decoded: it will not be, next time either
        await give_up(job, str(exc))
        return
    except Exception as exc:
        if attempts >= app.settings.max_attempts:
            await give_up(job, f"a part failed {attempts} times; the last error was {type(exc).__name__}: {exc}")
            return
        log.warning("video %s captions part %s failed (%s: %s); queued again", job.video_id, job.part,
                    type(exc).__name__, exc)  # fmt: skip
        await db.until_done(plans.requeue, job.video_id, job.part, token, str(exc), CAPTIONS)
        await asyncio.sleep(app.settings.retry_delay)
        await topics.captions.send(key=topics.part_key(job.video_id, job.part, CAPTIONS), value=job)
        return
    log.info("video %s captions part %s heard: %d words in %.1f s", job.video_id, job.part, len(said.words),
             heard.elapsed)  # fmt: skip
    if last:
        await join(job)


class Heard:
    """One claimed part being transcribed in the speech thread, its claim renewed from the loop meanwhile."""

    def __init__(self, job: CaptionJob, token: str):
        self.job, self.token = job, token
        self.share = 0.0
        self.withdrawn = False
        self.started = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> transcription.Transcript:
        work = asyncio.get_running_loop().run_in_executor(_speech, self.hear)
        while True:
            done, _ = await asyncio.wait([work], timeout=BEAT_SECONDS)
            if done:
                return work.result()
            seconds = self.share * self.job.length
            speed = seconds / self.elapsed if seconds else None
            try:
                await db.until_done(caption_stage.beat, self.job.video_id, self.job.part, self.token, seconds, speed,
                                    what="renewing a claim")  # fmt: skip
            except plans.Withdrawn:
                self.withdrawn = True  # the transcription stops at its next phrase
                with contextlib.suppress(plans.Withdrawn):
                    await work
                raise

    def hear(self) -> transcription.Transcript:
        """(Blocking.) The part's words."""
        settings, job = app.settings, self.job
        source = storage.Source(job.source)
        info = source.facts()
        samples = transcription.sound(ffmpeg_exe(settings.ffmpeg_binary), source.path, info, job.start, job.length,
                                      timeout=settings.job_timeout)  # fmt: skip
        folder = model_folder(job)
        return transcription.transcribe(samples, folder, offset=job.start, language=job.language or None,
                                        progress=self.told, device=settings.caption_device)  # fmt: skip

    def told(self, share: float) -> None:
        if self.withdrawn:
            raise plans.Withdrawn
        self.share = share


async def join(job: CaptionJob) -> None:
    """Every part is heard: the film's track and transcript from their words, then the plan goes."""
    found = await db.until_done(caption_stage.heard, job.video_id, what="reading the parts' words")
    if found is None:
        return
    language, words = found
    started = time.monotonic()
    track = await asyncio.get_running_loop().run_in_executor(_speech, stored_track, job.video_id, language, words)
    kept = "no speech heard"
    if track is not None:
        recorded = await db.until_done(db.record_captions, job.video_id, track, what="recording the captions")
        if not recorded:
            await db.in_thread(storage.backend().delete, track["key"])
        kept = f"{track['language']}, {track['cues']} cues, " + (
            "recorded" if recorded else "not kept: the language has a track"
        )
    await db.until_done(caption_stage.end, job.video_id, what="ending the captions")
    log.info("video %s: automatic captions (%s) joined in %.1f s", job.video_id, kept, time.monotonic() - started)


def stored_track(video_id: int, language: str, words: list[Word]) -> dict | None:
    """(Blocking.) The film's automatic track made of its words and stored: {language, label, key, cues (how
    many), said (the cues)}; None if nothing is said."""
    cues = caption_cues.cues(words)
    if not cues:
        return None
    language = language or "und"
    key = f"{video_key(video_id)}subtitles/{language}.auto-{uuid.uuid4().hex[:8]}.vtt"
    storage.backend().put_bytes(key, webvtt_text(cues).encode(), "text/vtt")
    label = f"{default_label(language)} ({AUTOMATIC})"
    return {"language": language, "label": label[:100], "key": key, "cues": len(cues), "said": cues}
