"""The store failing under a running job, for real: SeaweedFS killed while the transcode agent publishes a
growing output, then started again. The job ends as a machine fault (queued again, not failed), the retry
starts from nothing (its announcement clears what was playable) and the video ends ready with one output.
And the connection to the store cut while FFmpeg reads a source from it: FFmpeg reconnects and reads on
from where it was; a read that cannot finish is a passing fault, never an output cut short."""

from __future__ import annotations

import asyncio
import dataclasses
import threading

import pytest

from stream_workers import ffmpeg_run
from stream_workers.agents import transcode
from stream_workers.app import app
from videoflix.core import events
from videoflix.core.containers import ObjectURL, ffmpeg_exe, input_options
from videoflix.core.storage.config import StorageConfig
from videoflix.core.storage.s3 import S3Storage, s3_client
from videoflix.devservices import SeaweedFS

from ..support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY
from ..support.clips import make_clip
from ..support.relay import Relay

pytestmark = [pytest.mark.integration, pytest.mark.faults]


@pytest.fixture
def own_store(tmp_path):
    """A SeaweedFS of this test's own, to kill and start again."""
    store = SeaweedFS(tmp_path / "weed", S3_ACCESS_KEY, S3_SECRET_KEY, log_path=tmp_path / "weed.log")
    store.start()
    store.create_bucket("faults")
    yield store
    if store.proc is not None and store.proc.poll() is None:
        store.proc.kill()
        store.proc.wait(10)


def test_the_store_dying_mid_job_queues_the_job_again_and_it_ends_ready(own_store, monkeypatch, tmp_path,
                                                                        agent_topics):  # fmt: skip
    config = StorageConfig("s3", own_store.endpoint_url, "faults", S3_ACCESS_KEY, S3_SECRET_KEY)
    # (the H.264 job's faults alone: no AV1 ladder)
    settings = dataclasses.replace(app.settings, storage=config, scratch=tmp_path / "scratch", retry_delay=1.0,
                                   progress_interval=0.0, x264_preset="slower", max_attempts=3,
                                   av1_ladder=False)  # fmt: skip
    monkeypatch.setattr(app, "settings", settings)
    topics = agent_topics
    bucket = S3Storage(own_store.client(), "faults")
    bucket.put_file("videos/31/source.mp4", make_clip(tmp_path / "clip.mp4", seconds=12, size="1280x720"))
    announced = []
    real_progress = transcode.progress

    async def progress(event, percent, **fields):
        announced.append(fields.get("hls_path"))
        if fields.get("hls_path") and own_store.proc.poll() is None and event.attempt == 0:
            own_store.proc.kill()  # the store dies once the film is watchable, while segments are being sent
            own_store.proc.wait(10)
        await real_progress(event, percent, **fields)

    monkeypatch.setattr(transcode, "progress", progress)
    asyncio.run(transcode.handle(events.uploaded(31, "videos/31/source.mp4")))

    assert topics["processed"].sent == [] and topics["dead_letter"].sent == []  # not failed: a machine fault
    [(_, retry)] = topics["uploaded"].sent
    assert retry.attempt == 1
    first_output = next(path for path in announced if path)

    own_store.start()  # back, with what it had
    announced.clear()
    asyncio.run(transcode.handle(retry.asdict()))

    assert announced[0] == ""  # the retry first tells the database there is nothing to watch
    [(_, result)] = topics["processed"].sent
    assert result.status == "ready" and result.hls_path != first_output
    outputs = {key.split("/")[2] for key in bucket.keys("videos/31/") if key.split("/")[2].startswith("hls-")}
    assert outputs == {result.hls_path.rsplit("/", 1)[1]}  # the half output of the first attempt is gone
    vod = b"".join(bucket.read(result.hls_path + "/720p/index.m3u8")).decode()
    assert "#EXT-X-ENDLIST" in vod


@pytest.fixture(scope="module")
def big_clip(tmp_path_factory):
    """20 s of 720p at a high bitrate (35 MB): far more than the sockets buffer, so a cut lands mid-read."""
    return make_clip(tmp_path_factory.mktemp("big") / "big.mp4", seconds=20, size="1280x720", extra=["-crf", "6"])


@pytest.fixture
def relayed_source(own_store, big_clip):
    """The clip stored as a source, and a signed URL of it that reaches the store through a relay to cut."""
    S3Storage(own_store.client(), "faults").put_file("videos/32/source.mp4", big_clip)
    relay = Relay(own_store.ports["s3"])
    signer = S3Storage(s3_client(relay.url, S3_ACCESS_KEY, S3_SECRET_KEY), "faults")  # the relay's host is signed
    yield relay, ObjectURL(signer.presigned_url("videos/32/source.mp4", 600))
    relay.close()


#: read before the cut: a quarter of the clip, with most of it still to come
SOME = 9 * 1024 * 1024


def decoded_frames(url: ObjectURL, tmp_path, while_reading) -> int:
    """Decode a stored MP4 as the workers read a source (their input options), paced at twice its speed so
    the reading lasts while `while_reading` runs. How many frames came out."""
    frames = tmp_path / "frames.txt"
    *options, _, _ = input_options(url, "mp4")
    argv = [ffmpeg_exe(), "-nostdin", *options, "-readrate", "2", "-i", url, "-map", "0:v", "-f", "framecrc", "-y",
            str(frames)]  # fmt: skip
    helper = threading.Thread(target=while_reading)
    helper.start()
    try:
        asyncio.run(ffmpeg_run.run_ffmpeg(argv, timeout=300))
    finally:
        helper.join()
    return sum(1 for line in frames.read_text().splitlines() if line and not line.startswith("#"))


def test_ffmpeg_reading_a_source_reconnects_where_it_was_and_loses_no_frame(relayed_source, tmp_path):
    relay, url = relayed_source
    # the connection to the store drops a quarter of the way in, and the store answers again 3 s later
    assert decoded_frames(url, tmp_path, lambda: (relay.wait_for(SOME), relay.cut(3))) == 500  # 20 s at 25 fps


def test_a_source_read_that_cannot_finish_is_a_passing_fault_not_a_short_output(relayed_source, tmp_path):
    relay, url = relayed_source
    # dropped, and then answering 503, as SeaweedFS answers 500 while it starts again
    with pytest.raises(ffmpeg_run.SourceUnreadable, match="could not be read to its end") as caught:
        decoded_frames(url, tmp_path, lambda: (relay.wait_for(SOME), relay.cut(1, then_unavailable=True)))
    assert isinstance(caught.value, OSError) and not isinstance(caught.value, ffmpeg_run.TranscodeError)  # retried
    assert "X-Amz" not in str(caught.value) and "127.0.0.1" not in str(caught.value)  # no signed URL shown
