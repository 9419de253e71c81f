"""A sealed film's keys through the API (videoflix.core.hls_keys): only to a viewer whose login session has
begun playing the film, never cached, gone with the login, and none for a film that is not sealed."""

from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from webtest import TestApp

from videoflix.core.hls_keys import FilmKeys
from videoflix.core.models import TEST_CONNECTION_KEY, Video, VideoKey
from videoflix.services.videos import _folder_cache


@pytest.fixture
def sealed(add_video, dbsession) -> tuple[int, FilmKeys]:
    film = add_video()
    keys = FilmKeys.new(rotation=3)
    dbsession.add(VideoKey(video_id=film, seed=keys.seed, rotation=keys.rotation))
    dbsession.commit()
    return film, keys


def test_a_key_goes_to_a_playing_viewer_alone(viewer, sealed, wsgi_app, connection):
    film, keys = sealed
    viewer.get(f"/api/video/{film}/key/0.key", status=403)  # no playlist asked for yet: no playback begun
    viewer.get(f"/api/video/{film}/480p/index.m3u8", status=200)
    served = REGISTRY.get_sample_value("videoflix_keys_served_total") or 0
    for index in (0, 1, 41):
        answer = viewer.get(f"/api/video/{film}/key/{index}.key", status=200)
        assert answer.body == keys.key(index)
        assert answer.content_type == "application/octet-stream"
        assert "no-store" in answer.headers["Cache-Control"]
    assert REGISTRY.get_sample_value("videoflix_keys_served_total") == served + 3  # (operators see the cost)
    stranger = TestApp(wsgi_app, extra_environ={TEST_CONNECTION_KEY: connection, "HTTP_HOST": "127.0.0.1:8000"})
    stranger.get(f"/api/video/{film}/key/0.key", status=401)  # no login: nothing
    viewer.post("/api/logout/", status=200)
    viewer.get(f"/api/video/{film}/key/0.key", status=401)


def test_a_key_takes_a_screen_as_playing_does(one_screen, viewer, second_device, sealed):
    film, keys = sealed
    second_device.get(f"/api/video/{film}/480p/index.m3u8", status=200)
    viewer.get(f"/api/video/{film}/480p/index.m3u8", status=409)  # the account's one screen is taken
    viewer.get(f"/api/video/{film}/key/0.key", status=403)
    assert second_device.get(f"/api/video/{film}/key/0.key", status=200).body == keys.key(0)


@pytest.mark.parametrize("path", ["key/x.key", "key/-1.key", "key/12345678.key", "key/1.key/", "key/1.bin"])
def test_only_numbered_keys_are_routed(viewer, sealed, path):
    film, _ = sealed
    viewer.get(f"/api/video/{film}/480p/index.m3u8", status=200)
    viewer.get(f"/api/video/{film}/{path}", status=404)


def test_a_film_that_is_not_sealed_has_no_keys(viewer, add_video):
    film = add_video()
    viewer.get(f"/api/video/{film}/480p/index.m3u8", status=200)
    viewer.get(f"/api/video/{film}/key/0.key", status=404)
    viewer.get("/api/video/999999/key/0.key", status=403)


def test_a_viewer_mid_film_plays_on_from_the_output_they_began_on(viewer, second_device, add_video, dbsession,
                                                                   hls_output):  # fmt: skip
    """A film sealed (or made again) while it is watched: its row names the new output at once, but a player
    that began on the old one keeps getting the old one's playlists and segments (mixing them would feed it
    sealed segments under a clear playlist); a playback begun after gets the new one."""
    film = add_video()
    old = dbsession.scalar(sa.select(Video.hls_path).where(Video.id == film))
    media = hls_output.parents[2]
    new = f"videos/{film}/hls-sealed"
    shutil.copytree(media / old, media / new)
    (media / new / "480p" / "000.ts").write_bytes(b"the new output's segment")
    first = viewer.get(f"/api/video/{film}/480p/index.m3u8", status=200).body
    dbsession.execute(sa.update(Video).where(Video.id == film).values(hls_path=new))
    dbsession.commit()
    _folder_cache.pop(film)
    assert viewer.get(f"/api/video/{film}/480p/000.ts", status=200).body == (media / old / "480p/000.ts").read_bytes()
    assert viewer.get(f"/api/video/{film}/480p/index.m3u8", status=200).body == first
    assert second_device.get(f"/api/video/{film}/480p/000.ts", status=200).body == b"the new output's segment"
