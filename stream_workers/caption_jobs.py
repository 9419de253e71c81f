"""Automatic captions as a stage of their own: a ready film's speech becomes a subtitle track (`origin`
'auto', labelled automatic), on the `videos.captions` topic and its agent (`agents/captions.py`), so that
transcription scales apart from the encoders (a deployment may run workers that only caption).

- Asked for (`request`) once a film's first ladder is whole, when CAPTIONS is on and the film has sound: the
  film is ready before, and never waits for its captions.
- The job (`run`): the film's default sound decoded by our FFmpeg and transcribed (`transcription`, the model
  CAPTION_MODEL names, the language CAPTION_LANGUAGE names or the one detected), the words made into cues
  for reading (`caption_cues`), stored as WebVTT beside the film's other tracks and recorded. Speech in a
  language that already has a track (an operator's, or one the source carried) changes nothing: an automatic
  track never replaces either. No speech (silence, music): no track.
- Idempotent: a film that has its automatic track, or is gone, is skipped; a job run twice records one track.
- A failure leaves the film ready without captions: logged and counted (FAILURES, cause "captions"), never
  retried in a loop (a film whose sound cannot be read fails the same way again).

Blocking work (FFmpeg, the model) runs in a thread of its own, off the event loop and the database's pool.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from videoflix.core import events
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo
from videoflix.core.storage import video_key
from videoflix.core.subtitles import default_label, webvtt_text

from . import caption_cues, db, speech_model, storage, topics, transcription
from .app import app
from .metrics import FAILURES
from .records import CaptionJob
from .reports import readable

log = logging.getLogger(__name__)

#: what an automatic track's label says after the language's name (in the list, the master, the console)
AUTOMATIC = "automatic"

_speech = ThreadPoolExecutor(max_workers=1, thread_name_prefix="videoflix-speech")


async def request(event, source: str, info: MediaInfo) -> None:
    """Ask for the film's captions (a ready film of `event`'s job, its source key): when CAPTIONS is on and the
    film has sound."""
    settings = app.settings
    if not settings.captions or not info.has_audio:
        return
    job = CaptionJob(video_id=event.video_id, source=source, language=settings.caption_language,
                     attempt=event.attempt, token=event.token)  # fmt: skip
    await topics.captions.send(key=topics.key(event.video_id), value=job)


async def run(payload) -> None:
    """One film's captions; a failure is logged and counted, the film stays as it is."""
    if (job := await readable(CaptionJob, payload, events.CAPTIONS)) is None:
        return
    try:
        await caption(job)
    except asyncio.CancelledError:
        raise  # the worker is stopping: the job is not acknowledged and will be redelivered
    except Exception as exc:  # (a film without captions is still a film: never a loop)
        FAILURES.labels("captions").inc()
        log.warning("video %s: no automatic captions (%s: %s)", job.video_id, type(exc).__name__, exc)


async def caption(job: CaptionJob) -> None:
    if not await db.until_done(db.wants_captions, job.video_id, what="reading the video's tracks"):
        log.info("video %s has its automatic captions or is gone; nothing to do", job.video_id)
        return
    started = time.monotonic()
    loop = asyncio.get_running_loop()
    track = await loop.run_in_executor(_speech, made_track, job)
    if track is None:
        log.info("video %s: no speech heard; no automatic captions", job.video_id)
        return
    recorded = await db.until_done(db.record_captions, job.video_id, track, what="recording the captions")
    if not recorded:
        await db.in_thread(storage.backend().delete, track["key"])
    kept = "recorded" if recorded else "not kept: the language has a track"
    log.info("video %s: automatic captions (%s, %d cues) %s in %.1f s", job.video_id, track["language"],
             track["cues"], kept, time.monotonic() - started)  # fmt: skip


def made_track(job: CaptionJob) -> dict | None:
    """(Blocking.) The film's automatic track, stored: {language, label, key, cues (how many), said (the
    cues)}; None if nothing is said."""
    settings = app.settings
    source = storage.Source(job.source)
    info = source.facts()
    folder = speech_model.model_folder(settings.caption_model, speech_model.CACHE)
    samples = transcription.sound(ffmpeg_exe(settings.ffmpeg_binary), source.path, info, timeout=settings.job_timeout)
    said = transcription.transcribe(samples, folder, language=job.language or None)
    cues = caption_cues.cues(said.words)
    if not cues:
        return None
    language = said.language or "und"
    key = f"{video_key(job.video_id)}subtitles/{language}.auto-{uuid.uuid4().hex[:8]}.vtt"
    storage.backend().put_bytes(key, webvtt_text(cues).encode(), "text/vtt")
    label = f"{default_label(language)} ({AUTOMATIC})"
    return {"language": language, "label": label[:100], "key": key, "cues": len(cues), "said": cues}
