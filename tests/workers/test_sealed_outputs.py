"""A sealed film's output on the local backend (stream_workers.storage with `videoflix.core.hls_keys`): made in
scratch, never in MEDIA_ROOT, and delivered there sealed; its media playlists keyed; read back clear."""

from __future__ import annotations

import dataclasses

import pytest

from stream_workers import storage
from stream_workers.app import app
from videoflix.core.hls_keys import FilmKeys
from videoflix.core.media import Rung
from videoflix.core.storage.config import StorageConfig

KEYS = FilmKeys(bytes(range(32)), rotation=2)
PLAYLIST = "#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n" + "".join(f"#EXTINF:4.0,\n{n:03d}.ts\n" for n in range(3))
SEGMENT = b"\x47" + bytes(375)


@pytest.fixture
def local(monkeypatch, tmp_path):
    settings = dataclasses.replace(
        app.settings, media_root=tmp_path / "media", scratch=tmp_path / "scratch", storage=StorageConfig("local")
    )
    monkeypatch.setattr(app, "settings", settings)
    assert not storage.remote()
    return tmp_path


def test_a_sealed_films_jobs_work_in_scratch_and_deliver_sealed(local):
    output = storage.Output("videos/5/hls-a", KEYS)
    assert output.staged and not storage.Output("videos/5/hls-a").staged  # a film without keys: in place
    folder = output.workspace(3)
    assert folder == local / "scratch" / "videos/5/hls-a/part-3"
    (folder / "480p").mkdir(parents=True)
    (folder / "480p" / "002.ts").write_bytes(SEGMENT)
    (folder / "thumbnail.jpg").write_bytes(b"\xff\xd8\xff jpeg")
    output.deliver(folder, "480p/002.ts")
    output.deliver(folder, "thumbnail.jpg")
    stored = local / "media" / "videos/5/hls-a"
    assert (stored / "480p" / "002.ts").read_bytes() == KEYS.seal(SEGMENT, 2)
    assert (stored / "thumbnail.jpg").read_bytes() == b"\xff\xd8\xff jpeg"  # only segments are sealed
    assert not (folder / "480p" / "002.ts").exists()  # delivered: gone from scratch

    output.write_text("480p/index.m3u8", PLAYLIST)
    assert (stored / "480p" / "index.m3u8").read_text() == KEYS.playlist(PLAYLIST, 1)
    output.write_text("master.m3u8", "#EXTM3U\n")
    assert (stored / "master.m3u8").read_text() == "#EXTM3U\n"

    elsewhere = output.workspace("verdict")
    assert output.fetch(elsewhere, "480p/002.ts").read_bytes() == SEGMENT  # read back clear
    output.drop_workspace("verdict")
    assert not elsewhere.exists()


def test_a_sealed_single_pass_is_published_sealed(local):
    folder = storage.work_root(KEYS) / "videos/6/hls-b"
    assert folder.is_relative_to(local / "scratch")
    (folder / "480p").mkdir(parents=True)
    for n in range(3):
        (folder / "480p" / f"{n:03d}.ts").write_bytes(SEGMENT)
    (folder / "480p" / "index.m3u8").write_text(PLAYLIST)
    (folder / "master.m3u8").write_text("#EXTM3U\n")
    publisher = storage.Publisher(folder, "videos/6/hls-b", KEYS)
    publisher.publish([Rung("480p", 480, 1000)], watchable=True)
    stored = local / "media" / "videos/6/hls-b"
    assert [(stored / "480p" / f"{n:03d}.ts").read_bytes() for n in range(3)] == [
        KEYS.seal(SEGMENT, n) for n in range(3)
    ]
    assert (stored / "480p" / "index.m3u8").read_text().count("#EXT-X-KEY") == 2
    assert (stored / "master.m3u8").read_text() == "#EXTM3U\n"
    publisher.discard_local()
    assert not folder.exists()
