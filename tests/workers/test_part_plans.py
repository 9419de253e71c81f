"""The plan of a film made in parts, in PostgreSQL (stream_workers/plans.py) and the part agent's decisions, against
the real database and FFmpeg with the Kafka topics faked: one worker per part, stale claims taken over, the
last part to finish known exactly once, a part failing for a passing reason run again alone, and the film
assembled and reported ready. (The whole path through Kafka and two workers:
tests/integration/test_film_in_parts.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
import time

import pytest
import sqlalchemy as sa

from stream_workers import (
    av1_ladder,
    db,
    ffmpeg_run,
    film_parts,
    hls,
    hls_output,
    jobs,
    ladder_parts,
    ladder_plans,
    ladder_verdict,
    part_jobs,
    part_run,
    plans,
    rate_aim,
    sheets,
    storage,
)
from stream_workers.app import app
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from stream_workers.records import ENDED, PartJob, VideoUploaded
from videoflix.core import storyboard as storyboards
from videoflix.core.media import ladder_for, probe
from videoflix.core.models import Video, VideoPart, VideoStatus

from ..support.clips import CALM, make_clip, understated, video_timestamps
from ..support.fakes import gone


@pytest.fixture(autouse=True)
def first_plan_alone(monkeypatch):
    """The film's H.264 plan alone: its further ladders (made in parts once it is ready) are the subject of
    the tests that turn them on."""
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, av1_ladder=False))


def parts(count: int, seconds: int = 8) -> list[film_parts.Part]:
    return film_parts.cut_film(count * seconds, seconds)


def state(engine, video_id: int) -> dict[int, tuple]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(VideoPart.part, VideoPart.state, VideoPart.attempts).where(VideoPart.video_id == video_id)
        )
        return {row.part: (row.state, row.attempts) for row in rows}


def test_a_part_is_run_by_one_worker_and_an_orphaned_one_is_taken_over(plan_db, engine):
    video = plan_db
    created = plans.create(video, "videos/x/hls-a", parts(2), audio=True)
    assert [(r.part, r.start, r.length, r.state) for r in created] == [
        (-1, 0.0, 16.0, "queued"), (0, 0.0, 8.0, "queued"), (1, 8.0, 8.0, "queued")
    ]  # fmt: skip

    assert plans.claim(video, 0, "videos/x/hls-a", "A") == ("claimed", 1)
    assert plans.claim(video, 0, "videos/x/hls-a", "B") == ("busy", 1)  # a duplicate job while A runs it
    assert plans.claim(video, 0, "videos/x/hls-old", "B") == ("gone", 0)  # a job of an earlier plan
    with plans.locked(video) as conn:
        plans.beat(conn, video, 0, "A", 3.0, 1.5)
        with pytest.raises(plans.Withdrawn):
            plans.beat(conn, video, 0, "B", 3.0, 1.5)
        plans.complete(conn, video, 0, "A")
    assert plans.claim(video, 0, "videos/x/hls-a", "C") == ("done", 1)

    assert plans.claim(video, 1, "videos/x/hls-a", "D") == ("claimed", 1)
    assert [r.part for r in plans.unfinished(video)] == [-1]  # part 1 runs: only the audio waits
    with engine.begin() as conn:  # D's worker died: its claim is no longer renewed
        stale = sa.text("now() - '1 min'::interval")
        part = (VideoPart.video_id == video) & (VideoPart.part == 1)
        conn.execute(sa.update(VideoPart).where(part).values(heartbeat=stale))
    assert [r.part for r in plans.unfinished(video)] == [-1, 1]  # what a resumed plan queues again
    assert plans.claim(video, 1, "videos/x/hls-a", "E") == ("claimed", 2)
    with pytest.raises(plans.Withdrawn), plans.locked(video) as conn:  # D, if it was only slow, stops
        plans.beat(conn, video, 1, "D", 5.0, 1.0)
    assert plans.holds(video, 1, "E") and not plans.holds(video, 1, "D")

    plans.release(video, 1, "E")  # E's worker stops: the part is queued again, the attempt not counted
    assert state(engine, video)[1] == ("queued", 1)
    assert plans.claim(video, 1, "videos/x/hls-a", "F") == ("claimed", 2)
    plans.requeue(video, 1, "F", "disk hiccup")  # a passing fault: this part waits again, the rest stands
    assert state(engine, video) == {-1: ("queued", 0), 0: ("done", 1), 1: ("queued", 2)}

    assert not plans.abandon(video, "videos/x/hls-old")
    assert plans.abandon(video, "videos/x/hls-a") and not plans.abandon(video)  # the first to give up reports
    assert plans.current(video) == []


def test_the_last_part_to_finish_is_known_exactly_once_when_two_finish_together(plan_db, engine):
    video = plan_db
    plans.create(video, "videos/x/hls-a", parts(2), audio=False)
    for part, token in ((0, "A"), (1, "B")):
        assert plans.claim(video, part, "videos/x/hls-a", token)[0] == "claimed"
    barrier = threading.Barrier(2)
    last = []

    def finish(part: int, token: str) -> None:
        barrier.wait()
        with plans.locked(video) as conn:
            plans.complete(conn, video, part, token)
            last.append(all(row.state == "done" for row in plans.rows(conn, video)))

    threads = [threading.Thread(target=finish, args=args) for args in ((0, "A"), (1, "B"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(last) == [False, True]


def stored_clip(media, video: int, seconds: float = 12, **options):
    """A clip stored as the video's source, as an upload leaves it (`options`: make_clip's)."""
    (media / "videos" / str(video)).mkdir(parents=True)
    return make_clip(media / "videos" / str(video) / "source.mp4", seconds=seconds, size="640x360", rate=30, **options)


def test_a_part_failing_for_a_passing_reason_runs_again_alone_and_the_film_is_assembled(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    video = plan_db
    media = tmp_path / "media"
    source = stored_clip(media, video)
    eager = dataclasses.replace(
        app.settings, media_root=media, part_seconds=4, parts_from_seconds=10, progress_interval=0.0,
        retry_delay=0.0, max_attempts=3,
    )  # fmt: skip
    monkeypatch.setattr(app, "settings", eager)
    monkeypatch.setattr(jobs, "deleted", gone({}))
    real_run = ffmpeg_run.run_ffmpeg
    faults = {1: 1}  # part 1's first run fails as a full disk would

    async def flaky_run(argv, *args, **kw):
        part = next((int(a.split("-")[-1].split(".")[0]) for a in argv if "part-" in a), None)
        if faults.get(part):
            faults[part] -= 1
            raise ffmpeg_run.IOFault("The output could not be written: no space left on device.")
        return await real_run(argv, *args, **kw)

    monkeypatch.setattr(ffmpeg_run, "run_ffmpeg", flaky_run)
    info = probe(source)
    event = VideoUploaded(video_id=video, source=f"videos/{video}/source.mp4")
    attempts = {}  # each part's, as the plan recorded them before the film was ready

    async def pipeline() -> None:
        assert jobs.in_parts(info)
        await part_jobs.start_film(event, info)
        while fake_topics["parts"].sent:
            _, job = fake_topics["parts"].sent.pop(0)
            await part_jobs.run_job(job.asdict())
            await part_jobs.parts_completed()
            attempts.update({part: tried for part, (_, tried) in state(engine, video).items()})

    asyncio.run(pipeline())

    [(_, result)] = fake_topics["processed"].sent
    assert attempts == {-1: 1, 0: 1, 1: 2, 2: 1}  # part 1 twice, the others once
    assert (result.status, result.error) == ("ready", None), result
    assert [r["name"] for r in result.renditions] == ["480p"] and result.duration == pytest.approx(12, abs=0.1)
    output = media / result.hls_path
    hls_output.check_output(output, ladder_for(info.short_side))
    assert len(video_timestamps(output / "master.m3u8")) == 360  # every frame once, part 1 included
    reports = [event for _, event in fake_topics["progress"].sent]
    assert reports[0].hls_path == "" and any(r.hls_path == result.hls_path for r in reports)  # playable early
    first_playable = next(i for i, r in enumerate(reports) if r.hls_path)
    assert reports[first_playable].progress < 100
    assert set(reports[-1].rendition_progress) == {"480p", "audio"}
    assert fake_topics["dead_letter"].sent == []


def test_a_part_that_cannot_be_decoded_fails_the_film_once_and_its_output_is_removed(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    video = plan_db
    media = tmp_path / "media"
    source = stored_clip(media, video)
    eager = dataclasses.replace(app.settings, media_root=media, part_seconds=4, parts_from_seconds=10)
    monkeypatch.setattr(app, "settings", eager)
    monkeypatch.setattr(jobs, "deleted", gone({}))
    info = probe(source)
    event = VideoUploaded(video_id=video, source=f"videos/{video}/source.mp4")

    async def pipeline() -> None:
        await part_jobs.start_film(event, info)
        source.write_bytes(b"\0" * 4096)  # the stored file is damaged once the plan is made
        for _, job in list(fake_topics["parts"].sent):
            await part_jobs.run_job(job.asdict())
            await part_jobs.parts_completed()

    asyncio.run(pipeline())

    [(_, result)] = fake_topics["processed"].sent  # the first part to fail reports; the others stop quietly
    assert result.status == "failed" and "could not be decoded" in result.error
    assert plans.current(video) == [] and not list((media / "videos" / str(video)).glob("hls-*"))


def run_in_parts(media, video: int, source, fake_topics, monkeypatch) -> tuple:
    """Plan the stored film in 8 s parts and run every job on this worker, through PostgreSQL and FFmpeg (the
    planner's part 0 and audio first, at once, then the topic's jobs in order); the processed event."""
    eager = dataclasses.replace(app.settings, media_root=media, part_seconds=8, parts_from_seconds=10)
    monkeypatch.setattr(app, "settings", eager)
    monkeypatch.setattr(jobs, "deleted", gone({}))
    event = VideoUploaded(video_id=video, source=f"videos/{video}/source.mp4")

    async def pipeline() -> None:
        await part_jobs.start_film(event, storage.Source(event.source).facts())  # as the transcode agent does
        for _, job in list(fake_topics["parts"].sent):
            await part_jobs.run_job(job.asdict())
            await part_jobs.parts_completed()

    asyncio.run(pipeline())
    [(_, result)] = fake_topics["processed"].sent
    return result


def test_a_film_cut_short_fails_once_with_a_reason_that_says_so(plan_db, engine, fake_topics, monkeypatch, tmp_path):
    """A long upload cut short keeps a header that claims its whole length (the index comes first): the parts
    past its end have no picture, and the film fails at the first of them, saying why, not at the assembly."""
    video = plan_db
    media = tmp_path / "media"
    source = stored_clip(media, video, seconds=24)
    source.write_bytes(source.read_bytes()[: source.stat().st_size * 4 // 10])  # about 10 s of 24 left
    assert probe(source).duration == pytest.approx(24, abs=0.1)  # what the header claims

    result = run_in_parts(media, video, source, fake_topics, monkeypatch)
    assert result.status == "failed" and "truncated" in result.error, result.error
    assert str(media) not in result.error  # no server path in what the operator reads
    assert plans.current(video) == [] and not list((media / "videos" / str(video)).glob("hls-*"))
    assert fake_topics["dead_letter"].sent == []  # a permanent failure: nothing to run again


def test_a_film_whose_sound_outlasts_its_picture_fails_saying_so_not_truncated(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    """Whole, but its picture ends at 10 s and its sound runs on to 24 s: the operator is told that, not to
    look for a damaged file."""
    video = plan_db
    media = tmp_path / "media"
    source = stored_clip(media, video, seconds=24, picture_seconds=10)
    assert probe(source).duration == pytest.approx(24, abs=0.1)

    result = run_in_parts(media, video, source, fake_topics, monkeypatch)
    assert result.status == "failed" and "truncated" not in result.error, result.error
    assert "sound runs on to 24 s" in result.error and "picture ends at about 10 s" in result.error, result.error
    assert plans.current(video) == [] and fake_topics["dead_letter"].sent == []


def test_a_film_ending_between_two_storyboard_previews_is_ready(plan_db, engine, fake_topics, monkeypatch, tmp_path):
    """18.7 s in 8 s parts (the tail joins the last part: 8-18.7 s), a preview every 2 s: the last preview, at
    18 s, lasts to 20 s, which FFmpeg's progress counted as the part's end, past the cap's margin (20.7 - 1), so
    a whole film failed as "holds more than it says" (an operator's 96.7 s talk in 8 s parts did). What a part
    decoded is what its renditions hold."""
    video = plan_db
    media = tmp_path / "media"
    source = stored_clip(media, video, seconds=18.7)
    assert probe(source).duration == pytest.approx(18.7, abs=0.05)

    result = run_in_parts(media, video, source, fake_topics, monkeypatch)
    assert result.status == "ready", result.error
    assert result.duration == pytest.approx(18.7, abs=0.1)


def test_the_planners_first_part_takes_the_free_ffmpeg_slot_and_runs_beside_a_busy_one():
    """A later part of the film, queued to this worker, waits for the slot rather than slowing the part that
    makes the film playable; but the first part never waits behind another film's part, nor does the audio."""
    job = PartJob(video_id=1, part=0, output="videos/1/hls-a", source="videos/1/source.mp4")
    audio = PartJob(video_id=1, part=plans.AUDIO_PART, output="videos/1/hls-a", source="videos/1/source.mp4")

    async def scenario() -> list:
        seen = []
        async with part_jobs.slot_for(job, at_once=True):
            seen.append(jobs.FFMPEG_SLOT.locked())  # taken: a queued part waits
            async with part_jobs.slot_for(audio, at_once=True):
                seen.append("audio beside")
        async with jobs.FFMPEG_SLOT, part_jobs.slot_for(job, at_once=True):  # beside another film's part
            seen.append("first part beside")
        seen.append(part_jobs.slot_for(job, at_once=False) is jobs.FFMPEG_SLOT)
        return seen

    assert asyncio.run(asyncio.wait_for(scenario(), 5)) == [True, "audio beside", "first part beside", True]


def test_a_part_of_a_further_ladder_leaves_the_ffmpeg_slot_to_the_fast_ladders_jobs(monkeypatch):
    """An AV1 part (minutes of SVT-AV1 at niceness 10) runs in the further-ladder slot: a new upload's single
    pass, or a long film's H.264 part, takes the FFmpeg slot beside it instead of waiting."""
    job = PartJob(video_id=1, part=2, output="videos/1/hls-a", source="videos/1/source.mp4", ladder="av1")
    seen = []

    async def claimed_elsewhere(*args, **kw):  # (the claim: where the part's FFmpeg would run)
        seen.append((jobs.FFMPEG_SLOT.locked(), jobs.LADDER_SLOT.locked()))
        return "running", 0

    monkeypatch.setattr(ladder_parts, "until_done", claimed_elsewhere)
    asyncio.run(asyncio.wait_for(ladder_parts.run_job(job), 5))
    assert seen == [(False, True)]


def test_a_store_unavailable_while_playlists_are_written_delays_the_film_but_loses_nothing(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    """While every playlist write fails (the store is down), the parts are still encoded, served and recorded;
    the assembly waits instead of failing the film, and the upload event queued again (the watchdog's way)
    finishes it from the parts kept."""
    video = plan_db
    media = tmp_path / "media"
    source = stored_clip(media, video, seconds=16)
    eager = dataclasses.replace(app.settings, media_root=media, part_seconds=8, parts_from_seconds=10)
    monkeypatch.setattr(app, "settings", eager)
    monkeypatch.setattr(jobs, "deleted", gone({}))
    down = {"store": True}
    real_write = storage.Output.write_text

    def write_text(self, name: str, text: str) -> None:
        if down["store"]:
            raise storage.StorageUnavailable(f"storing {name}: connection refused")
        real_write(self, name, text)

    monkeypatch.setattr(storage.Output, "write_text", write_text)
    event = VideoUploaded(video_id=video, source=f"videos/{video}/source.mp4")

    async def run() -> None:
        await part_jobs.start_film(event, probe(source))
        while fake_topics["parts"].sent:
            _, job = fake_topics["parts"].sent.pop(0)
            await part_jobs.run_job(job.asdict())
            await part_jobs.parts_completed()

    asyncio.run(run())
    assert fake_topics["processed"].sent == []  # not failed, not ready: waiting
    assert set(state(engine, video).values()) == {("done", 1)}  # every part done once, kept
    down["store"] = False
    asyncio.run(run())  # as the watchdog queues the upload event again
    [(_, result)] = fake_topics["processed"].sent
    assert (result.status, result.error) == ("ready", None), result
    output = media / result.hls_path
    hls_output.check_output(output, ladder_for(probe(source).short_side))
    assert len(video_timestamps(output / "480p" / "index.m3u8")) == 16 * 30


def test_a_part_taken_over_from_a_dead_worker_does_not_end_on_the_playlists_that_worker_left(
    plan_db, monkeypatch, tmp_path
):
    """A worker died after its run of part 1 had ended (its playlists ended, its preview frames not tiled yet);
    the run taking the part over must not take those playlists for its own end: it tiled its last sheet and
    removed the frames' folder while its FFmpeg still wrote there, which failed the film (ENOENT; found by
    test_faults' worker killed mid-part). It ends on its own FFmpeg's end."""
    video = plan_db
    media = tmp_path / "media"
    source = stored_clip(media, video, seconds=12, audio=False)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, media_root=media, part_seconds=4))
    info = probe(source)
    job = PartJob(video_id=video, part=1, output=f"videos/{video}/hls-taken-over", source=f"videos/{video}/source.mp4",
                   start=4.0, length=4.0, media=dataclasses.asdict(info))  # fmt: skip
    part = part_run.PartRun(job, "token", {}, storage.Output(job.output))
    # what the dead worker's run left: the part encoded whole, its frames still waiting to be tiled
    part.folder.mkdir(parents=True)
    sheets.make_frames_folder(part.folder, part.storyboard, job.part)
    argv = FilmSteps(info, part.rungs, H264.at("veryfast"), storyboard=part.storyboard).picture_part(
        part.ffmpeg, source, part.folder, part.part
    )
    asyncio.run(ffmpeg_run.run_ffmpeg(argv))
    frames = part.folder / storyboards.frames_folder(job.part)
    assert any(frames.glob("*.jpg"))

    assert part.serve() is False  # this run's FFmpeg has not ended: not whole, whatever the folder holds
    assert frames.is_dir() and any(frames.glob("*.jpg"))  # the frames it is writing are left alone

    part.ended = True  # (as `encode` sets it once its FFmpeg has ended)
    assert part.serve() is True
    assert not frames.exists() and any((part.folder / storyboards.FOLDER).glob("*.jpg"))  # tiled


