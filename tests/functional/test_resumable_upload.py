"""Resumable uploads (tus 1.0.0) through the app: create, append chunks, resume, finish as a video; bad input
refused with nothing left behind. A real interrupted connection (real waitress) is in
tests/integration/test_resumable_upload.py."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from videoflix.core.models import OutboxEvent, Upload, User, Video

from ..support.tus import CHUNK_TYPE, TUS, metadata


def part_files(media_root: Path) -> set[Path]:
    """The uploads' byte files (the media folder is the session's: other tests' leftovers are in it too)."""
    return set((media_root / "uploads").glob("tus-*.part"))


def part_of(media_root: Path, url: str) -> Path:
    return media_root / "uploads" / f"tus-{url.rstrip('/').rsplit('/', 1)[1]}.part"


def test_discovery_names_version_extensions_and_limit(testapp, app_settings):
    response = testapp.options("/api/uploads/", status=204)
    assert response.headers["Tus-Version"] == "1.0.0"
    assert set(response.headers["Tus-Extension"].split(",")) == {"creation", "termination", "expiration"}
    assert int(response.headers["Tus-Max-Size"]) > 0


def test_chunks_become_a_video_with_the_form_fields(tus, operator, clips, dbsession, media_root):
    data = clips["clip"].read_bytes()
    created = tus.create(len(data))
    url = created.headers["Location"]
    assert part_of(media_root, url).is_file()
    assert created.headers["Tus-Resumable"] == "1.0.0" and url.startswith("http://127.0.0.1:8000/api/uploads/")
    assert "GMT" in created.headers["Upload-Expires"]

    third = len(data) // 3
    for start in (0, third, 2 * third):
        assert tus.head(url).headers["Upload-Offset"] == str(start)
        end = len(data) if start == 2 * third else start + third
        answer = tus.patch(url, start, data[start:end])
        assert answer.headers["Upload-Offset"] == str(end)

    video_id = int(answer.headers["X-Video-Id"])
    status = operator.get(f"/api/video/{video_id}/status/", status=200).json
    assert (status["title"], status["category"], status["status"]) == ("Resumed film", "Drama", "uploaded")
    video = dbsession.get(Video, video_id)
    assert (media_root / video.source_path).read_bytes() == data and video.source_name == "film.mp4"
    assert video.source_size == len(data)
    event = dbsession.scalars(sa.select(OutboxEvent).where(OutboxEvent.key == str(video_id))).one()
    assert event.topic == "videos.uploaded"
    assert not part_of(media_root, url).exists()  # moved, not copied
    # a client that lost the last answer asks again and learns the video
    again = tus.head(url)
    assert (again.headers["Upload-Offset"], again.headers["X-Video-Id"]) == (str(len(data)), str(video_id))


def test_resume_after_a_chunk_that_never_arrived_and_a_crash_that_left_extra_bytes(tus, clips, media_root, dbsession):
    """A client whose connection dropped asks for the offset and goes on from there. A request that wrote its
    bytes but died before committing left them past the offset: they are dropped, not kept."""
    data = clips["clip"].read_bytes()
    url = tus.create(len(data)).headers["Location"]
    tus.patch(url, 0, data[:5000])
    # the client believes more arrived than did: the server says where it stands, and nothing changes
    conflict = tus.patch(url, 9000, data[9000:12000], status=409)
    assert "offset 5000" in conflict.json["detail"]
    with part_of(media_root, url).open("ab") as crashed:  # a request that wrote and then died before its commit
        crashed.write(b"\xff" * 3000)

    offset = int(tus.head(url).headers["Upload-Offset"])
    assert offset == 5000
    finished = tus.patch(url, offset, data[offset:])

    video = dbsession.get(Video, int(finished.headers["X-Video-Id"]))
    assert (media_root / video.source_path).read_bytes() == data


