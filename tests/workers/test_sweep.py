"""The storage sweep on a real SeaweedFS and the test database: what no row owns goes once it is older than
the grace period; what a row owns, or what may still be in flight, stays; one worker sweeps at a time."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from stream_workers import sweep
from stream_workers.app import app
from videoflix.core.models import AuthSession, PlaybackSession, Subtitle, Upload, User, Video, VideoStatus
from videoflix.core.storage.config import StorageConfig
from videoflix.core.storage.s3 import S3Storage

from ..support.accounts import S3_ACCESS_KEY, S3_SECRET_KEY

pytestmark = pytest.mark.integration


@pytest.fixture
def swept(engine, monkeypatch, seaweedfs, bucket, tmp_path):
    """A bucket holding a bit of everything, and the rows that own some of it."""
    config = StorageConfig("s3", seaweedfs.endpoint_url, bucket, S3_ACCESS_KEY, S3_SECRET_KEY)
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, storage=config, media_root=tmp_path))
    monkeypatch.setattr(sweep, "engine", lambda: engine)
    store = S3Storage(seaweedfs.client(), bucket)
    with engine.begin() as conn:
        ready = conn.scalar(sa.insert(Video).values(title="Ready", source_path="s", status=VideoStatus.READY)
                            .returning(Video.id))  # fmt: skip
        conn.execute(sa.update(Video).where(Video.id == ready).values(hls_path=f"videos/{ready}/hls-new"))
        busy = conn.scalar(sa.insert(Video).values(title="Busy", source_path="s", status=VideoStatus.PROCESSING)
                           .returning(Video.id))  # fmt: skip
        user = conn.scalar(sa.insert(User).values(email="sweep@example.com", password_hash="x").returning(User.id))
        conn.execute(sa.insert(Upload).values(id="live", user_id=user, length=10, fields={},
                                              expires_at=datetime.now(UTC) + timedelta(hours=1)))  # fmt: skip
        conn.execute(sa.insert(Subtitle).values(video_id=busy, language="de", label="Deutsch",
                                                key=f"videos/{busy}/subtitles/de.new.vtt"))  # fmt: skip
    gone = ready + busy + 1000  # a video whose row was deleted while the store was down
    for key in (f"videos/{ready}/source.mp4", f"videos/{ready}/hls-new/master.m3u8", f"videos/{ready}/hls-old/a.ts",
                f"videos/{busy}/hls-a/a.ts", f"videos/{busy}/hls-b/a.ts", f"videos/{gone}/source.mp4",
                f"videos/{gone}/hls-x/a.ts", "uploads/tus-live", "uploads/tus-dead",
                # a track's file, and the one it replaced, whose removal after the commit found the store down
                f"videos/{busy}/subtitles/de.new.vtt", f"videos/{busy}/subtitles/de.old.vtt"):  # fmt: skip
        store.put_bytes(key, b"x")
    for name in ("uploads/tus-live", "uploads/tus-abandoned", "backups/theirs.tar", "uploads/other-app"):
        store.begin_multipart(name)  # (the last two: another user of the bucket's, never ours to abort)
    yield store, ready, busy, gone
    with engine.begin() as conn:
        conn.execute(sa.delete(Upload).where(Upload.id == "live"))
        conn.execute(sa.delete(User).where(User.id == user))
        conn.execute(sa.delete(Video).where(Video.id.in_([ready, busy])))


def test_nothing_young_is_swept(swept):
    store, *_ = swept
    before = sorted(store.keys(""))
    assert sweep.sweep(grace=3600) == {"videos": 0, "outputs": 0, "subtitles": 0, "staged": 0, "multipart": 0}
    assert sorted(store.keys("")) == before and len(list(store.multipart_uploads(""))) == 4


def test_what_no_row_owns_goes_and_the_rest_stays(swept):
    store, ready, busy, gone = swept
    assert list(store.keys(f"videos/{gone}/"))
    assert sweep.sweep(grace=0) == {"videos": 1, "outputs": 1, "subtitles": 1, "staged": 1, "multipart": 1}
    assert sorted(store.keys("")) == sorted([
        f"videos/{ready}/source.mp4", f"videos/{ready}/hls-new/master.m3u8",  # the ready video's served output
        f"videos/{busy}/hls-a/a.ts", f"videos/{busy}/hls-b/a.ts",  # a job may be writing: untouched
        f"videos/{busy}/subtitles/de.new.vtt",  # its track names it
        "uploads/tus-live",  # its upload row is live
    ])  # fmt: skip
    assert sorted(key for key, _, _ in store.multipart_uploads("")) == [
        "backups/theirs.tar", "uploads/other-app", "uploads/tus-live"]  # fmt: skip


def test_one_worker_sweeps_at_a_time(swept, engine):
    store, _, _, gone = swept
    with engine.begin() as other:  # another worker's sweep holds the lock
        other.execute(sa.select(sa.func.pg_advisory_xact_lock(sweep.SWEEP_LOCK)))
        assert sweep.sweep(grace=0) == {"videos": 0, "outputs": 0, "subtitles": 0, "staged": 0, "multipart": 0}
    assert sweep.sweep(grace=0)["videos"] == 1 and list(store.keys(f"videos/{gone}/")) == []


def test_an_output_a_playback_began_on_stays_until_its_playback_is_gone(swept, engine):
    """A viewer mid-film when the film was sealed (or made again) plays on from the output they began on."""
    store, ready, _, _ = swept
    with engine.begin() as conn:
        user = conn.scalar(sa.insert(User).values(email="sweep-viewer@example.com", password_hash="x")
                           .returning(User.id))  # fmt: skip
        now = datetime.now(UTC)
        login = conn.scalar(sa.insert(AuthSession).values(user_id=user, refresh_jti="j", created_at=now,
                                                          refreshed_at=now, expires_at=now + timedelta(days=1))
                            .returning(AuthSession.id))  # fmt: skip
        conn.execute(
            sa.insert(PlaybackSession).values(
                auth_session_id=login,
                user_id=user,
                video_id=ready,
                started_at=now,
                seen_at=now,
                output=f"videos/{ready}/hls-old",
            )
        )
    try:
        assert sweep.sweep(grace=0)["outputs"] == 0
        assert list(store.keys(f"videos/{ready}/hls-old/"))
        with engine.begin() as conn:
            conn.execute(sa.delete(PlaybackSession).where(PlaybackSession.user_id == user))
        assert sweep.sweep(grace=0)["outputs"] == 1
        assert not list(store.keys(f"videos/{ready}/hls-old/"))
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(User).where(User.id == user))


def test_each_films_bytes_in_the_store_are_measured(swept, engine):
    """The console's size and the service panel's storage used: a film's folder summed, as the pass listed it
    (what it removes is measured gone at the next pass); a film whose folder grew is measured again."""
    store, ready, busy, _ = swept

    def sizes() -> dict[int, int | None]:
        with engine.connect() as conn:
            return dict(conn.execute(sa.select(Video.id, Video.stored_bytes).where(Video.id.in_([ready, busy]))).all())

    assert sizes() == {ready: None, busy: None}
    sweep.sweep(grace=3600)
    assert sizes() == {ready: 3, busy: 4}  # every object holds one byte
    store.put_bytes(f"videos/{ready}/hls-new/720p/000.ts", b"x" * 1000)
    sweep.sweep(grace=0)  # removes the ready film's old output: counted until the next pass
    assert sizes()[ready] == 1003
    sweep.sweep(grace=0)
    assert sizes() == {ready: 1002, busy: 3}


def test_a_film_is_measured_when_a_report_changes_it(swept, engine):
    """The results agent measures a film's folder once its report is applied (ready, a further ladder joined),
    so the console shows its size at once, not at the next sweep."""
    store, ready, _, _ = swept
    store.put_bytes(f"videos/{ready}/hls-new/av1/480p/init.mp4", b"x" * 500)
    sweep.measure_film(ready)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(Video.stored_bytes).where(Video.id == ready)) == 503