@pytest.mark.parametrize("audio", [True, False], ids=["with-sound", "picture-only"])
def test_a_header_that_understates_the_length_fails_a_film_made_in_parts(
    plan_db, engine, fake_topics, monkeypatch, tmp_path, audio
):
    """24 s under a Segment Duration patched to 16 s: the parts read to the stated end and 2 s past it, no
    more (issue 33, item 2), and the film fails saying why, as one made in one pass does, instead of ending
    ready and cut at 16 s. The sound, decoded whole by its job, finds it first; without sound, the last part."""
    video = plan_db
    media = tmp_path / "media"
    clip = understated(make_clip(tmp_path / "long.mkv", seconds=24, size="640x360", rate=30, audio=audio), 16.0)
    (media / "videos" / str(video)).mkdir(parents=True)
    source = clip.rename(media / "videos" / str(video) / "source.mp4")
    assert probe(source).duration == pytest.approx(16.0, abs=0.01)

    result = run_in_parts(media, video, source, fake_topics, monkeypatch)
    assert result.status == "failed" and "says it lasts 16 s but holds more" in result.error, result.error
    assert plans.current(video) == [] and not list((media / "videos" / str(video)).glob("hls-*"))
    assert fake_topics["dead_letter"].sent == []


def test_a_further_ladders_plan_stands_beside_the_first_until_its_own_verdict(plan_db, engine, monkeypatch):
    """A ready film's AV1 ladder made in parts (stream_workers/ladder_parts.py) has rows of its own, keyed by
    ladder: its claims do not meet the H.264 plan's, the film's ready report ends the H.264 plan and keeps
    the AV1 one, the report with the AV1 verdict ends that too; a further ladder's plan that shows no activity
    gets the ready film queued again (the watchdog), one without any does not."""
    from stream_workers.records import VideoProcessed

    video, output = plan_db, "videos/x/hls-a"
    monkeypatch.setattr(db.storage, "remove_outputs", lambda video_id, keep: None)
    plans.create(video, output, parts(2), audio=True)
    created = plans.create_ladder(video, output, "av1", parts(2))
    assert [(r.ladder, r.part, r.state) for r in created] == [("av1", 0, "queued"), ("av1", 1, "queued")]
    assert plans.claim(video, 0, output, "A") == ("claimed", 1)
    assert plans.claim(video, 0, output, "B", "av1") == ("claimed", 1)  # the same part of another ladder
    with plans.locked(video) as conn:
        plans.complete(conn, video, 0, "B", {"480p": [["#EXTINF:4.0,", "000.m4s", 10, "init-0000.mp4"]]}, "av1")
        with pytest.raises(plans.Withdrawn):
            plans.complete(conn, video, 0, "B")  # (the H.264 part 0 is A's)
    assert plans.served(video, 0, "av1")["480p"][0][1] == "000.m4s" and plans.served(video, 0) == {}
    assert [r.part for r in plans.unfinished(video, "av1")] == [1]

    with engine.begin() as conn:
        conn.execute(sa.update(Video).where(Video.id == video).values(job_token="t" * 32))
    rendition = {"name": "480p", "width": 640, "height": 360, "bandwidth": 1}
    assert db.apply_processed(VideoProcessed(video_id=video, status="ready", hls_path=output, renditions=[rendition],
                                             token="t" * 32))  # fmt: skip
    assert [(r.ladder, r.part) for r in plans.current(video)] == []
    assert [r.part for r in plans.current(video, "av1")] == [0, 1]  # the AV1 plan goes on

    with engine.connect() as conn, conn.begin() as transaction:  # idle: no claim renewed, the row not touched
        conn.execute(sa.update(Video).where(Video.id == video).values(updated_at=sa.text("now() - interval '1 hour'")))
        assert db.requeue_stalled(conn, idle_seconds=60) == [video]
        transaction.rollback()  # (its outbox event stays out of the other tests' database)
    twin = {"listed": True, "fit": True, "bandwidth": 1, "average_bandwidth": 1}
    assert db.apply_processed(VideoProcessed(video_id=video, status="ready", hls_path=output,
                                             renditions=[{**rendition, "av1": twin}], token="t" * 32))  # fmt: skip
    assert plans.current(video, "av1") == []
    with engine.connect() as conn, conn.begin() as transaction:
        conn.execute(sa.update(Video).where(Video.id == video).values(updated_at=sa.text("now() - interval '1 day'")))
        assert db.requeue_stalled(conn, idle_seconds=60) == []  # ready, nothing left to make
        transaction.rollback()


