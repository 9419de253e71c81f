"""The transcode agent's decisions, with the topics and the job faked: dead letters, permanent failures,
bounded retries. (The real path, through Kafka and FFmpeg, is in tests/integration/test_pipeline.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from stream_workers import av1_ladder, avc_ladder, ffmpeg_run, hls_output, jobs, ladder_pass, ladder_verdict
from stream_workers.agents import transcode
from stream_workers.app import app
from stream_workers.db import ReadyOutput, ready_output
from stream_workers.records import ENDED, VideoProcessed, VideoUploaded
from videoflix.core import events
from videoflix.core.media import video_dir

from ..support.clips import CALM, make_clip
from ..support.fakes import FakeTopic, gone


@pytest.fixture
def topics(monkeypatch):
    fakes = {name: FakeTopic() for name in ("uploaded", "progress", "processed", "dead_letter")}
    for name, fake in fakes.items():
        monkeypatch.setattr(transcode.topics, name, fake)
    fast = dataclasses.replace(app.settings, retry_delay=0.0, max_attempts=3)
    monkeypatch.setattr(app, "settings", fast)
    monkeypatch.setattr(jobs, "deleted", gone({}))  # every video still exists unless a test says not
    return fakes


def run(payload):
    asyncio.run(transcode.handle(payload))


def test_unreadable_event_goes_to_the_dead_letter_topic(topics):
    run({"schema": 1, "video_id": "not a number"})

    [(_, letter)] = topics["dead_letter"].sent
    assert letter.topic == events.UPLOADED and "unreadable" in letter.reason
    assert topics["processed"].sent == [] and topics["uploaded"].sent == []


def test_bad_input_fails_at_once_without_retry(topics, monkeypatch):
    async def process(event):
        raise ffmpeg_run.TranscodeError("The video could not be decoded.")

    monkeypatch.setattr(transcode, "process", process)
    run(events.uploaded(5, "videos/5/source.mp4"))

    [(key, result)] = topics["processed"].sent
    assert key == b"5" and isinstance(result, VideoProcessed)
    assert (result.status, result.error) == ("failed", "The video could not be decoded.")
    assert topics["uploaded"].sent == []


def test_transient_error_is_retried_with_the_next_attempt(topics, monkeypatch):
    async def process(event):
        raise OSError("database went away")

    monkeypatch.setattr(transcode, "process", process)
    run(events.uploaded(6, "videos/6/source.mp4", attempt=0))

    [(key, retry)] = topics["uploaded"].sent
    assert key == b"6" and isinstance(retry, VideoUploaded) and retry.attempt == 1
    assert topics["processed"].sent == [] and topics["dead_letter"].sent == []


def test_last_attempt_gives_up_to_the_dead_letter_topic_and_fails_the_video(topics, monkeypatch):
    async def process(event):
        raise OSError("still broken")

    monkeypatch.setattr(transcode, "process", process)
    run(events.uploaded(7, "videos/7/source.mp4", attempt=2))

    assert topics["uploaded"].sent == []
    [(_, letter)] = topics["dead_letter"].sent
    [(_, result)] = topics["processed"].sent
    assert "3 times" in letter.reason and result.status == "failed" and "still broken" in result.error


def test_source_outside_media_root_is_refused(topics, monkeypatch, tmp_path):
    async def status(*args, **kw):
        return "uploaded"

    monkeypatch.setattr(transcode, "until_done", status)
    run(events.uploaded(8, "../../etc/passwd"))

    [(_, result)] = topics["processed"].sent
    assert result.status == "failed" and "missing" in result.error


@pytest.mark.parametrize(("status", "why"), [("ready", "already ready"), (None, "deleted")])
def test_redelivered_event_for_a_ready_or_deleted_video_does_nothing(topics, monkeypatch, status, why):
    decided = ReadyOutput("videos/9/hls-1", [{"name": "480p", "av1": {"listed": False}}], 3.0)  # its AV1 verdict

    async def current(fn, *args, **kw):
        return decided if fn is ready_output else status

    monkeypatch.setattr(transcode, "until_done", current)
    monkeypatch.setattr(ladder_pass, "until_done", current)
    run(events.uploaded(9, "videos/9/source.mp4"))

    assert all(fake.sent == [] for fake in topics.values()), why


def test_a_duplicate_of_a_job_this_worker_just_finished_is_ignored(topics, monkeypatch):
    """The results agent may not have written `ready` yet when a duplicate arrives on the same partition."""

    async def still_processing(*args, **kw):
        return "processing"

    monkeypatch.setattr(transcode, "until_done", still_processing)
    monkeypatch.setitem(transcode._recently_done, 11, time.monotonic() - 5)
    run(events.uploaded(11, "videos/11/source.mp4"))
    assert all(fake.sent == [] for fake in topics.values())

    monkeypatch.setitem(transcode._recently_done, 11, time.monotonic() - transcode.RECENT - 1)  # long ago: redo
    run(events.uploaded(11, "videos/11/source.mp4"))
    [(_, failed)] = topics["processed"].sent  # it went on (and failed: there is no such file here)
    assert failed.status == "failed" and "missing" in failed.error


@pytest.mark.parametrize(
    ("error", "cause"),
    [
        (ffmpeg_run.TranscodeError("bad"), "bad_input"),
        (ffmpeg_run.TranscodeTimeout("stalled"), "timeout"),
        (ffmpeg_run.IOFault("disk full"), "storage"),
        (OSError("database went away"), "other"),
    ],
)
def test_failures_are_counted_by_cause_and_nothing_stays_in_flight(topics, monkeypatch, error, cause):
    async def process(event):
        assert REGISTRY.get_sample_value("videoflix_jobs_in_flight") == 1
        raise error

    monkeypatch.setattr(transcode, "process", process)
    before = REGISTRY.get_sample_value("videoflix_job_failures_total", {"cause": cause}) or 0
    run(events.uploaded(12, "videos/12/source.mp4"))
    assert REGISTRY.get_sample_value("videoflix_job_failures_total", {"cause": cause}) == before + 1
    assert REGISTRY.get_sample_value("videoflix_jobs_in_flight") == 0


def test_a_job_whose_video_was_deleted_discards_its_output_instead_of_failing(topics, monkeypatch, tmp_path):
    """Deleting a video pulls its files from under FFmpeg: the error that follows is not a failure to report."""
    folder = tmp_path / "videos" / "13"

    async def process(event):
        (folder / ".work-x").mkdir(parents=True)  # FFmpeg re-created the folder the web tier removed
        raise ffmpeg_run.IOFault("No such file or directory")

    monkeypatch.setattr(transcode, "process", process)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, media_root=tmp_path))
    monkeypatch.setattr(jobs, "deleted", gone({13: True}))
    before = REGISTRY.get_sample_value("videoflix_jobs_total", {"outcome": "discarded"}) or 0
    run(events.uploaded(13, "videos/13/source.mp4"))

    assert all(fake.sent == [] for fake in topics.values())  # no retry, no failure, no dead letter
    assert not folder.exists()
    assert REGISTRY.get_sample_value("videoflix_jobs_total", {"outcome": "discarded"}) == before + 1


def test_progress_checks_stop_ffmpeg_once_the_video_is_deleted(topics, monkeypatch, tmp_path, clips):
    """The real job on a real clip: the row disappears once the job has started; nothing is reported as ready
    or failed, and the video's folder is gone. (That FFmpeg itself is stopped: test_hls.py.)"""
    from videoflix.core.media import video_dir

    media = tmp_path / "media"
    source = video_dir(media, 14) / "source.mp4"
    source.parent.mkdir(parents=True)
    source.write_bytes(clips["clip"].read_bytes())
    rows = {}
    eager = dataclasses.replace(app.settings, media_root=media, progress_interval=0.0)
    monkeypatch.setattr(app, "settings", eager)
    monkeypatch.setattr(jobs, "deleted", gone(rows))

    async def status(*args, **kw):
        return "uploaded"

    async def progress(event, percent, **playable):
        topics["progress"].sent.append(percent)
        rows[14] = True  # an operator deletes the video while it is processed

    monkeypatch.setattr(transcode, "until_done", status)
    monkeypatch.setattr(transcode, "progress", progress)
    run(events.uploaded(14, "videos/14/source.mp4"))

    assert topics["processed"].sent == [] and topics["uploaded"].sent == []
    assert topics["progress"].sent[0] == 0.0  # the job had started
    assert not video_dir(media, 14).exists()


