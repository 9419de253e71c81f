"""Streaming with the S3 backend: the app streams a ready video's objects from a real SeaweedFS with the same
contract as files (the frontend's URLs, Range/206, ETag/304), stays inside the video's own folder whatever
the database says, and answers a store that is down with a clean 503."""

from __future__ import annotations

import re

import pytest

from videoflix.core.models import Video, VideoStatus
from videoflix.core.storage.s3 import S3Storage, s3_client

from ..support.accounts import S3_ACCESS_KEY
from ..support.frontend import FRONTEND

pytestmark = pytest.mark.integration


@pytest.fixture
def bucket_store(wsgi_app, monkeypatch, seaweedfs, bucket):
    store = S3Storage(seaweedfs.client(), bucket)
    monkeypatch.setitem(wsgi_app.registry, "videoflix.storage", store)
    return store


def in_the_bucket(dbsession, bucket_store, output, title: str) -> int:
    """A ready video whose output is only in the bucket (copied from `output`, a real FFmpeg output); its id."""
    rendition = {"name": "480p", "width": 640, "height": 360, "bandwidth": 10**6}
    video = Video(title=title, description="", category="", status=VideoStatus.READY, source_path="x",
                  duration=2.0, renditions=[rendition])  # fmt: skip
    dbsession.add(video)
    dbsession.flush()
    video.hls_path = f"videos/{video.id}/hls-s3"
    dbsession.commit()
    for path in output.rglob("*"):
        if path.is_file():
            bucket_store.put_file(f"{video.hls_path}/{path.relative_to(output).as_posix()}", path)
    return video.id


@pytest.fixture
def stored_video(dbsession, bucket_store, hls_output):
    """A ready video whose output is only in the bucket (copied from the session's real FFmpeg output)."""
    return in_the_bucket(dbsession, bucket_store, hls_output, "In the bucket"), hls_output


@pytest.fixture
def viewer(frontend):
    frontend.signed_up("s3viewer@example.com")
    return frontend


def test_playlists_segments_and_thumbnail_come_from_the_bucket(viewer, stored_video):
    video_id, local = stored_video
    master = viewer.get(f"/api/video/{video_id}/master.m3u8", status=200)
    assert master.body == (local / "master.m3u8").read_bytes()
    assert master.content_type == "application/vnd.apple.mpegurl" and master.cache_control.no_cache
    playlist = viewer.get(f"/api/video/{video_id}/480p/index.m3u8", status=200).text
    first = next(line for line in playlist.splitlines() if line.endswith(".ts"))
    segment = viewer.get(f"/api/video/{video_id}/480p/{first}", status=200)
    assert segment.body == (local / "480p" / first).read_bytes() and segment.content_type == "video/MP2T"
    assert viewer.get(f"/api/video/{video_id}/thumbnail.jpg", status=200).body[:2] == b"\xff\xd8"