def with_av1_in_parts(video: int, media, fake_topics, monkeypatch) -> tuple:
    """A calm 12 s film stored for `video`, planned in 4 s parts with the AV1 ladder on (the topics faked):
    its upload event, its facts, and `run(ladder, skip=None)`, which runs the jobs queued for `ladder` on
    this worker (but part `skip`'s, whose worker died)."""
    source = stored_clip(media, video, seconds=12, scene=CALM)
    eager = dataclasses.replace(
        app.settings, media_root=media, part_seconds=4, parts_from_seconds=10, progress_interval=0.0,
        av1_ladder=True, quality_samples=1, retry_delay=0.0,
    )  # fmt: skip
    monkeypatch.setattr(app, "settings", eager)
    monkeypatch.setattr(jobs, "deleted", gone({}))
    monkeypatch.setattr(db.storage, "remove_outputs", lambda video_id, keep=None: None)
    info = probe(source)
    event = VideoUploaded(video_id=video, source=f"videos/{video}/source.mp4")

    async def run(ladder: str, skip: int | None = None) -> None:
        further = ladder != "h264"  # (a further ladder's jobs go on a topic of their own, to an agent of their own)
        sent = fake_topics["ladder_parts" if further else "parts"].sent
        for _, job in [entry for entry in sent if entry[1].ladder == ladder]:
            sent.remove((_, job))
            if job.part != skip:
                await (ladder_parts.run_payload if further else part_jobs.run_job)(job.asdict())
                await part_jobs.parts_completed()

    asyncio.run(part_jobs.start_film(event, info))
    return event, info, run