def test_a_real_job_is_playable_before_it_is_ready(topics, monkeypatch, tmp_path):
    """Progressive HLS on a real clip: the job announces its output as soon as every rendition's first segment
    exists; at that moment the playlists are EVENT playlists without an end, and every segment they list is
    complete on disk; the finished job's playlists are VOD playlists with every segment."""
    from tests.support.clips import make_clip
    from videoflix.core.media import video_dir

    media = tmp_path / "media"
    source = video_dir(media, 15) / "source.mp4"
    source.parent.mkdir(parents=True)
    make_clip(source, seconds=12, size="1280x720")
    # a slow preset, so that the job is still running when its first segments are there
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, media_root=media, av1_ladder=False,
                                                                   x264_preset="slower"))  # fmt: skip
    seen = []

    async def status(*args, **kw):
        return "uploaded"

    async def progress(event, percent, **playable):
        if playable.get("hls_path"):
            output = media / playable["hls_path"]
            lowest = (output / "480p" / "index.m3u8").read_text()
            listed = [output / "480p" / line for line in lowest.splitlines() if line.endswith(".ts")]
            complete = bool(listed) and all(whole_segment(path) for path in listed)
            seen.append({"percent": percent, "playlist": lowest, "renditions": playable["renditions"],
                         "complete": complete, "master": (output / "master.m3u8").read_text(),
                         "detail": {k: playable[k] for k in DETAIL}})  # fmt: skip

    monkeypatch.setattr(transcode, "until_done", status)
    monkeypatch.setattr(transcode, "progress", progress)
    run(events.uploaded(15, "videos/15/source.mp4"))

    [announced] = seen
    assert announced["percent"] < 100
    assert "#EXT-X-PLAYLIST-TYPE:EVENT" in announced["playlist"] and "#EXT-X-ENDLIST" not in announced["playlist"]
    assert announced["complete"] and [r["name"] for r in announced["renditions"]] == ["480p", "720p"]
    assert hls_output.START_AT_BEGINNING in announced["master"]  # players start a growing film at 0, not at its end
    # progress per rendition (what its playlist has published), FFmpeg's speed and the ETA it implies
    detail = announced["detail"]
    assert set(detail["rendition_progress"]) == {"480p", "720p"}
    for published in detail["rendition_progress"].values():
        assert published["seconds"] >= 4.0
        assert published["percent"] == pytest.approx(100 * published["seconds"] / 12, abs=0.1)
    assert detail["speed"] > 0 and detail["eta_seconds"] >= 0
    assert announced["master"].count("#EXT-X-STREAM-INF") == 2
    [(_, done)] = topics["processed"].sent
    assert done.status == "ready"
    for name in ("480p", "720p"):
        final = (media / done.hls_path / name / "index.m3u8").read_text()
        assert "#EXT-X-PLAYLIST-TYPE:VOD" in final and final.rstrip().endswith("#EXT-X-ENDLIST")
        assert final.count(".ts") == 3  # 12 s in 4 s segments


