"""A film made in one pass gets its further ladders in parts over every worker (stream_workers/ladder_plans.py),
as a long film does: against the real database and FFmpeg with the topics faked. The transcode agent makes the
film, plans its ladders and reports it ready, and is then free for the next upload; each part is a job the part
agent runs (`ladder_parts`), on the one-pass H.264 renditions' clock; a ladder that fails ends alone; an event
that comes again resumes what an earlier run left. (Through Kafka and two workers: tests/integration/test_av1.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest
import sqlalchemy as sa

from stream_workers import db, ffmpeg_run, film_parts, hls, jobs, ladder_plans, ladder_verdict, plans
from stream_workers.agents import transcode
from stream_workers.app import app
from stream_workers.av1_ladder import LADDER as AV1
from stream_workers.avc_ladder import LADDER as AVC
from stream_workers.film_steps import FilmSteps
from stream_workers.records import ENDED, VideoProcessed
from videoflix.core import events
from videoflix.core.ladders import FAST_MASTER
from videoflix.core.media import ladder_for, probe
from videoflix.core.models import Video, VideoStatus

from ..support.clips import make_clip, stream_starts, video_timestamps
from ..support.fakes import gone
from ..support.part_agent import run_parts


def upload(video: int, media: Path, monkeypatch, seconds: float, size: str = "320x240", clip=None, **settings):
    """A clip stored as the video's source (`clip`: make_clip's options) and its upload run through the transcode
    agent (`settings`: the workers' own, changed); the film's ready report applied, as the results agent does."""
    source = media / "videos" / str(video) / "source.mp4"
    source.parent.mkdir(parents=True, exist_ok=True)
    make_clip(source, seconds=seconds, size=size, rate=30, **(clip or {}))
    changed = dict(media_root=media, part_seconds=4, progress_interval=0.0, retry_delay=0.0, **settings)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, **changed))
    monkeypatch.setattr(jobs, "deleted", gone({}))
    monkeypatch.setattr(db.storage, "remove_outputs", lambda video_id, keep=None: None)
    again(video)


def again(video: int) -> None:
    """The video's upload event, through the transcode agent."""
    asyncio.run(transcode.handle(events.uploaded(video, f"videos/{video}/source.mp4")))


def watch_runs(monkeypatch) -> list[tuple[str, bool, bool]]:
    """Each FFmpeg encode as it starts: its ladder, and whether the FFmpeg slot and the further-ladder slot
    were held."""
    runs, real_run = [], ffmpeg_run.run_ffmpeg

    async def watched(argv, *args, **kw):
        runs.append(("av1" if "libsvtav1" in argv else "h264", jobs.FFMPEG_SLOT.locked(), jobs.LADDER_SLOT.locked()))
        return await real_run(argv, *args, **kw)

    monkeypatch.setattr(ffmpeg_run, "run_ffmpeg", watched)
    return runs


def test_a_one_pass_film_is_ready_with_its_agent_free_and_gets_its_av1_ladder_in_parts_on_its_clock(
    plan_db, engine, fake_topics, captions_kept, monkeypatch, tmp_path
):
    """AV1 on, an 8 s film made in one pass: the transcode agent runs the H.264 pass alone (in the FFmpeg slot),
    plans the AV1 ladder in two 4 s parts, reports the film ready and asks for its captions, and is done: no AV1
    encode runs in it, the next upload would start at once. Each part is a job on the part topic carrying the
    one-pass clock; the part agent runs them in the further-ladder slot, and the last part's worker reports the
    film again with each rendition's AV1 twin scored in the H.264 windows, listed in the master exactly where
    the verdict says; the AV1 renditions join their parts on the H.264 renditions' clock with every frame, and
    operators see the AV1 stage's progress until the verdict."""
    video, media = plan_db, tmp_path / "media"
    runs = watch_runs(monkeypatch)
    upload(video, media, monkeypatch, seconds=8, av1_ladder=True)

    assert runs == [("h264", True, False)], runs
    [(_, ready)] = fake_topics["processed"].sent
    assert ready.status == "ready" and "av1" not in ready.renditions[0] and "quality" in ready.renditions[0]
    assert [(job.video_id, job.source) for _, job in captions_kept.sent] == [(video, f"videos/{video}/source.mp4")]
    rows = plans.current(video, "av1")
    assert [(row.part, row.start, row.length, row.state) for row in rows] == [(0, 0.0, 4.0, "queued"),
                                                                            (1, 4.0, 4.0, "queued")]  # fmt: skip
    jobs_sent = [job for _, job in fake_topics["ladder_parts"].sent]
    assert [(job.ladder, job.part, job.output, job.clock) for job in jobs_sent] == [
        ("av1", 0, ready.hls_path, hls.ONE_PASS_CLOCK), ("av1", 1, ready.hls_path, hls.ONE_PASS_CLOCK)
    ]  # fmt: skip
    assert fake_topics["parts"].sent == []  # (the fast ladder's topic: its agent never waits behind these)
    assert db.apply_processed(ready)  # (the results agent)

    run_parts(fake_topics["ladder_parts"].sent)
    assert runs[1:] == [("av1", False, True)] * 2, runs
    [_, (_, verdict)] = fake_topics["processed"].sent
    twin = verdict.renditions[0]["av1"]
    assert twin["average_bandwidth"] > 0 and twin["quality"]["frames"] == ready.renditions[0]["quality"]["frames"]
    assert verdict.renditions[0]["quality"] == ready.renditions[0]["quality"]  # the H.264 scores, as reported
    output = media / verdict.hls_path
    assert ("av1/480p/index.m3u8" in (output / "master.m3u8").read_text()) == twin["listed"], twin
    playlist = output / "av1" / "480p" / "index.m3u8"
    assert playlist.read_text().count("#EXT-X-MAP:") == 2 and len(video_timestamps(playlist)) == 8 * 30
    joined = tmp_path / "001.mp4"  # the second part's first segment, after its own init
    joined.write_bytes((output / "av1/480p/init-0001.mp4").read_bytes() + (output / "av1/480p/001.m4s").read_bytes())
    assert stream_starts(joined)["video"] == pytest.approx(stream_starts(output / "480p/001.ts")["video"], abs=1e-3)
    stages = [(report.stage, report.progress) for _, report in fake_topics["progress"].sent if report.stage]
    assert stages and all(stage == "av1" and 0 <= percent <= 99 for stage, percent in stages), stages
    assert plans.current(video, "av1") and db.apply_processed(verdict) and plans.current(video, "av1") == []


def test_a_one_pass_film_whose_av1_encode_fails_keeps_its_h264_ladder(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    """SVT-AV1 refuses a 2x2 picture (a 1x1 source's rendition): with the guard against such pictures off, the
    AV1 ladder's one part fails for good, which ends the ladder, not the film: ready with the H.264 ladder its
    pass made, reported once, the console told the stage ended, nothing of the ladder left, nothing dead-lettered."""
    video, media = plan_db, tmp_path / "media"
    monkeypatch.setattr(ladder_verdict, "MIN_SIDE", 0)
    tiny = {"audio": False, "scene": "color=c=red:size={size}:rate={rate}", "extra": ["-pix_fmt", "yuv444p"]}
    upload(video, media, monkeypatch, seconds=1, size="1x1", clip=tiny, av1_ladder=True)
    [(_, ready)] = fake_topics["processed"].sent
    assert db.apply_processed(ready)
    run_parts(fake_topics["ladder_parts"].sent)

    assert len(fake_topics["processed"].sent) == 1 and fake_topics["dead_letter"].sent == []
    stages = [report.stage for _, report in fake_topics["progress"].sent]
    assert stages.count("av1" + ENDED) == 1, stages
    assert plans.current(video, "av1") == [] and not (media / ready.hls_path / "av1").exists()
    assert "av01" not in (media / ready.hls_path / "master.m3u8").read_text()
    with engine.connect() as conn:
        assert conn.scalar(sa.select(Video.status).where(Video.id == video)) == VideoStatus.READY


def test_a_one_pass_film_longer_than_av1_max_seconds_gets_no_further_ladder(
    plan_db, fake_topics, monkeypatch, tmp_path
):
    video, media = plan_db, tmp_path / "media"
    upload(video, media, monkeypatch, seconds=3, av1_ladder=True, av1_max_seconds=2.5)
    [(_, ready)] = fake_topics["processed"].sent
    assert ready.status == "ready" and fake_topics["ladder_parts"].sent == [] and plans.current(video, "av1") == []


def test_the_event_of_a_ready_film_again_clears_what_an_earlier_run_left_and_resumes_its_ladders(
    plan_db, engine, fake_topics, monkeypatch, tmp_path
):
    """A film ready in one pass whose further ladders a dead worker had begun in one run (before they were made
    in parts: no plan; files of theirs left, the best H.264 ladder listed in the fast one's place): its event,
    again, gives the master its fast variants back and removes what was left (a player opening the film
    meanwhile gets files that exist), then plans both ladders in parts on the clock read from the film's first
    segment. Queued once more with one part done, only what remains goes out again; once the verdicts are
    in, the event changes nothing."""
    video, media = plan_db, tmp_path / "media"
    upload(video, media, monkeypatch, seconds=8, av1_ladder=False)
    [(_, ready)] = fake_topics["processed"].sent
    assert db.apply_processed(ready) and fake_topics["ladder_parts"].sent == []
    output = media / ready.hls_path
    master = output / "master.m3u8"
    fast = master.read_text()
    (output / FAST_MASTER).write_text(fast)
    for leftover in ("avc/480p/003.m4s", "av1/480p/007.m4s"):
        (output / leftover).parent.mkdir(parents=True)
        (output / leftover).write_bytes(b"cut short")
    best = '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001e,mp4a.40.2"\navc/480p/index.m3u8\n'
    master.write_text(ladder_verdict.with_variants(AVC, fast, best.replace("avc/", ""), ["480p"]))
    assert "\n480p/index.m3u8" not in master.read_text()

    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, avc_ladder=True, av1_ladder=True))
    monkeypatch.delitem(transcode._recently_done, video)  # (another worker)
    again(video)
    text = master.read_text()
    assert "\n480p/index.m3u8" in text and "avc/" not in text and "av1/" not in text, text
    assert not (output / FAST_MASTER).exists() and not (output / "avc").exists() and not (output / "av1").exists()
    sent = fake_topics["ladder_parts"].sent
    assert sorted((job.ladder, job.part, job.clock) for _, job in sent) == [
        (ladder, part, hls.ONE_PASS_CLOCK) for ladder in ("av1", "avc") for part in (0, 1)
    ]

    sent.clear()
    assert plans.claim(video, 0, ready.hls_path, "w", "av1") == ("claimed", 1)
    with plans.locked(video) as conn:
        plans.complete(conn, video, 0, "w", {"480p": []}, "av1")
    again(video)  # (the watchdog: the plan idle)
    assert sorted((job.ladder, job.part) for _, job in sent) == [("av1", 1), ("avc", 0), ("avc", 1)]

    sent.clear()
    twin = {"listed": False, "fit": False, "bandwidth": 1, "average_bandwidth": 1}
    renditions = [{**rendition, "av1": twin, "avc": twin} for rendition in ready.renditions]
    assert db.apply_processed(VideoProcessed(**{**ready.asdict(), "renditions": renditions}))
    again(video)
    assert sent == [] and plans.current(video, "av1") == plans.current(video, "avc") == []


