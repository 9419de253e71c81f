"""Uploads with the S3 backend on a real SeaweedFS: a resumable upload streams into a multipart upload as it
arrives, so the web host holds at most a part (5 MiB) plus a chunk whatever the film's size; the finished
object is probed through a signed URL before any row exists; a refused upload leaves no object or multipart
upload behind; a store that is down is a clean 503 that creates nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from videoflix.core.models import Upload, Video
from videoflix.core.storage.s3 import S3Storage, s3_client
from videoflix.devservices import free_port
from videoflix.services.resumable_uploads import PART_MIN

from ..support.accounts import S3_ACCESS_KEY
from ..support.frontend import upload

pytestmark = pytest.mark.integration
MIB = 1024 * 1024


@pytest.fixture
def bucket_store(wsgi_app, monkeypatch, seaweedfs, bucket):
    store = S3Storage(seaweedfs.client(), bucket)
    monkeypatch.setitem(wsgi_app.registry, "videoflix.storage", store)
    return store


def nothing_staged(store) -> bool:
    return list(store.keys("uploads/")) == [] and list(store.multipart_uploads("")) == []


def test_a_resumable_upload_streams_into_the_bucket_in_parts(tus, bucket_store, clips, dbsession, media_root):
    film = clips["clip"].read_bytes()
    film += bytes(14 * MIB - len(film))  # an MP4 followed by padding: still a video, three parts' worth
    url = tus.create(len(film)).headers["Location"]
    upload_id = url.rstrip("/").rsplit("/", 1)[1]
    local = media_root / "uploads" / f"tus-{upload_id}.part"
    held = []
    for offset in range(0, len(film), MIB):  # 1 MiB chunks, smaller than a part
        answer = tus.patch(url, offset, film[offset : offset + MIB])
        held.append(local.stat().st_size if local.exists() else 0)
    assert max(held) < PART_MIN + MIB  # the web host never held more than a part plus a chunk
    video_id = int(answer.headers["X-Video-Id"])
    row = dbsession.scalars(sa.select(Upload).where(Upload.id == upload_id)).one()
    assert [size for _, _, size in row.parts] == [PART_MIN, PART_MIN, len(film) - 2 * PART_MIN]

    video = dbsession.get(Video, video_id)
    assert video.source_path == f"videos/{video_id}/source.mp4"
    assert b"".join(bucket_store.read(video.source_path)) == film
    assert (video.width, video.height) == (640, 360)  # probed from the object, through its signed URL
    assert nothing_staged(bucket_store) and not local.exists()


def test_a_file_refused_at_its_first_chunk_leaves_nothing(tus, bucket_store, clips, dbsession):
    text = clips["text"].read_bytes()
    url = tus.create(len(text)).headers["Location"]
    assert list(bucket_store.multipart_uploads("")) != []  # the multipart upload exists from creation
    tus.patch(url, 0, text, status=415)
    assert nothing_staged(bucket_store) and list(bucket_store.keys("videos/")) == []
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0


def test_a_file_refused_at_the_end_leaves_no_object(tus, bucket_store, clips, dbsession):
    sound = clips["audio_only"].read_bytes()
    url = tus.create(len(sound)).headers["Location"]
    refused = tus.patch(url, 0, sound, status=400)
    assert "no video stream" in refused.json["errors"]["file"][0]
    assert nothing_staged(bucket_store) and list(bucket_store.keys("videos/")) == []
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Video)) == 0


def test_a_store_that_is_down_refuses_uploads_with_503_and_creates_nothing(operator, tus, clips, wsgi_app, monkeypatch,
                                                                           dbsession, media_root):  # fmt: skip
    down = S3Storage(s3_client(f"http://127.0.0.1:{free_port()}", S3_ACCESS_KEY, "x"), "videoflix")
    monkeypatch.setitem(wsgi_app.registry, "videoflix.storage", down)
    (media_root / "uploads").mkdir(exist_ok=True)
    before = set((media_root / "uploads").iterdir())  # the media folder is the session's
    answer = tus.create(1000, status=503)
    assert answer.json["detail"] == "The media storage is unavailable; try again shortly."
    upload(operator, clips["clip"], 503)  # the one-request path alike
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Video)) == 0
    assert set((media_root / "uploads").iterdir()) == before  # no file left for the refused uploads