DETAIL = ("speed", "eta_seconds", "rendition_progress")


def whole_segment(path) -> bool:
    """An MPEG-TS segment written whole: whole 188-byte packets, and FFmpeg decodes it without a complaint."""
    import subprocess

    from videoflix.core.containers import ffmpeg_exe

    data = path.read_bytes()
    if not data or len(data) % 188:
        return False
    result = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True)
    return result.returncode == 0 and not result.stderr


def test_a_film_whose_av1_encode_fails_keeps_its_h264_ladder(topics, monkeypatch, tmp_path):
    """SVT-AV1 refuses a 2x2 picture (a 1x1 source's rendition): with the guard against such pictures off,
    the AV1 pass fails on it, and the film is ready with the H.264 ladder its first pass made, rather than
    failed or made again."""
    media = tmp_path / "media"
    source = video_dir(media, 16) / "source.mp4"
    source.parent.mkdir(parents=True)
    make_clip(source, seconds=1, size="1x1", audio=False, scene="color=c=red:size={size}:rate={rate}",
              extra=["-pix_fmt", "yuv444p"])  # fmt: skip
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, media_root=media, av1_ladder=True))
    monkeypatch.setattr(ladder_verdict, "MIN_SIDE", 0)
    runs, reports = [], []
    run_watched(monkeypatch, 16, lambda argv: runs.append("libsvtav1" in argv), reports)

    [(_, done)] = topics["processed"].sent
    assert runs == [False, True] and done.status == "ready", (runs, done)
    assert reports[-1] == (0.0, {"stage": av1_ladder.LADDER.name + ENDED})  # the console shows no pass running any more
    assert "av01" not in (media / done.hls_path / "master.m3u8").read_text()
    assert not (media / done.hls_path / av1_ladder.LADDER.folder).exists()  # nothing of it left behind