@pytest.mark.parametrize(
    ("headers", "meta", "status", "field"),
    [
        ({}, metadata(category="Drama"), 400, "title"),
        ({}, metadata(title=""), 400, "title"),
        ({}, "title !!!notbase64", 400, "Upload-Metadata"),
        ({}, "title " + base64.b64encode(b"\xff\xfe").decode(), 400, "Upload-Metadata"),
        ({"Upload-Length": "0"}, None, 400, "Upload-Length"),
        ({"Upload-Length": "-5"}, None, 400, "Upload-Length"),
        ({"Upload-Length": "12e3"}, None, 400, "Upload-Length"),
        ({"Upload-Length": str(10**14)}, None, 413, None),
        ({"Upload-Defer-Length": "1"}, None, 400, None),
        ({"Tus-Resumable": "0.2.2"}, None, 412, None),
    ],
)
def test_bad_creation_requests_are_refused_and_store_nothing(tus, dbsession, media_root, headers, meta, status, field):
    before = part_files(media_root)
    response = tus.create(1000, status=status, meta=meta, **headers)
    if field:
        assert field in response.json["errors"]
    if status == 412:
        assert response.headers["Tus-Version"] == "1.0.0"
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0
    assert part_files(media_root) == before


def test_a_file_that_is_not_a_video_is_refused_with_its_first_chunk(tus, clips, dbsession, media_root):
    data = clips["text"].read_bytes()
    url = tus.create(len(data) * 100).headers["Location"]  # claims to be large: refused long before the end

    refused = tus.patch(url, 0, data, status=415)

    assert "not a video container" in refused.json["detail"]
    tus.head(url, status=404)
    assert not part_of(media_root, url).exists()
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Upload)) == 0


def test_a_file_without_video_is_refused_at_the_end_and_leaves_nothing(tus, clips, dbsession, media_root):
    """Its first bytes pass (an MP4 container); the whole file, probed at the end, has no video stream."""
    data = clips["audio_only"].read_bytes()
    url = tus.create(len(data)).headers["Location"]
    half = len(data) // 2
    tus.patch(url, 0, data[:half])

    refused = tus.patch(url, half, data[half:], status=400)

    assert "no video stream" in refused.json["errors"]["file"][0]
    tus.head(url, status=404)
    assert not part_of(media_root, url).exists()
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(Video)) == 0


def test_a_chunk_past_the_length_or_of_the_wrong_type_changes_nothing(tus, clips, media_root):
    data = clips["clip"].read_bytes()
    url = tus.create(2000).headers["Location"]
    tus.patch(url, 0, data[:1500])

    tus.patch(url, 1500, data[1500:3000], status=413)
    tus.patch(url, 1500, data[1500:2000], status=415, content_type="application/octet-stream")
    tus.patch(url, -1, data[1500:2000], status=400)

    assert tus.head(url).headers["Upload-Offset"] == "1500"
    assert part_of(media_root, url).read_bytes() == data[:1500]


def test_termination_removes_the_upload(tus, media_root):
    url = tus.create(5000).headers["Location"]
    tus.app.delete(url, headers=tus.headers(), status=204)
    tus.head(url, status=404)
    assert not part_of(media_root, url).exists()


def test_expired_uploads_are_gone_and_swept_by_later_uploads(tus, dbsession, media_root):
    url = tus.create(5000).headers["Location"]
    dbsession.execute(sa.update(Upload).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    dbsession.commit()

    tus.head(url, status=404)
    later = tus.create(6000).headers["Location"]

    assert dbsession.scalars(sa.select(Upload.length)).all() == [6000]
    assert not part_of(media_root, url).exists() and part_of(media_root, later).exists()


def test_only_the_owner_sees_an_upload(tus, dbsession):
    url = tus.create(5000).headers["Location"]
    other = User(email="other@example.com", password_hash="x", is_active=True, is_staff=True)
    dbsession.add(other)
    dbsession.flush()
    dbsession.execute(sa.update(Upload).values(user_id=other.id))
    dbsession.commit()
    tus.head(url, status=404)
    tus.patch(url, 0, b"x", status=404)


def test_needs_staff_and_csrf(frontend, testapp, tus):
    url = tus.create(5000).headers["Location"]
    tus.app.patch(url, params=b"x", headers={**TUS, "Upload-Offset": "0"}, content_type=CHUNK_TYPE, status=403)
    tus.app.reset()  # logged out
    testapp.post("/api/uploads/", headers={**TUS, "Upload-Length": "10"}, status=401)
    frontend.signed_up("viewer5@example.com")
    headers = {**TUS, "Upload-Length": "10", "Upload-Metadata": metadata(title="x"),
               "X-CSRFToken": frontend.app.cookies["csrftoken"]}  # fmt: skip
    frontend.app.post("/api/uploads/", headers=headers, status=403)
