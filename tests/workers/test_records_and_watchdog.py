"""Events: the web tier's payloads read as the workers' records; tolerant reading; and the watchdog that
queues stalled videos again, and folds counted views into the videos' rows."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from stream_workers import av1_ladder, db
from stream_workers.db import fold_views_now, requeue_stalled
from stream_workers.records import InvalidEvent, VideoProcessed, VideoUploaded
from videoflix.core import events
from videoflix.core.models import OutboxEvent, Video, VideoStatus, VideoView
from videoflix.core.models.viewing import fold_views


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
    stalled_playable = add_video(connection, VideoStatus.PLAYABLE, "10 minutes")  # a job died after its start
    fresh = add_video(connection, VideoStatus.UPLOADED, "10 seconds")
    done = add_video(connection, VideoStatus.READY, "1 day")
    failed = add_video(connection, VideoStatus.FAILED, "1 day")
    backed_off = add_video(connection, VideoStatus.UPLOADED, "10 minutes", requeues=3)  # waits 8 x 300 s

    requeued = requeue_stalled(connection, idle_seconds=300)

    assert sorted(requeued) == sorted([stalled_upload, stalled_job, stalled_playable])
    assert {fresh, done, failed, backed_off}.isdisjoint(requeued)
    rows = connection.execute(
        sa.select(OutboxEvent.key, OutboxEvent.payload).where(
            OutboxEvent.key.in_([str(stalled_upload), str(stalled_job), str(stalled_playable)])
        )
    ).all()
    assert {r.payload["video_id"] for r in rows} == {stalled_upload, stalled_job, stalled_playable}
    assert all(r.payload == events.uploaded(r.payload["video_id"], "videos/x/source.mp4") for r in rows)
    assert connection.scalar(sa.select(Video.requeues).where(Video.id == stalled_upload)) == 1
    # the second round in the same transaction (same now()) finds them waiting their doubled time
    assert requeue_stalled(connection, idle_seconds=300) == []


def test_progress_events_move_a_video_through_processing_and_playable_but_never_back(connection):
    """What the results agent writes for `videos.progress` events (stream_workers.db.progress_update)."""
    from stream_workers.db import progress_update
    from stream_workers.records import VideoProgress

    def apply(video_id: int, **fields) -> bool:
        return connection.execute(progress_update(VideoProgress(video_id=video_id, **fields))).rowcount == 1

    def row(video_id: int):
        return connection.execute(
            sa.select(Video.status, Video.progress, Video.hls_path, Video.renditions).where(Video.id == video_id)
        ).one()

    video = add_video(connection, VideoStatus.UPLOADED, "1 second")
    assert apply(video, progress=0.0, hls_path="") and row(video).status == VideoStatus.PROCESSING
    playable = {"hls_path": "videos/1/hls-a", "renditions": [{"name": "480p", "height": 480}]}
    assert apply(video, progress=7.5, **playable)
    assert tuple(row(video)) == (VideoStatus.PLAYABLE, 7.5, "videos/1/hls-a", [{"name": "480p", "height": 480}])
    assert apply(video, progress=40.0, speed=1.5, eta_seconds=80.0, rendition_progress={"480p": {"seconds": 48.0}})
    assert tuple(row(video))[:3] == (VideoStatus.PLAYABLE, 40.0, "videos/1/hls-a")  # a plain report keeps it so
    detail = connection.scalar(sa.select(Video.progress_detail).where(Video.id == video))
    assert detail == {"speed": 1.5, "eta_seconds": 80.0, "renditions": {"480p": {"seconds": 48.0}}}
    assert apply(video, progress=0.0, hls_path="")  # a new attempt: nothing to watch until it is playable again
    assert tuple(row(video)) == (VideoStatus.PROCESSING, 0.0, None, [])
    assert connection.scalar(sa.select(Video.progress_detail).where(Video.id == video)) == {}

    for finished in (VideoStatus.READY, VideoStatus.FAILED):
        done = add_video(connection, finished, "1 second")
        assert not apply(done, progress=50.0, **playable) and not apply(done, progress=1.0, hls_path="")
        assert row(done).status == finished


def test_a_ready_films_av1_pass_shows_its_progress_until_its_verdict_and_stays_ready(connection):
    """A ready film's AV1 pass (`VideoProgress.stage`): its progress, speed and ETA under progress_detail's
    `av1`, the film ready at 100 % all along; a report that arrives after the verdict (the ready report with
    the AV1 twins, on its own topic) changes nothing; a pass that gives up clears what it showed."""
    from stream_workers.db import progress_update
    from stream_workers.records import ENDED, VideoProgress

    def apply(video_id: int, **fields) -> bool:
        return connection.execute(progress_update(VideoProgress(video_id=video_id, **fields))).rowcount == 1

    def row(video_id: int):
        return connection.execute(
            sa.select(Video.status, Video.progress, Video.progress_detail).where(Video.id == video_id)
        ).one()

    film = add_video(connection, VideoStatus.READY, "1 second")
    connection.execute(sa.update(Video).where(Video.id == film).values(progress=100.0, renditions=[{"name": "480p"}]))
    assert apply(film, progress=0.0, stage=av1_ladder.LADDER.name)
    assert apply(film, progress=42.5, stage=av1_ladder.LADDER.name, speed=0.8, eta_seconds=12.0)
    assert tuple(row(film)) == (
        VideoStatus.READY, 100.0, {"av1": {"progress": 42.5, "speed": 0.8, "eta_seconds": 12.0}},
    )  # fmt: skip
    assert apply(film, progress=0.0, stage=av1_ladder.LADDER.name + ENDED) and row(film).progress_detail == {}
    assert not apply(film, progress=0.0, stage=av1_ladder.LADDER.name + ENDED)  # (nothing to clear)

    # two ladders at once (a long film's AV1 and HEVC parts): each under its own name; one ending leaves the other
    assert apply(film, progress=10.0, stage=av1_ladder.LADDER.name) and apply(film, progress=20.0, stage="hevc")
    assert {name: shown["progress"] for name, shown in row(film).progress_detail.items()} == {"av1": 10.0, "hevc": 20.0}
    assert apply(film, progress=0.0, stage="hevc-ended") and set(row(film).progress_detail) == {"av1"}
    for forged in ("vp9", "av1'", "$", "x-ended", ""):  # a stage naming no further ladder changes nothing
        if forged:
            assert not apply(film, progress=1.0, stage=forged), forged
    assert row(film).progress_detail["av1"]["progress"] == 10.0

    verdict = [{"name": "480p", "av1": {"listed": True}}]
    connection.execute(sa.update(Video).where(Video.id == film).values(renditions=verdict, progress_detail={}))
    assert not apply(film, progress=97.0, stage=av1_ladder.LADDER.name) and row(film).progress_detail == {}
    for other in (VideoStatus.PROCESSING, VideoStatus.PLAYABLE, VideoStatus.FAILED):  # only a ready film's
        unready = add_video(connection, other, "1 second")
        assert not apply(unready, progress=50.0, stage=av1_ladder.LADDER.name)
        assert row(unready).status == other and row(unready).progress_detail == {}


def test_counted_views_are_folded_into_the_videos_rows_once_even_by_two_folders_at_a_time(engine, monkeypatch):
    """The relay's leader folds the view log every watchdog round (`db.fold_views_now`); two at once (a
    leader change) each take rows the other has not locked, so every view is added once."""
    monkeypatch.setattr(db, "engine", lambda: engine)
    with engine.begin() as conn:
        films = [add_video(conn, VideoStatus.READY, "1 day") for _ in range(2)]
        conn.execute(sa.insert(VideoView), [{"video_id": films[0]}] * 5 + [{"video_id": films[1]}] * 3)
    try:
        also: list[int] = []

        def fold_beside() -> None:
            with engine.begin() as second:
                also.append(fold_views(second))

        with engine.connect() as first, first.begin():
            taken = fold_views(first, batch=4)  # its log rows stay locked until it commits...
            beside = threading.Thread(target=fold_beside)
            beside.start()  # ...so this one skips them, takes the rest, and waits for the video row
            beside.join(1.0)
            assert beside.is_alive()  # (waiting for the first's row lock on the video, not done twice)
        beside.join(10)
        assert (taken, also) == (4, [4])
        assert fold_views_now() == 0  # nothing left
        with engine.connect() as conn:
            views = dict(conn.execute(sa.select(Video.id, Video.views).where(Video.id.in_(films))).all())
            assert views == {films[0]: 5, films[1]: 3}
            assert conn.scalar(sa.select(sa.func.count()).select_from(VideoView)) == 0
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(Video).where(Video.id.in_(films)))


def test_a_ready_films_output_is_read_as_the_database_names_it(engine, monkeypatch):
    """What the transcode agent reads when a ready film's event comes again (`db.ready_output`): its output
    and reported renditions; nothing for a film not ready."""
    monkeypatch.setattr(db, "engine", lambda: engine)
    renditions = [{"name": "480p", "quality": {"vmaf": 95.1, "vmaf_p5": 90.0, "frames": 30, "below_floor": False}}]
    with engine.begin() as conn:
        ready, busy = add_video(conn, VideoStatus.READY, "1 minute"), add_video(conn, VideoStatus.PROCESSING, "1 s")
        conn.execute(
            sa.update(Video).where(Video.id.in_([ready, busy]))
            .values(hls_path="videos/x/hls-1", renditions=renditions, duration=3.5)
        )  # fmt: skip
    try:
        assert db.ready_output(ready) == db.ReadyOutput("videos/x/hls-1", renditions, 3.5)
        assert db.ready_output(busy) is None and db.ready_output(-1) is None
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(Video).where(Video.id.in_([ready, busy])))


def test_one_av1_pass_per_film_at_a_time_and_a_dead_workers_claim_goes_with_it(engine, monkeypatch):
    """`db.claim_ladders`: a second claim on the film (another worker its event reached) is refused while the
    first is held, another film's is not; released (or its worker's connection gone), the film is free."""
    monkeypatch.setattr(db, "engine", lambda: engine)
    first = db.claim_ladders(41)
    assert first is not None
    assert db.claim_ladders(41) is None
    other = db.claim_ladders(42)
    assert other is not None
    db.release_claim(first)
    again = db.claim_ladders(41)
    assert again is not None
    again.connection.dbapi_connection.close()  # (as a dead worker's connection ends)
    deadline = time.monotonic() + 10
    while (later := db.claim_ladders(41)) is None and time.monotonic() < deadline:
        time.sleep(0.1)  # (PostgreSQL ends the session once it sees the connection gone)
    assert later is not None
    for conn in (other, later):
        db.release_claim(conn)
    db.release_claim(again)


def test_reports_change_a_video_only_with_its_jobs_token(engine, monkeypatch):
    """The results agent's writes (`db.apply_processed`, `db.progress_update`) apply an event only when it
    carries the video's `job_token`: a forged or stale `ready` neither switches the output nor removes the
    film's files (it removed them all before: the row "looked deleted"), a `failed` or a restart changes
    nothing; the job's own reports apply; a video queued before tokens (NULL) takes the events that carry none;
    the watchdog's requeue carries the row's token."""
    from stream_workers.db import progress_update
    from stream_workers.records import VideoProcessed, VideoProgress

    monkeypatch.setattr(db, "engine", lambda: engine)
    removed = []
    monkeypatch.setattr(db.storage, "remove_video", lambda video_id: removed.append(("video", video_id)))
    monkeypatch.setattr(db.storage, "remove_outputs", lambda video_id, keep: removed.append(("outputs", video_id)))
    with engine.begin() as conn:
        states = (VideoStatus.READY, VideoStatus.PROCESSING, VideoStatus.PROCESSING)
        ready, waiting, old = (add_video(conn, state, "1 second") for state in states)
        conn.execute(
            sa.update(Video).where(Video.id == ready).values(hls_path=f"videos/{ready}/hls-1", job_token="r" * 32)
        )
        conn.execute(sa.update(Video).where(Video.id == waiting).values(job_token="w" * 32))
    try:
        for token in ("", "f" * 32):
            forged = VideoProcessed(video_id=ready, status="ready", hls_path=f"videos/{ready}/hls-x", token=token)
            assert db.apply_processed(forged) is False
            assert db.apply_processed(VideoProcessed(video_id=ready, status="failed", error="x", token=token)) is False
        with engine.begin() as conn:
            assert (
                conn.execute(progress_update(VideoProgress(video_id=waiting, progress=1.0, hls_path=""))).rowcount == 0
            )
            assert conn.execute(progress_update(VideoProgress(video_id=waiting, progress=1.0, hls_path="",
                                                              token="w" * 32))).rowcount == 1  # fmt: skip
            row = conn.execute(sa.select(Video.status, Video.hls_path).where(Video.id == ready)).one()
        assert tuple(row) == (VideoStatus.READY, f"videos/{ready}/hls-1") and removed == []
        assert db.apply_processed(VideoProcessed(video_id=waiting, status="ready", hls_path=f"videos/{waiting}/hls-2",
                                                 token="w" * 32)) is True  # fmt: skip
        assert db.apply_processed(VideoProcessed(video_id=old, status="failed", error="bad input")) is True
        assert db.apply_processed(VideoProcessed(video_id=-5, status="ready", hls_path="videos/-5/x")) is False
        assert removed == [("outputs", waiting), ("video", -5)]  # a deleted video's output still goes
        with engine.begin() as conn:
            idle = {"status": VideoStatus.UPLOADED, "updated_at": sa.text("now() - interval '1 hour'")}
            conn.execute(sa.update(Video).where(Video.id == waiting).values(**idle))
            requeue_stalled(conn, idle_seconds=60)
            payload = conn.scalar(sa.select(OutboxEvent.payload).where(OutboxEvent.key == str(waiting)))
            conn.execute(sa.delete(OutboxEvent).where(OutboxEvent.key == str(waiting)))
        assert payload["token"] == "w" * 32
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(Video).where(Video.id.in_([ready, waiting, old])))