def test_a_film_is_ready_before_its_av1_ladder_is_made_and_reported_again_with_it(
    topics, monkeypatch, tmp_path, captions_kept
):
    """The AV1 ladder is made by a second FFmpeg run once the film is ready: by then the H.264 playlists are
    whole (VOD, ended), the master lists H.264 alone, and the film's ready report is out (a viewer never
    waits for SVT-AV1); the film is then reported again, each rendition with its AV1 twin measured in the
    H.264 one's windows. The AV1 run holds the further-ladder slot, not the FFmpeg slot: another film's H.264
    job on this worker does not wait behind it."""
    media = tmp_path / "media"
    source = video_dir(media, 17) / "source.mp4"
    source.parent.mkdir(parents=True)
    make_clip(source, seconds=3, size="320x240")
    eager = dataclasses.replace(app.settings, media_root=media, av1_ladder=True, progress_interval=0.0)
    monkeypatch.setattr(app, "settings", eager)
    runs, reports = [], []

    def watch(argv):
        if "libsvtav1" in argv:
            output = Path(argv[-1]).parents[2]  # (the AV1 run's output: <output>/av1/%v/index.m3u8)
            seen = (output / "480p" / "index.m3u8").read_text(), (output / "master.m3u8").read_text()
            runs.append(("av1", *seen, len(topics["processed"].sent)))
            reports.append("AV1 run")
        else:
            runs.append(("h264",))
        slots.append((jobs.FFMPEG_SLOT.locked(), jobs.LADDER_SLOT.locked()))

    slots: list[tuple[bool, bool]] = []
    run_watched(monkeypatch, 17, watch, reports)

    assert [r[0] for r in runs] == ["h264", "av1"], runs
    assert slots == [(True, False), (False, True)], slots
    # its captions asked for once the film is ready, before the AV1 pass (which they never wait for)
    assert [(key, job.video_id, job.source) for key, job in captions_kept.sent] == [(b"17", 17, "videos/17/source.mp4")]
    _, playlist, master, reported = runs[1]
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and playlist.rstrip().endswith("#EXT-X-ENDLIST"), playlist
    assert hls_output.START_AT_BEGINNING not in master and "av01" not in master and reported == 1
    [(_, ready), (_, again)] = topics["processed"].sent
    assert ready.status == again.status == "ready" and ready.hls_path == again.hls_path
    assert "av1" not in ready.renditions[0] and "quality" in ready.renditions[0], ready.renditions
    twin = again.renditions[0]["av1"]
    assert twin["average_bandwidth"] > 0 and twin["quality"]["frames"] == ready.renditions[0]["quality"]["frames"]
    assert again.renditions[0]["quality"] == ready.renditions[0]["quality"]  # the H.264 scores, not measured again
    listed = "av1/480p/index.m3u8" in (media / again.hls_path / "master.m3u8").read_text()
    assert listed == twin["listed"], (twin, listed)
    # the AV1 pass reports its progress as the film's AV1 stage: from 0 when it starts, FFmpeg's speed and
    # the time to go as it runs, below 100 until the film's second report
    making = reports[reports.index("AV1 run") - 1 :]
    assert making[0] == (0.0, {"stage": av1_ladder.LADDER.name}), reports
    running = [fields for _, fields in making[2:]]
    assert running and all(fields["stage"] == av1_ladder.LADDER.name for fields in running), reports
    # (FFmpeg's first blocks may say N/A for its speed: then neither it nor the ETA is known)
    assert all(fields["speed"] is None or fields["speed"] > 0 for fields in running), reports
    assert all((fields["eta_seconds"] is None) == (fields["speed"] is None) for fields in running), reports
    assert all(fields["eta_seconds"] is None or fields["eta_seconds"] >= 0 for fields in running), reports
    assert all(0 <= percent <= 99 for percent, _ in making[2:]), reports