def test_a_further_ladders_part_whose_worker_died_is_made_again_and_the_ladder_gets_its_verdict(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    """The AV1 ladder of a film made in parts (stream_workers/ladder_parts.py), with the topics faked: planned
    by the worker that assembles the film, before its ready report; one part's worker dies (its claim goes
    stale, its job is lost); the film, queued again (as the watchdog does), resumes the plan: only that part
    runs again, and the last part's worker writes the ladder, scores it and reports the film with its verdict."""
    video, media = plan_db, tmp_path / "media"
    event, info, run = with_av1_in_parts(video, media, fake_topics, monkeypatch)
    sent = fake_topics["ladder_parts"].sent
    asyncio.run(run("h264"))
    [(_, ready)] = fake_topics["processed"].sent
    assert ready.status == "ready" and not any("av1" in r for r in ready.renditions)
    assert [r.part for r in plans.current(video, "av1")] == [0, 1, 2]  # planned before the film was ready
    assert db.apply_processed(ready)  # (the results agent)

    assert plans.claim(video, 1, ready.hls_path, "dead", "av1") == ("claimed", 1)  # its worker dies
    with engine.begin() as conn:
        stale = (VideoPart.video_id == video) & (VideoPart.ladder == "av1") & (VideoPart.part == 1)
        conn.execute(sa.update(VideoPart).where(stale).values(heartbeat=sa.text("now() - '1 min'::interval")))
    asyncio.run(run("av1", skip=1))
    assert len(fake_topics["processed"].sent) == 1  # part 1 is missing: no verdict yet

    async def examined(_):
        return None, info

    assert asyncio.run(ladder_plans.resume(event, examined))
    # the finished parts are kept; the film's clock read from its first segment: made in parts
    assert [(job.part, job.clock) for _, job in sent] == [(1, hls.PARTS_CLOCK)]
    asyncio.run(run("av1"))
    _, verdict = fake_topics["processed"].sent[-1]
    assert verdict.status == "ready" and all("av1" in r for r in verdict.renditions), verdict.renditions
    assert all(r["av1"]["quality"]["frames"] > 0 for r in verdict.renditions), verdict.renditions
    output = media / verdict.hls_path
    playlist = (output / "av1" / "480p" / "index.m3u8").read_text()
    assert playlist.count("#EXT-X-MAP:") == 3 and len(video_timestamps(output / "av1" / "480p" / "index.m3u8")) == 360
    assert {part: tried for part, (_, tried) in av1_state(engine, video).items()} == {0: 1, 1: 2, 2: 1}


def test_a_further_ladders_part_the_encoder_refuses_ends_that_ladder_not_the_film(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    """A part of a ready film's AV1 ladder fails for good (the encoder refuses the picture): the ladder ends
    once, at the first part (`part_attempts.failed`, then `ladder_parts.end_ladder`): its plan and folder are
    gone, the console hears the ladder ended, the film stays ready with H.264 alone, reported once, and no
    part is tried again or sent to the dead letters."""
    video, media = plan_db, tmp_path / "media"
    _, _, run = with_av1_in_parts(video, media, fake_topics, monkeypatch)
    sent = fake_topics["ladder_parts"].sent
    asyncio.run(run("h264"))
    [(_, ready)] = fake_topics["processed"].sent
    assert db.apply_processed(ready)
    real_run, refused = ffmpeg_run.run_ffmpeg, []

    async def refusing(argv, *args, **kw):
        if any("/av1/" in arg for arg in argv):
            refused.append(argv)
            raise ffmpeg_run.TranscodeError("The video could not be decoded; FFmpeg said: Error while encoding")
        return await real_run(argv, *args, **kw)

    monkeypatch.setattr(ffmpeg_run, "run_ffmpeg", refusing)
    asyncio.run(run("av1"))

    assert len(refused) == 1 and sent == []  # the first part ended the ladder: the others found no plan to run
    assert len(fake_topics["processed"].sent) == 1 and fake_topics["dead_letter"].sent == []
    stages = [report.stage for _, report in fake_topics["progress"].sent]
    assert stages.count("av1" + ENDED) == 1, stages
    assert plans.current(video, "av1") == [] and not (media / ready.hls_path / "av1").exists()
    with engine.connect() as conn:
        status = conn.execute(sa.select(Video.status).where(Video.id == video)).scalar_one()
    assert status == VideoStatus.READY


def test_each_part_of_a_further_ladder_is_aimed_at_the_h264_quality_on_its_own_scenes(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    """RATE_AIM on (`rate_aim`): every part of the AV1 ladder probes its own scenes and is encoded at the CRF
    that holds the H.264 ladder's quality (each part's on record with its segments); the verdict shows the
    CRFs per rung, and the ladder measures within the verdict's tolerance of H.264, in fewer bytes."""
    video, media = plan_db, tmp_path / "media"
    _, _, run = with_av1_in_parts(video, media, fake_topics, monkeypatch)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, rate_aim=0.05, quality_samples=3))
    commands = []
    real_run = ffmpeg_run.run_ffmpeg

    async def recorded(argv, *args, **kw):
        commands.append(argv)
        return await real_run(argv, *args, **kw)

    monkeypatch.setattr(ffmpeg_run, "run_ffmpeg", recorded)
    asyncio.run(run("h264"))
    [(_, ready)] = fake_topics["processed"].sent
    assert db.apply_processed(ready)
    asyncio.run(run("av1"))

    _, verdict = fake_topics["processed"].sent[-1]
    [twin] = [r["av1"] for r in verdict.renditions]
    rows = plans.current(video, "av1")
    # each part's CRFs on record (one: AV1 rates a part as a whole; the best H.264 ladder adds its scenes')
    aimed = [crf for row in rows for crf in row.served[rate_aim.AIMED]["480p"]]
    assert len(aimed) == 3 and twin["crf"] == sorted(set(aimed)), (aimed, twin)
    lowest, highest = av1_ladder.LADDER.crf_bounds
    assert all(lowest <= crf <= highest for crf in aimed)
    part_commands = [argv for argv in commands if any(arg.endswith(".nut") for arg in argv)]
    assert sorted(float(argv[argv.index("-crf:v:0") + 1]) for argv in part_commands) == sorted(aimed)
    [h264] = [r["quality"]["vmaf"] for r in verdict.renditions]
    assert twin["quality"]["vmaf"] >= h264 - ladder_verdict.TOLERANCE, (twin, h264)
    assert twin["fit"] and twin["listed"], twin


def test_a_parts_claim_is_renewed_while_its_rate_is_aimed(plan_db, engine, fake_topics, monkeypatch, tmp_path):
    """The probes of a long part take longer than a claim stays fresh (plans.HEARTBEAT_STALE): while they run,
    the part's heartbeat goes on, so no other worker takes the part over meanwhile."""
    video, media = plan_db, tmp_path / "media"
    _, _, run = with_av1_in_parts(video, media, fake_topics, monkeypatch)
    asyncio.run(run("h264"))
    [(_, ready)] = fake_topics["processed"].sent
    assert db.apply_processed(ready)
    beats, renewed = [], []
    real_beat = plans.beat

    def beat(*args, **kw):
        beats.append(args)
        return real_beat(*args, **kw)

    def slow_aim(*args):  # (in its thread) the probes, until the claim is renewed or 3 s pass
        before = len(beats)
        deadline = time.monotonic() + 3.0
        while len(beats) == before and time.monotonic() < deadline:
            time.sleep(0.05)
        renewed.append(len(beats) > before)
        return {}

    monkeypatch.setattr(plans, "beat", beat)
    monkeypatch.setattr(rate_aim, "rates_for", slow_aim)
    asyncio.run(run("av1"))
    assert renewed == [True, True, True], renewed  # every part's claim, while its probes ran
    _, verdict = fake_topics["processed"].sent[-1]
    assert all("av1" in r for r in verdict.renditions)


def av1_state(engine, video_id: int) -> dict[int, tuple]:
    with engine.connect() as conn:
        where = (VideoPart.video_id == video_id) & (VideoPart.ladder == "av1")
        rows = conn.execute(sa.select(VideoPart.part, VideoPart.state, VideoPart.attempts).where(where))
        return {row.part: (row.state, row.attempts) for row in rows}


@pytest.mark.parametrize("order", ["av1 first", "hevc first"])
def test_two_ladders_verdicts_are_both_kept_in_either_order_with_the_films_note(plan_db, engine, monkeypatch, order):
    """A long film's AV1 and HEVC ladders end in parts at about the same time: each verdict is reported from
    the renditions its worker read (without the other's), and whichever lands second must not drop the first;
    the film's note (a track left out) stays too."""
    from stream_workers.records import VideoProcessed

    video, output = plan_db, "videos/x/hls-a"
    monkeypatch.setattr(db.storage, "remove_outputs", lambda video_id, keep=None: None)
    with engine.begin() as conn:
        conn.execute(sa.update(Video).where(Video.id == video).values(job_token="t" * 32))
    plain = {"name": "480p", "width": 640, "height": 360, "bandwidth": 1}
    ready = VideoProcessed(video_id=video, status="ready", hls_path=output, renditions=[plain], token="t" * 32,
                           error="The French track was left out.")  # fmt: skip
    assert db.apply_processed(ready)
    verdicts = {name: {**plain, name: {"listed": name == "av1"}} for name in ("av1", "hevc")}
    names = ["av1", "hevc"] if order == "av1 first" else ["hevc", "av1"]
    for name in names:
        assert db.apply_processed(VideoProcessed(video_id=video, status="ready", hls_path=output,
                                                 renditions=[verdicts[name]], token="t" * 32))  # fmt: skip
    with engine.connect() as conn:
        row = conn.execute(sa.select(Video.renditions, Video.error).where(Video.id == video)).one()
    assert row.renditions == [{**plain, "av1": {"listed": True}, "hevc": {"listed": False}}]
    assert row.error == "The French track was left out."
    # another output (the film processed again) starts afresh
    assert db.apply_processed(VideoProcessed(video_id=video, status="ready", hls_path="videos/x/hls-b",
                                             renditions=[plain], token="t" * 32))  # fmt: skip
    with engine.connect() as conn:
        row = conn.execute(sa.select(Video.renditions, Video.error).where(Video.id == video)).one()
    assert row.renditions == [plain] and row.error is None