def test_ranges_and_revalidation_work_as_for_files(viewer, stored_video):
    video_id, local = stored_video
    url = f"/api/video/{video_id}/480p/000.ts"
    whole = (local / "480p" / "000.ts").read_bytes()
    part = viewer.get(url, headers={"Range": "bytes=100-1099"}, status=206)
    assert part.body == whole[100:1100] and part.headers["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    first = viewer.get(url, status=200)
    assert first.headers["Accept-Ranges"] == "bytes" and first.etag
    viewer.get(url, headers={"If-None-Match": f'"{first.etag}"'}, status=304)


def test_a_segment_costs_the_store_one_request_and_a_revalidation_reads_no_bytes(viewer, stored_video, bucket_store,
                                                                                 monkeypatch):  # fmt: skip
    """A plain GET (what players send for segments) opens the object once, its facts coming with its bytes;
    a revalidation, a range and a HEAD ask for the facts first, so a 304 reads nothing."""
    calls = []
    for name in ("info", "open", "read"):
        real = getattr(bucket_store, name)
        monkeypatch.setattr(
            bucket_store, name, lambda *a, _real=real, _name=name, **kw: calls.append(_name) or _real(*a, **kw)
        )
    video_id, local = stored_video
    url = f"/api/video/{video_id}/480p/000.ts"
    first = viewer.get(url, status=200)
    assert first.body == (local / "480p" / "000.ts").read_bytes() and calls == ["open"]
    calls.clear()
    viewer.get(url, headers={"If-None-Match": f'"{first.etag}"'}, status=304)
    assert calls == ["info"]
    calls.clear()
    viewer.get(url, headers={"Range": "bytes=0-99"}, status=206)
    assert calls == ["info", "read"]
    calls.clear()
    assert viewer.app.head(url, status=200).headers["Content-Length"] == str(len(first.body))
    assert calls == ["info"]


def test_a_row_naming_another_folder_or_a_missing_object_is_404(viewer, stored_video, dbsession, bucket_store):
    video_id, _ = stored_video
    bucket_store.put_bytes("videos/999999/hls-x/480p/000.ts", b"someone else's")
    video = dbsession.get(Video, video_id)
    video.hls_path = "videos/999999/hls-x"  # whatever the row says, only this video's folder is served
    dbsession.commit()
    viewer.get(f"/api/video/{video_id}/480p/000.ts", status=404)
    video.hls_path = f"videos/{video_id}/../999999/hls-x"
    dbsession.commit()
    viewer.get(f"/api/video/{video_id}/480p/000.ts", status=404)


def test_a_store_that_is_down_answers_503_without_saying_where(viewer, stored_video, wsgi_app, monkeypatch):
    video_id, _ = stored_video
    from videoflix.devservices import free_port

    down = S3Storage(s3_client(f"http://127.0.0.1:{free_port()}", S3_ACCESS_KEY, "x"), "videoflix")
    monkeypatch.setitem(wsgi_app.registry, "videoflix.storage", down)
    answer = viewer.get(f"/api/video/{video_id}/480p/000.ts", status=503, headers={"Origin": FRONTEND})
    assert answer.json == {"detail": "The media storage is unavailable; try again shortly.", "errors": {}}
    assert "127.0.0.1" not in answer.text


def test_an_upload_becomes_an_object_and_a_refused_one_leaves_none(
    operator, clips, bucket_store, dbsession, media_root
):
    from ..support.frontend import upload

    uploads = media_root / "uploads"
    uploads.mkdir(exist_ok=True)
    before = set(uploads.iterdir())
    video_id = upload(operator, clips["clip"], 201).json["id"]
    video = dbsession.get(Video, video_id)
    assert video.source_path == f"videos/{video_id}/source.mp4"
    assert b"".join(bucket_store.read(video.source_path)) == clips["clip"].read_bytes()
    assert set(uploads.iterdir()) == before  # the received file went to the bucket and is gone here
    assert not (media_root / "videos" / str(video_id)).exists()

    upload(operator, clips["text"], 415)
    assert list(bucket_store.keys("videos/")) == [video.source_path]  # nothing of the refused one
    assert set(uploads.iterdir()) == before


def test_deleting_a_video_removes_its_objects(operator, stored_video, bucket_store):
    video_id, _ = stored_video
    assert list(bucket_store.keys(f"videos/{video_id}/"))
    operator.app.delete(f"/api/video/{video_id}/", headers={"X-CSRFToken": operator.app.cookies["csrftoken"]},
                        status=204)  # fmt: skip
    assert list(bucket_store.keys(f"videos/{video_id}/")) == []


def test_presigned_playlists_name_signed_segment_urls_that_fetch_the_bytes(
    viewer, stored_video, wsgi_app, monkeypatch, seaweedfs
):
    import dataclasses
    import urllib.request

    video_id, local = stored_video
    settings = wsgi_app.registry["videoflix.settings"]
    presigned = dataclasses.replace(settings.storage, segment_urls="presigned", url_seconds=600)
    monkeypatch.setitem(wsgi_app.registry, "videoflix.settings", dataclasses.replace(settings, storage=presigned))
    text = viewer.get(f"/api/video/{video_id}/480p/index.m3u8", status=200).text
    original = (local / "480p" / "index.m3u8").read_text().splitlines()
    lines = text.splitlines()
    assert [line for line in lines if line.startswith("#")] == [line for line in original if line.startswith("#")]
    urls = [line for line in lines if line and not line.startswith("#")]
    assert urls and all(url.startswith(seaweedfs.endpoint_url) and "X-Amz-Signature" in url for url in urls)
    assert "X-Amz-Expires=600" in urls[0]
    with urllib.request.urlopen(urls[0]) as response:  # no cookie: the signature is the permission
        assert response.read() == (local / "480p" / "000.ts").read_bytes()
    again = viewer.get(f"/api/video/{video_id}/480p/index.m3u8", status=200)
    assert again.text == text  # signed once, shared while the URLs have most of their life left
    viewer.get(f"/api/video/{video_id}/480p/index.m3u8", headers={"If-None-Match": f'"{again.etag}"'}, status=304)
    # the app still serves a segment asked of it (a player holding an older playlist, FFmpeg's client)
    assert viewer.get(f"/api/video/{video_id}/480p/000.ts", status=200).body == (local / "480p" / "000.ts").read_bytes()
    # an fMP4 playlist's init segment is signed as its segments are (the AV1 ladder's)
    text = viewer.get(f"/api/video/{video_id}/av1/480p/index.m3u8", status=200).text
    init = re.search(r'^#EXT-X-MAP:URI="([^"]+)"$', text, re.MULTILINE).group(1)
    assert init.startswith(seaweedfs.endpoint_url) and "X-Amz-Signature" in init and "/av1/480p/init.mp4?" in init
    with urllib.request.urlopen(init) as response:
        assert response.read() == (local / "av1" / "480p" / "init.mp4").read_bytes()


def test_signed_urls_are_for_the_endpoint_browsers_reach(seaweedfs, bucket):
    from videoflix.core.storage.config import StorageConfig

    config = StorageConfig(
        "s3", seaweedfs.endpoint_url, bucket, S3_ACCESS_KEY, "x", public_url="https://media.example.com"
    )
    store = config.open(media_root=None)
    assert store.browser_url("videos/1/a.ts", 60).startswith(f"https://media.example.com/{bucket}/videos/1/a.ts?")
    assert store.presigned_url("videos/1/a.ts", 60).startswith(f"{seaweedfs.endpoint_url}/{bucket}/videos/1/a.ts?")


def test_a_renditions_own_playlist_names_the_best_ladders_objects_once_it_took_the_fast_ones_place(
    viewer, dbsession, bucket_store, best_output, wsgi_app, monkeypatch, seaweedfs
):
    """The best H.264 ladder listed in the fast one's place (the fast master kept beside the film's): the
    rendition's own playlist, the existing frontend's, names the best ladder's init segment and segments, served
    by the app from the bucket or signed for it (SEGMENT_URLS=presigned), each fetching the stored bytes."""
    import dataclasses
    import urllib.request

    video_id = in_the_bucket(dbsession, bucket_store, best_output, "Best in the bucket")
    served = viewer.get(f"/api/video/{video_id}/480p/index.m3u8", status=200).text
    assert '#EXT-X-MAP:URI="../avc/480p/init.mp4"' in served and "\n../avc/480p/000.m4s\n" in served, served
    assert (
        viewer.get(f"/api/video/{video_id}/avc/480p/000.m4s", status=200).body
        == (best_output / "avc" / "480p" / "000.m4s").read_bytes()
    )
    settings = wsgi_app.registry["videoflix.settings"]
    presigned = dataclasses.replace(settings.storage, segment_urls="presigned", url_seconds=600)
    monkeypatch.setitem(wsgi_app.registry, "videoflix.settings", dataclasses.replace(settings, storage=presigned))
    text = viewer.get(f"/api/video/{video_id}/480p/index.m3u8", status=200).text
    init = re.search(r'^#EXT-X-MAP:URI="([^"]+)"$', text, re.MULTILINE).group(1)
    urls = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert "/avc/480p/init.mp4?" in init and urls and all("/avc/480p/" in url and ".m4s?" in url for url in urls)
    with urllib.request.urlopen(urls[0]) as response:  # no cookie: the signature is the permission
        assert response.read() == (best_output / "avc" / "480p" / "000.m4s").read_bytes()