def test_a_film_longer_than_av1_max_seconds_is_made_in_h264_alone(topics, monkeypatch, tmp_path):
    media = tmp_path / "media"
    source = video_dir(media, 18) / "source.mp4"
    source.parent.mkdir(parents=True)
    make_clip(source, seconds=3, size="320x240")
    settings = dataclasses.replace(app.settings, media_root=media, av1_ladder=True, av1_max_seconds=2.5)
    monkeypatch.setattr(app, "settings", settings)
    runs = []
    run_watched(monkeypatch, 18, lambda argv: runs.append("libsvtav1" in argv))

    [(_, done)] = topics["processed"].sent  # ready once, with no AV1 run after
    assert runs == [False] and done.status == "ready" and "av1" not in done.renditions[0], (runs, done)


def test_the_event_of_a_ready_film_again_runs_an_av1_pass_its_worker_did_not_finish(topics, monkeypatch, tmp_path):
    """A worker died during a film's AV1 pass (the film ready, the event not acknowledged): the event, now
    on another worker, finds the film ready with no AV1 verdict, removes what the pass had left (a part of
    its folder; variants it may have listed), runs it again, and reports the film with its AV1 twins beside
    the H.264 scores reported at ready. Once the verdict is in, the event changes nothing."""
    media = tmp_path / "media"
    source = video_dir(media, 19) / "source.mp4"
    source.parent.mkdir(parents=True)
    make_clip(source, seconds=3, size="320x240")
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, media_root=media, av1_ladder=False))
    run_watched(monkeypatch, 19, lambda argv: None)
    [(_, ready)] = topics["processed"].sent  # (as the dead worker reported it, before its AV1 pass)
    output = media / ready.hls_path
    (output / "av1/480p").mkdir(parents=True)
    (output / "av1/480p/007.m4s").write_bytes(b"cut short")
    master = output / "master.m3u8"
    listed = '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="av01.0.05M.08"\nav1/480p/index.m3u8\n'
    master.write_text(master.read_text() + listed)

    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, av1_ladder=True))
    monkeypatch.delitem(transcode._recently_done, 19)  # (another worker)
    stored = {"row": ReadyOutput(ready.hls_path, ready.renditions, ready.duration)}

    async def database(fn, *args, **kw):
        return stored["row"] if fn is ready_output else "ready"

    runs = []
    monkeypatch.setattr(transcode, "until_done", database)
    monkeypatch.setattr(ladder_pass, "until_done", database)
    run_watched_as_is = transcode.ffmpeg_run.run_ffmpeg

    async def watched(argv, *args, **kw):
        runs.append("av1" if "libsvtav1" in argv else "h264")
        return await run_watched_as_is(argv, *args, **kw)

    monkeypatch.setattr(transcode.ffmpeg_run, "run_ffmpeg", watched)

    @contextlib.asynccontextmanager
    async def held(video_id):  # another worker is making it (a duplicate event during its pass)
        yield False

    with monkeypatch.context() as busy:
        busy.setattr(ladder_pass, "claim", held)
        run(events.uploaded(19, "videos/19/source.mp4"))
    assert runs == [] and (output / "av1/480p/007.m4s").exists()  # nothing done, nothing of its removed

    run(events.uploaded(19, "videos/19/source.mp4"))
    assert runs == ["av1"], runs
    [_, (_, again)] = topics["processed"].sent
    assert again.status == "ready" and again.hls_path == ready.hls_path
    twin = again.renditions[0]["av1"]
    assert again.renditions[0]["quality"] == ready.renditions[0]["quality"]  # reported, not measured again
    assert twin["quality"]["frames"] == ready.renditions[0]["quality"]["frames"] and twin["average_bandwidth"] > 0
    assert not (output / "av1/480p/007.m4s").exists()  # the dead pass' leftovers are gone
    text = master.read_text()
    assert "BANDWIDTH=1," not in text and text.count("av1/480p/index.m3u8") == int(twin["listed"]), text

    stored["row"] = ReadyOutput(again.hls_path, again.renditions, again.duration)
    monkeypatch.delitem(transcode._recently_done, 19)
    run(events.uploaded(19, "videos/19/source.mp4"))
    assert runs == ["av1"] and len(topics["processed"].sent) == 2  # the verdict is in: nothing runs


