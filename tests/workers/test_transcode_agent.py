"""The transcode agent's decisions, with the topics and the job faked: dead letters, permanent failures,
bounded retries. (The real path, through Kafka and FFmpeg, is in tests/integration/test_pipeline.py.)"""

from __future__ import annotations

import asyncio
import dataclasses
import time

import pytest
from prometheus_client import REGISTRY

from stream_workers import ffmpeg_run, hls_output, jobs, ladder_plans
from stream_workers.agents import transcode
from stream_workers.app import app
from stream_workers.db import ReadyOutput, ready_output
from stream_workers.records import VideoProcessed, VideoUploaded
from videoflix.core import events
from videoflix.core.media import video_dir

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
    monkeypatch.setattr(ladder_plans, "until_done", current)
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
