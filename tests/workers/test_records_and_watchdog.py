"""Events: the web tier's payloads read as the workers' records; tolerant reading; and the watchdog that
queues stalled videos again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from stream_workers.db import requeue_stalled
from stream_workers.records import InvalidEvent, VideoProcessed, VideoUploaded
from videoflix import events
from videoflix.models import OutboxEvent, Video, VideoStatus


def test_web_payload_reads_as_the_worker_record():
    payload = events.uploaded(7, "videos/7/source.mp4", attempt=1)
    record = VideoUploaded.from_payload(payload)
    assert record.payload() == payload  # same fields, same values: both sides agree


def test_unknown_fields_are_ignored_and_unknown_schemas_refused():
    assert VideoUploaded.from_payload({**events.uploaded(1, "s"), "added_later": True}).video_id == 1
    with pytest.raises(InvalidEvent, match="schema"):
        VideoUploaded.from_payload({**events.uploaded(1, "s"), "schema": 99})


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "x",
        {"schema": 1},
        {"schema": 1, "video_id": "7", "source": "s"},
        {"schema": 1, "video_id": -1, "source": "s"},
    ],
)
def test_unreadable_payloads_are_invalid(payload):
    with pytest.raises(InvalidEvent):
        VideoUploaded.from_payload(payload)


def test_processed_defaults():
    record = VideoProcessed.from_payload({"schema": 1, "video_id": 3, "status": "failed", "error": "bad"})
    assert record.renditions == [] and record.hls_path is None


def add_video(connection, status: VideoStatus, idle: str, requeues: int = 0) -> int:
    return connection.execute(
        sa.insert(Video)
        .values(
            title="t",
            source_path="videos/x/source.mp4",
            status=status,
            requeues=requeues,
            updated_at=sa.text(f"now() - interval '{idle}'"),
        )
        .returning(Video.id)
    ).scalar_one()


def test_watchdog_requeues_only_stalled_unfinished_videos(connection):
    stalled_upload = add_video(connection, VideoStatus.UPLOADED, "10 minutes")
    stalled_job = add_video(connection, VideoStatus.PROCESSING, "10 minutes")
    fresh = add_video(connection, VideoStatus.UPLOADED, "10 seconds")
    done = add_video(connection, VideoStatus.READY, "1 day")
    failed = add_video(connection, VideoStatus.FAILED, "1 day")
    backed_off = add_video(connection, VideoStatus.UPLOADED, "10 minutes", requeues=3)  # waits 8 x 300 s

    requeued = requeue_stalled(connection, idle_seconds=300)

    assert sorted(requeued) == sorted([stalled_upload, stalled_job])
    assert {fresh, done, failed, backed_off}.isdisjoint(requeued)
    rows = connection.execute(
        sa.select(OutboxEvent.key, OutboxEvent.payload).where(
            OutboxEvent.key.in_([str(stalled_upload), str(stalled_job)])
        )
    ).all()
    assert {r.payload["video_id"] for r in rows} == {stalled_upload, stalled_job}
    assert all(r.payload == events.uploaded(r.payload["video_id"], "videos/x/source.mp4") for r in rows)
    assert connection.scalar(sa.select(Video.requeues).where(Video.id == stalled_upload)) == 1
    # the second round in the same transaction (same now()) finds them waiting their doubled time
    assert requeue_stalled(connection, idle_seconds=300) == []
