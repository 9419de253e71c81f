"""Hostile uploads through the real endpoints (multipart and tus) and the real FFmpeg probe: manifests and
playlists dressed as video never make FFmpeg open what they name, and files claiming more than the media limits
are refused saying which limit; neither leaves anything behind. (Files that get past the upload are failed by
the workers: tests/integration/test_hostile_media.py.)"""

from __future__ import annotations

import dataclasses
import subprocess

import pytest
import sqlalchemy as sa

from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaLimits
from videoflix.core.models import Video

from ..support.frontend import leftovers, upload
from ..support.hostile import (
    beyond_limits,
    confinement_corpus,
    dash_manifest,
    marker_video,
    never_read,
    was_read,
    with_bytes,
)
from ..support.tus import Tus, metadata


def test_manifests_and_playlists_are_refused_and_ffmpeg_never_opens_what_they_name(
    operator, tmp_path, media_root, connection
):
    marker, control = marker_video(tmp_path / "marker.mp4"), marker_video(tmp_path / "control.mp4")
    cases = confinement_corpus(tmp_path / "corpus", marker)
    never_read(marker)
    never_read(control)
    # the attack is real and the detector sees it: FFmpeg left to guess (as the probe was run before) reads the
    # file a DASH manifest names
    guessed = with_bytes(tmp_path / "guessed.mp4", dash_manifest(control))
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", str(guessed)], capture_output=True, timeout=60)
    assert was_read(control)
    before = leftovers(media_root)

    for case in cases:
        response = upload(operator, case.path, "*")
        assert response.status_int in (400, 415), (case.name, response.status_int, response.json)
        assert response.json["detail"], case.name

    assert not was_read(marker)
    assert leftovers(media_root) == before
    assert connection.scalar(sa.select(sa.func.count()).select_from(Video)) == 0


@pytest.fixture(scope="module")
def beyond(tmp_path_factory):
    return {case.name: case for case in beyond_limits(tmp_path_factory.mktemp("limits"))}


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("a million hours claimed (MKV)", "MEDIA_MAX_DURATION"),
        ("16000 px wide (MKV)", "MEDIA_MAX_SIZE"),
        ("1000 fps", "MEDIA_MAX_FPS"),
        ("70 streams", "MEDIA_MAX_STREAMS"),
        # beyond what FFmpeg itself can hold in a frame: it reports no picture size at all
        ("99999x99999 claimed (AVI)", "no video stream"),
    ],
)
def test_a_file_beyond_a_limit_is_refused_saying_which(operator, beyond, media_root, connection, name, says):
    before = leftovers(media_root)

    response = upload(operator, beyond[name].path, 400)

    assert says in response.json["errors"]["file"][0]
    assert leftovers(media_root) == before
    assert connection.scalar(sa.select(sa.func.count()).select_from(Video)) == 0


def test_a_resumable_upload_beyond_a_limit_is_refused_at_its_last_chunk(operator, beyond, media_root, connection):
    data = beyond["a million hours claimed (MKV)"].path.read_bytes()
    tus = Tus(operator)
    url = tus.create(len(data), meta=metadata(title="Forever", filename="forever.mkv")).headers["Location"]

    response = tus.patch(url, 0, data, status=400)

    assert "MEDIA_MAX_DURATION" in response.json["errors"]["file"][0]
    assert not list((media_root / "uploads").glob(f"tus-{url.rstrip('/').rsplit('/', 1)[1]}*"))
    assert connection.scalar(sa.select(sa.func.count()).select_from(Video)) == 0


def test_the_limits_are_settings(operator, clips, wsgi_app, monkeypatch):
    settings = wsgi_app.registry["videoflix.settings"]
    short = dataclasses.replace(settings, media_limits=MediaLimits(duration=1.0))
    monkeypatch.setitem(wsgi_app.registry, "videoflix.settings", short)

    response = upload(operator, clips["clip"], 400)  # 2 s

    [message] = response.json["errors"]["file"]
    assert message == "The file says it lasts 2 s; the limit is 1 s (MEDIA_MAX_DURATION)."