def run_watched(monkeypatch, video_id: int, watch, reports: list | None = None) -> None:
    """Run the upload of `video_id` (videos/<id>/source.mp4) through the agent, the video's row waiting and
    progress reports kept in `reports` (percent and fields) or dropped, `watch(argv)` told of each FFmpeg run
    as it starts."""
    real_run = transcode.ffmpeg_run.run_ffmpeg

    async def watched_run(argv, *args, **kw):
        watch(argv)
        return await real_run(argv, *args, **kw)

    async def status(*args, **kw):
        return "uploaded"

    async def progress(event, percent, **fields):
        if reports is not None:
            reports.append((percent, fields))

    monkeypatch.setattr(transcode.ffmpeg_run, "run_ffmpeg", watched_run)
    monkeypatch.setattr(transcode, "until_done", status)
    monkeypatch.setattr(transcode, "progress", progress)
    monkeypatch.setattr(ladder_pass, "progress", progress)
    run(events.uploaded(video_id, f"videos/{video_id}/source.mp4"))


def test_a_film_made_in_one_pass_gets_the_hevc_ladder_where_switched_on_judged_as_av1_is(topics, monkeypatch, tmp_path):
    """HEVC_LADDER=on (AV1 off here): once the film is ready, a run of its own makes the HEVC ladder (`hvc1`
    in fMP4), scored in the H.264 renditions' windows; the film is reported again with each rendition's HEVC
    twin, and the master lists the HEVC variants exactly where the verdict says so."""
    media = tmp_path / "media"
    source = video_dir(media, 23) / "source.mp4"
    source.parent.mkdir(parents=True)
    make_clip(source, seconds=3, size="640x360", rate=30, scene=CALM)
    settings = dataclasses.replace(app.settings, media_root=media, av1_ladder=False, hevc_ladder=True)
    monkeypatch.setattr(app, "settings", settings)
    runs, reports = [], []
    run_watched(monkeypatch, 23, lambda argv: runs.append(argv[argv.index("-c:v") + 1]), reports)

    assert runs == ["libx264", "libx265"], runs
    [(_, ready), (_, again)] = topics["processed"].sent
    assert "hevc" not in ready.renditions[0] and again.renditions[0]["quality"] == ready.renditions[0]["quality"]
    twin = again.renditions[0]["hevc"]
    assert twin["average_bandwidth"] > 0 and twin["quality"]["frames"] == ready.renditions[0]["quality"]["frames"]
    master = (media / again.hls_path / "master.m3u8").read_text()
    assert ('CODECS="hvc1.' in master) == twin["listed"] == ("hevc/480p/index.m3u8" in master), (twin, master)
    assert ("hevc", 0.0) in [(fields.get("stage"), percent) for percent, fields in reports if isinstance(fields, dict)]


def test_a_film_made_in_one_pass_gets_the_best_h264_ladder_in_the_fast_ones_place(topics, monkeypatch, tmp_path):
    """AVC_LADDER=on, its rate aimed (RATE_AIM), with AV1: once the film is ready on the fast ladder, a run of x264
    slow makes the best H.264 ladder (fMP4 `avc1`), each rung at the CRF its probes found to hold the fast
    rendition's quality; scored in the fast renditions' windows, it is listed in their place in the master, the
    fast master kept beside it, the fast files kept; then AV1 is made and judged against the fast renditions
    still. The film is reported ready three times: fast, with the best ladder, with AV1."""
    media = tmp_path / "media"
    source = video_dir(media, 24) / "source.mp4"
    source.parent.mkdir(parents=True)
    make_clip(source, seconds=3, size="640x360", rate=30, scene=CALM)
    settings = dataclasses.replace(app.settings, media_root=media, avc_ladder=True, av1_ladder=True, rate_aim=0.05)
    monkeypatch.setattr(app, "settings", settings)
    runs, reports = [], []
    encoder = lambda argv: (argv[argv.index("-c:v") + 1], argv[argv.index("-preset") + 1])  # noqa: E731
    run_watched(monkeypatch, 24, lambda argv: runs.append(encoder(argv)), reports)

    assert runs == [("libx264", "veryfast"), ("libx264", "slow"), ("libsvtav1", "6")], runs
    [(_, ready), (_, best), (_, last)] = topics["processed"].sent
    assert not any("avc" in r for r in ready.renditions)
    twin = best.renditions[0]["avc"]
    assert twin["listed"] and twin["fit"], best.renditions  # a calm clip: the slower search holds it in fewer bytes
    assert twin["crf"] and all(16 <= crf <= 32 for crf in twin["crf"]), twin  # aimed
    assert twin["quality"]["vmaf"] >= ready.renditions[0]["quality"]["vmaf"] - 1.0
    output = media / last.hls_path
    master = (output / "master.m3u8").read_text()
    uris = [line for line in master.splitlines() if line and not line.startswith("#")]
    assert uris[0] == "avc/480p/index.m3u8" and "480p/index.m3u8" not in uris, master
    assert uris[1:] == (["av1/480p/index.m3u8"] if last.renditions[0]["av1"]["listed"] else []), master
    assert last.renditions[0]["avc"] == twin  # kept through AV1's report
    fast = (output / "master-fast.m3u8").read_text()
    assert [line for line in fast.splitlines() if line and not line.startswith("#")] == ["480p/index.m3u8"]
    assert twin["average_bandwidth"] < hls_output.average_bandwidths(fast)["480p"]
    assert (output / "480p" / "index.m3u8").is_file() and (output / "avc" / "480p" / "init.mp4").is_file()
    stages = [fields.get("stage") for _, fields in reports if isinstance(fields, dict)]
    assert stages.index("avc") < stages.index("av1"), stages  # operators see the stages in turn


