"""Sealing the films made before HLS_ENCRYPTION (stream_workers.sealing) on the test database and the local
store, with a real HLS output made by FFmpeg: a sealed copy beside the old output, the keys and the switch in
one transaction; a film busy with its ladders, or made again meanwhile, left as it is."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from stream_workers import db, sealing
from stream_workers.app import app
from videoflix.core.hls_keys import FilmKeys, sealed_name
from videoflix.core.models import Video, VideoKey, VideoPart, VideoStatus
from videoflix.core.storage.config import StorageConfig

from ..support.clips import ffmpeg, make_clip


@pytest.fixture
def clear_film(engine, monkeypatch, tmp_path):
    """A ready film without keys, its output (two renditions' worth: 480p and an alternate track) in MEDIA_ROOT."""
    media = tmp_path / "media"
    settings = dataclasses.replace(app.settings, media_root=media, storage=StorageConfig("local"), hls_key_rotation=2)
    monkeypatch.setattr(app, "settings", settings)
    monkeypatch.setattr(db, "engine", lambda: engine)
    with engine.begin() as conn:
        video = conn.scalar(sa.insert(Video).values(title="Clear", source_path="s", status=VideoStatus.READY)
                            .returning(Video.id))  # fmt: skip
        old = f"videos/{video}/hls-clear"
        conn.execute(sa.update(Video).where(Video.id == video).values(hls_path=old))
    clip = make_clip(tmp_path / "clip.mp4", seconds=5, extra=["-g", "25"])
    for folder in ("480p", "audio/1"):
        (media / old / folder).mkdir(parents=True)
        ffmpeg(
            "-i",
            str(clip),
            "-c",
            "copy",
            "-f",
            "hls",
            "-hls_time",
            "1",
            "-hls_playlist_type",
            "vod",
            "-hls_segment_filename",
            str(media / old / folder / "%03d.ts"),
            str(media / old / folder / "index.m3u8"),
        )
    (media / old / "master.m3u8").write_text("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\n480p/index.m3u8\n")
    (media / old / "thumbnail.jpg").write_bytes(b"\xff\xd8\xff thumbnail")
    yield video, old, media
    with engine.begin() as conn:
        conn.execute(sa.delete(Video).where(Video.id == video))


def output_of(engine, video: int) -> str:
    with engine.connect() as conn:
        return conn.scalar(sa.select(Video.hls_path).where(Video.id == video))


def test_a_clear_film_is_sealed_beside_its_old_output(clear_film, engine, monkeypatch):
    video, old, media = clear_film
    monkeypatch.setattr(sealing, "candidates", lambda conn, limit: [(video, old)])  # (the shared test database)
    assert sealing.seal_existing() == 1
    new = output_of(engine, video)
    assert new != old and new.startswith(f"videos/{video}/hls-")
    with engine.connect() as conn:
        seed, rotation = conn.execute(
            sa.select(VideoKey.seed, VideoKey.rotation).where(VideoKey.video_id == video)
        ).one()
    keys = FilmKeys(bytes(seed), rotation)
    assert rotation == 2
    before = {p.relative_to(media / old).as_posix(): p.read_bytes() for p in (media / old).rglob("*") if p.is_file()}
    after = {p.relative_to(media / new).as_posix(): p.read_bytes() for p in (media / new).rglob("*") if p.is_file()}
    assert sorted(after) == sorted(before)  # the old output stays (played on by whoever began on it)
    segments = [name for name in before if sealed_name(name)]
    assert len(segments) >= 8
    for name in segments:
        assert after[name] != before[name] and keys.open_named(name, after[name]) == before[name]
    for name in ("480p/index.m3u8", "audio/1/index.m3u8"):
        assert after[name].decode() == keys.playlist(before[name].decode(), name.count("/"))
    assert after["master.m3u8"] == before["master.m3u8"] and after["thumbnail.jpg"] == before["thumbnail.jpg"]


def test_films_are_taken_once_and_busy_ones_wait(clear_film, engine):
    video, old, _ = clear_film
    with engine.connect() as conn:
        assert (video, old) in sealing.candidates(conn, 1000)
    with engine.begin() as conn:  # its AV1 ladder is being made in parts: not now
        conn.execute(sa.insert(VideoPart).values(video_id=video, ladder="av1", part=0, output=old, start=0, length=8))
    with engine.connect() as conn:
        assert (video, old) not in sealing.candidates(conn, 1000)
    with engine.begin() as conn:
        conn.execute(sa.delete(VideoPart).where(VideoPart.video_id == video))
        conn.execute(sa.insert(VideoKey).values(video_id=video, seed=bytes(32), rotation=2))  # sealed already
    with engine.connect() as conn:
        assert (video, old) not in sealing.candidates(conn, 1000)


def test_a_film_busy_with_its_ladders_waits(clear_film, engine):
    video, old, media = clear_film
    claim = db.claim_ladders(video)  # a one-pass AV1 run holds the film
    try:
        assert sealing.seal_film(video, old) is False
    finally:
        db.release_claim(claim)
    assert output_of(engine, video) == old and sorted(p.name for p in (media / f"videos/{video}").iterdir()) == [
        "hls-clear"
    ]


def test_a_film_made_again_while_copied_is_left_as_it_is(clear_film, engine, monkeypatch):
    video, old, media = clear_film
    copy = sealing.sealed_copy

    def remade_meanwhile(old_output: str, new: str, keys: FilmKeys) -> int:
        count = copy(old_output, new, keys)
        with engine.begin() as conn:
            conn.execute(sa.update(Video).where(Video.id == video).values(hls_path=f"videos/{video}/hls-remade"))
        return count

    monkeypatch.setattr(sealing, "sealed_copy", remade_meanwhile)
    assert sealing.seal_film(video, old) is False
    assert output_of(engine, video) == f"videos/{video}/hls-remade"
    with engine.connect() as conn:
        assert conn.scalar(sa.select(VideoKey.video_id).where(VideoKey.video_id == video)) is None  # no keys
    assert sorted(p.name for p in (media / f"videos/{video}").iterdir()) == ["hls-clear"]  # its copy gone


def test_one_worker_seals_at_a_time(clear_film, engine):
    with engine.begin() as other:
        other.execute(sa.select(sa.func.pg_advisory_xact_lock(sealing.SEAL_LOCK)))
        assert sealing.seal_existing() == 0
