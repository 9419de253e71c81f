"""The store failing under a running job, for real: SeaweedFS killed while the transcode agent publishes a
growing output, then started again. The job ends as a machine fault (queued again, not failed), the retry
starts from nothing (its announcement clears what was playable) and the video ends ready with one output."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from stream_workers.agents import transcode
from stream_workers.app import app
from videoflix import events
from videoflix.devservices import SeaweedFS
from videoflix.storage.config import StorageConfig
from videoflix.storage.s3 import S3Storage

from ..support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY
from ..support.clips import make_clip

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
    settings = dataclasses.replace(app.settings, storage=config, scratch=tmp_path / "scratch", retry_delay=1.0,
                                   progress_interval=0.0, x264_preset="slower", max_attempts=3)  # fmt: skip
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
