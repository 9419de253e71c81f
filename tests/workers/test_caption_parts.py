"""A film's speech in parts (stream_workers/caption_jobs.py, speech_parts.py, caption_stage.py) against the
real database, FFmpeg and the tests' speech model (tiny.en), with the captions topic faked: the film cut at
its silences, each part a job any worker claims, the words joined without one doubled or lost, the stage's
progress shown while it runs; a part failing for a passing reason run again alone, sound that cannot be
decoded ending the stage (the film stays ready, the stage says why), a dead worker's part taken over. (The
whole path through Kafka and two workers: tests/integration/test_captions.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from bench.speech import word_error_rate
from stream_workers import caption_jobs, caption_stage, plans, speech_model, speech_parts, transcription
from stream_workers.agents import transcode
from stream_workers.app import app
from stream_workers.ffmpeg_run import TranscodeError
from stream_workers.film_parts import Part
from stream_workers.metrics import FAILURES
from stream_workers.records import CaptionJob, VideoUploaded
from videoflix.core import events
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import probe
from videoflix.core.models import Subtitle, Transcript, Video, VideoPart, VideoStatus

from ..support.speech import speech_film

PART = 25.0  # the tests' part length: the 89 s recording is four parts


@pytest.fixture(scope="module")
def long_speech(tmp_path_factory):
    """The 89 s recording (four prompts said with pauses between them) and its text."""
    return speech_film("en", tmp_path_factory.mktemp("speech"))


@pytest.fixture
def film(plan_db, engine, long_speech, tmp_path, monkeypatch):
    """A ready video whose source is the recording, and the workers' settings for its captions."""
    video = plan_db
    media = tmp_path / "media"
    (media / f"videos/{video}").mkdir(parents=True)
    shutil.copy(long_speech[0], media / f"videos/{video}/source.mp4")
    with engine.begin() as conn:
        conn.execute(sa.update(Video).where(Video.id == video).values(status=VideoStatus.READY))
    monkeypatch.setattr(app, "settings", dataclasses.replace(
        app.settings, media_root=media, captions=True, caption_model="tiny.en", caption_language="",
        caption_part_seconds=PART, retry_delay=0.0, max_attempts=3,
    ))  # fmt: skip
    return video


def plan_job(video: int, model: str = "") -> dict:
    return CaptionJob(video_id=video, source=f"videos/{video}/source.mp4", model=model).asdict()


def parts_sent(kept) -> list[CaptionJob]:
    jobs = [job for _, job in kept.sent if job.part != caption_jobs.PLAN]
    kept.sent.clear()
    return jobs


def rows(engine, video: int) -> list:
    with engine.connect() as conn:
        return list(conn.execute(sa.select(VideoPart).where(VideoPart.video_id == video).order_by(VideoPart.part)))


def test_cuts_fall_in_the_silence_nearest_an_even_cut_preferring_a_longer_one():
    quiet = [(22.0, 22.2), (24.6, 25.4), (44.0, 45.5), (51.0, 51.3), (66.0, 66.3)]
    made = speech_parts.cut(100.0, quiet, 25.0)
    assert [(p.index, p.start) for p in made] == [(0, 0.0), (1, 25.0), (2, 44.75), (3, 75.0)]
    # 25: a 0.8 s pause at the even cut; 44.75: a 1.5 s pause 5 s early beats a 0.3 s one 1 s late; 75: no
    # silence within reach (a quarter of a part), so the even cut
    assert sum(p.length for p in made) == pytest.approx(100.0)
    assert speech_parts.cut(30.0, quiet, 25.0) == [Part(0, 0.0, 30.0)]  # under 1.5 parts: one