def test_a_film_that_does_not_seek_cleanly_gets_its_ladder_in_one_part_read_from_its_start(tmp_path):
    """A source whose keyframes do not decode from a seek (`seeking`) cannot be cut: its further ladder is one
    part, the whole film, and that part's run reads it from its start (no input seek), where one that seeks is
    cut in PART_SECONDS and each part seeks to its start."""
    source = make_clip(tmp_path / "film.mp4", seconds=10, size="320x240")
    seeks = dataclasses.replace(probe(source), seeks=True)
    stuck = dataclasses.replace(seeks, seeks=False)
    rungs = ladder_for(seeks.short_side)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(app, "settings", dataclasses.replace(app.settings, part_seconds=4))
        assert ladder_plans.cut(stuck, 10.0) == [film_parts.Part(0, 0.0, 10.0)]
        assert [(part.start, part.length) for part in ladder_plans.cut(seeks, 10.0)] == [(0.0, 4.0), (4.0, 6.0)]
    whole = FilmSteps(stuck, rungs, AV1, clock=hls.ONE_PASS_CLOCK).picture_part(
        "ffmpeg", source, tmp_path, film_parts.Part(0, 0.0, 10.0)
    )
    second = FilmSteps(seeks, rungs, AV1).picture_part("ffmpeg", source, tmp_path, film_parts.Part(1, 4.0, 6.0))
    assert "-ss" not in whole[: whole.index("-i")], whole
    assert whole[whole.index("-output_ts_offset") + 1] == f"{hls.ONE_PASS_CLOCK:.3f}"
    assert second[second.index("-ss") + 1] == "4.000"
    assert second[second.index("-output_ts_offset") + 1] == f"{4.0 + hls.PARTS_CLOCK:.3f}"