def test_a_dead_best_ladder_pass_that_had_taken_the_fast_ones_place_gives_it_back_and_runs_again(
    topics, monkeypatch, tmp_path
):
    """A worker died after its best H.264 ladder was listed in the fast one's place but before it reported the
    verdict: the event, on another worker, finds the film ready with no such verdict; before it runs that pass
    again, the master names the fast variants again (from the fast master kept beside it: a player opening the
    film meanwhile gets a ladder whose files exist), the dead pass' folder is gone; then the ladder is made,
    judged and listed as the first time."""
    media = tmp_path / "media"
    source = video_dir(media, 25) / "source.mp4"
    source.parent.mkdir(parents=True)
    make_clip(source, seconds=3, size="320x240", scene=CALM)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, media_root=media, av1_ladder=False))
    run_watched(monkeypatch, 25, lambda argv: None)
    [(_, ready)] = topics["processed"].sent  # (as the dead worker reported it, before its best ladder's pass)
    output = media / ready.hls_path
    master = output / "master.m3u8"
    fast = master.read_text()
    (output / "master-fast.m3u8").write_text(fast)
    (output / "avc/480p").mkdir(parents=True)
    (output / "avc/480p/003.m4s").write_bytes(b"cut short")
    best = '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc1.64001e,mp4a.40.2"\navc/480p/index.m3u8\n'
    master.write_text(ladder_verdict.with_variants(avc_ladder.LADDER, fast, best.replace("avc/", ""), ["480p"]))
    assert "\n480p/index.m3u8" not in master.read_text()  # the dead pass had listed it in the fast one's place

    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, avc_ladder=True))
    monkeypatch.delitem(transcode._recently_done, 25)  # (another worker)

    async def database(fn, *args, **kw):
        return ReadyOutput(ready.hls_path, ready.renditions, ready.duration) if fn is ready_output else "ready"

    monkeypatch.setattr(transcode, "until_done", database)
    monkeypatch.setattr(ladder_pass, "until_done", database)
    seen, real_run = [], transcode.ffmpeg_run.run_ffmpeg

    async def watched(argv, *args, **kw):
        seen.append(
            (master.read_text(), (output / "avc/480p/003.m4s").exists() or (output / "master-fast.m3u8").exists())
        )
        return await real_run(argv, *args, **kw)

    monkeypatch.setattr(transcode.ffmpeg_run, "run_ffmpeg", watched)
    run(events.uploaded(25, "videos/25/source.mp4"))

    # the best ladder's one run, and what the master named as it started: the fast variants, the dead pass' files
    # and the fast master gone (the renditions' own playlists are the fast ones again: views/streaming.py)
    [(given_back, leftovers)] = seen
    assert "\n480p/index.m3u8" in given_back and "avc/" not in given_back and not leftovers, given_back
    [_, (_, again)] = topics["processed"].sent
    twin = again.renditions[0]["avc"]
    text = master.read_text()
    assert "BANDWIDTH=1," not in text and ("\n480p/index.m3u8" in text) is not twin["listed"], (twin, text)
    assert text.count("avc/480p/index.m3u8") == int(twin["listed"]), text