def test_silences_are_read_from_the_films_sound(tmp_path):
    clip = tmp_path / "beeps.mp4"
    subprocess.run([ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "color=size=160x90:rate=10",
                    "-f", "lavfi", "-i", "aevalsrc='if(between(t,2,4),0,0.5*sin(2*PI*440*t))':d=6", "-t", "6",
                    "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", str(clip)], check=True)  # fmt: skip
    found = speech_parts.silences(ffmpeg_exe(), clip, probe(clip), timeout=60)
    assert [(round(s), round(e)) for s, e in found] == [(2, 4)], found


def test_a_long_films_speech_is_heard_in_parts_and_joined_without_a_word_doubled_or_lost(
    film, engine, captions_kept, long_speech
):
    video, (_, text) = film, long_speech
    shown: list[dict] = []
    real_beat = caption_stage.beat

    def beat(*args):
        real_beat(*args)
        with engine.connect() as conn:
            shown.append(conn.scalar(sa.select(Video.progress_detail).where(Video.id == video)).get("captions"))

    async def workers() -> list[CaptionJob]:
        await caption_jobs.run(plan_job(video))
        jobs = parts_sent(captions_kept)
        for job in reversed(jobs):  # in any order, by any worker: the words are joined by time
            await caption_jobs.run(job.asdict())
        return jobs

    caption_stage.beat, caption_jobs.BEAT_SECONDS = beat, 0.2
    try:
        jobs = asyncio.run(workers())
    finally:
        caption_stage.beat, caption_jobs.BEAT_SECONDS = real_beat, 5.0
    assert len(jobs) == 4 and {job.language for job in jobs} == {"en"}  # detected once, for every part
    quiet = speech_parts.silences(ffmpeg_exe(), film_source(film), probe(film_source(film)), 60)
    assert all(speech_parts.in_silence(job.start, quiet) for job in jobs[1:])  # cut where nothing is said

    with engine.connect() as conn:
        track = conn.execute(sa.select(Subtitle).where(Subtitle.video_id == video)).one()
        transcript = conn.execute(sa.select(Transcript).where(Transcript.video_id == video)).one()
        detail = conn.scalar(sa.select(Video.progress_detail).where(Video.id == video))
    assert (track.language, track.origin, track.label) == ("en", "auto", "English (automatic)")
    assert rows(engine, video) == [] and "captions" not in detail  # the plan and its progress are gone
    joined = " ".join(line[2] for p in transcript.paragraphs for line in p["lines"])
    folder = speech_model.model_folder("tiny.en", speech_model.CACHE)
    one_pass = transcription.transcribe(
        transcription.sound(ffmpeg_exe(), film_source(film), probe(film_source(film))), folder, language="en"
    )
    whole = "".join(w.text for w in one_pass.words)
    assert word_error_rate(text, joined) <= word_error_rate(text, whole) + 0.02, (joined, whole)
    assert word_error_rate(whole, joined) <= 0.05, (joined, whole)  # the same words as one pass would hear
    starts = [line[0] for p in transcript.paragraphs for line in p["lines"]]
    assert starts == sorted(starts)
    assert shown and all(0 <= s["progress"] <= 100 and s["parts"] == 4 for s in shown if s), shown


def film_source(video: int):
    return app.settings.media_root / f"videos/{video}/source.mp4"


def test_a_part_failing_for_a_passing_reason_runs_again_alone(film, engine, captions_kept, monkeypatch):
    video = film
    real_sound = transcription.sound
    faults = {50.0: 1}  # the third part's first run: the store goes away

    def flaky(ffmpeg, source, info, start=None, length=None, **kw):
        for at in list(faults):
            if start is not None and abs(start - at) < PART / 2 and faults[at]:
                faults[at] -= 1
                raise OSError("the store did not answer")
        return real_sound(ffmpeg, source, info, start, length, **kw)

    monkeypatch.setattr(transcription, "sound", flaky)

    async def workers() -> list[int]:
        await caption_jobs.run(plan_job(video))
        ran = []
        while jobs := parts_sent(captions_kept):
            for job in jobs:
                ran.append(job.part)
                await caption_jobs.run(job.asdict())
        return ran

    ran = asyncio.run(workers())
    assert sorted(ran) == [0, 1, 2, 2, 3]  # the failed part again, alone
    with engine.connect() as conn:
        assert conn.scalar(sa.select(Subtitle.origin).where(Subtitle.video_id == video)) == "auto"


def test_sound_that_cannot_be_decoded_ends_the_stage_and_the_film_stays_ready(film, engine, captions_kept, monkeypatch):
    video = film

    def broken(*args, **kw):
        raise TranscodeError("Invalid data found when processing input")

    failures = FAILURES.labels("captions")._value.get()
    monkeypatch.setattr(transcription, "sound", broken)

    async def workers() -> None:
        await caption_jobs.run(plan_job(video))
        for job in parts_sent(captions_kept)[:2]:
            await caption_jobs.run(job.asdict())

    asyncio.run(workers())
    with engine.connect() as conn:
        status, detail = conn.execute(sa.select(Video.status, Video.progress_detail).where(Video.id == video)).one()
        tracks = conn.scalar(sa.select(sa.func.count()).select_from(Subtitle).where(Subtitle.video_id == video))
    assert status == VideoStatus.READY and tracks == 0
    assert "Invalid data found" in detail["captions"]["failed"] and rows(engine, video) == []
    assert FAILURES.labels("captions")._value.get() == failures + 1  # once, though two parts ran


def test_a_dead_workers_part_is_queued_again_when_the_plan_resumes(film, engine, captions_kept, monkeypatch):
    """...with the language and the model its plan was made with (an operator's choice of model: the
    workers' own CAPTION_MODEL here names none, so a part heard with it would fail)."""
    video = film
    monkeypatch.setattr(app, "settings", dataclasses.replace(
        app.settings, av1_ladder=False, hevc_ladder=False, caption_model="/nowhere"))  # fmt: skip

    async def workers() -> None:
        await caption_jobs.run(plan_job(video, model="tiny.en"))
        jobs = parts_sent(captions_kept)
        for job in jobs[1:]:
            await caption_jobs.run(job.asdict())
        # part 0's worker died holding it: its claim is stale
        assert plans.claim(video, 0, jobs[0].output, "dead", caption_stage.CAPTIONS)[0] == "claimed"
        with engine.begin() as conn:
            conn.execute(sa.update(VideoPart).where(VideoPart.video_id == video, VideoPart.part == 0)
                         .values(heartbeat=sa.func.now() - sa.text("interval '1 minute'")))  # fmt: skip
        event = VideoUploaded(video_id=video, source=jobs[0].source)  # the watchdog's re-queue of the film
        await transcode.process(event)  # as the transcode agent takes it: the ready film's plan resumed
        await caption_jobs.run(captions_kept.sent.pop()[1].asdict())  # the plan job, again
        again = parts_sent(captions_kept)
        assert [(job.part, job.language, job.model) for job in again] == [(0, "en", "tiny.en")]
        await caption_jobs.run(again[0].asdict())

    asyncio.run(workers())
    with engine.connect() as conn:
        assert conn.scalar(sa.select(Subtitle.cues).where(Subtitle.video_id == video)) >= 5
    assert rows(engine, video) == []


def test_the_web_tiers_request_is_heard_with_the_model_it_names_and_a_model_not_here_ends_the_stage(
    film, engine, captions_kept
):
    video = film
    job = CaptionJob.from_payload(events.captions(video, f"videos/{video}/source.mp4", "fr", "/nowhere"))
    assert (job.language, job.model, job.part) == ("fr", "/nowhere", caption_jobs.PLAN)
    asyncio.run(caption_jobs.run(job.asdict()))
    with engine.connect() as conn:
        detail = conn.scalar(sa.select(Video.progress_detail).where(Video.id == video))
    assert "neither a packaged model" in detail["captions"]["failed"] and captions_kept.sent == []
