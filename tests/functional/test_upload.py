"""POST /api/video/ (operators): the file streams to MEDIA_ROOT, the row and its outbox event are written in
one transaction; bad uploads get 4xx and leave nothing behind."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from webtest import TestRequest

from videoflix.core.models import OutboxEvent, Video
from videoflix.multipart_upload import MULTIPART_OVERHEAD

from ..support.frontend import leftovers, upload


def test_operator_upload_stores_file_row_and_event(operator, clips, dbsession, media_root):
    (media_root / "uploads").mkdir(exist_ok=True)
    before = set((media_root / "uploads").iterdir())  # the media folder is the session's
    response = upload(operator, clips["clip"], 201)

    body = response.json
    assert body["status"] == "uploaded" and body["title"] == "Big Buck Test" and body["category"] == "Drama"
    assert (body["width"], body["height"]) == (640, 360) and body["duration"] == pytest.approx(2.0, abs=0.1)
    assert body["skipped_resolutions"].keys() == {"720p", "1080p"}  # no upscaling of a 360p source
    video = dbsession.scalars(sa.select(Video).where(Video.id == body["id"])).one()
    stored = media_root / video.source_path
    assert stored.read_bytes() == clips["clip"].read_bytes()
    assert video.source_name == "clip.mp4" and video.source_size == clips["clip"].stat().st_size
    event = dbsession.scalars(sa.select(OutboxEvent).where(OutboxEvent.key == str(body["id"]))).one()
    assert event.topic == "videos.uploaded" and event.published_at is None
    assert event.payload == {"schema": 1, "video_id": body["id"], "source": video.source_path, "attempt": 0,
                             "token": video.job_token}  # fmt: skip
    assert len(video.job_token) == 32  # the job's: only reports that carry it change the video
    assert set((media_root / "uploads").iterdir()) == before  # the temporary part file was moved, not copied


def test_status_endpoint(operator, clips):
    video_id = upload(operator, clips["clip"], 201).json["id"]

    status = operator.get(f"/api/video/{video_id}/status/", status=200).json

    assert status["id"] == video_id and status["status"] == "uploaded" and status["progress"] == 0
    assert status["resolutions"] == [] and status["error"] is None
    operator.get(f"/api/video/{video_id + 1000}/status/", status=404)


def test_viewers_cannot_upload_or_see_status(frontend, clips, media_root):
    frontend.signed_up("viewer@example.com")
    before = leftovers(media_root)

    assert upload(frontend, clips["clip"], 403).json["detail"]
    frontend.get("/api/video/1/status/", status=403)
    assert leftovers(media_root) == before


def test_anonymous_upload_is_401(testapp, clips):
    testapp.post("/api/video/", {"title": "x"}, upload_files=[("file", "c.mp4", b"x")], status=401)


@pytest.mark.parametrize(
    ("clip", "status", "field"),
    [
        ("text", 415, None),
        ("audio_only", 400, "file"),
    ],
)
def test_non_video_content_is_rejected_and_nothing_stays(operator, clips, connection, media_root, clip, status, field):
    before = leftovers(media_root)

    response = upload(operator, clips[clip], status)

    assert response.json["detail"]
    if field:
        assert field in response.json["errors"]
    assert leftovers(media_root) == before
    assert connection.scalar(sa.select(sa.func.count()).select_from(Video)) == 0


def test_missing_title_or_file(operator, clips, media_root):
    before = leftovers(media_root)
    assert "title" in upload(operator, clips["clip"], 400, title="  ").json["errors"]
    assert "file" in upload(operator, None, 400).json["errors"]
    assert leftovers(media_root) == before


def test_upload_over_the_limit_is_413(operator, clips, wsgi_app, monkeypatch, media_root):
    small = dataclasses.replace(wsgi_app.registry["videoflix.settings"], max_upload_size=1000)
    monkeypatch.setitem(wsgi_app.registry, "videoflix.settings", small)
    before = leftovers(media_root)

    response = upload(operator, clips["clip"], 413)

    assert response.json["detail"].startswith("The file is larger than the limit")
    assert leftovers(media_root) == before


def test_one_request_carries_at_most_the_request_body_bound_and_its_413_says_what_to_do(
    operator, clips, wsgi_app, monkeypatch, media_root
):
    """Every request body is bounded (MAX_REQUEST_BODY: waitress spools a body before the app runs), the
    multipart upload's file with it; larger films travel as tus chunks."""
    settings = wsgi_app.registry["videoflix.settings"]
    bounded = dataclasses.replace(settings, max_request_body=MULTIPART_OVERHEAD + 1001)
    monkeypatch.setitem(wsgi_app.registry, "videoflix.settings", bounded)
    before = leftovers(media_root)

    response = upload(operator, clips["clip"], 413)

    assert "limit of 1000 bytes for one request" in response.json["detail"]
    assert "resumable upload (tus, /api/uploads/)" in response.json["detail"]
    assert leftovers(media_root) == before


def test_json_body_is_415(operator):
    operator.post("/api/video/", {"title": "x"}, status=415)


def test_malformed_multipart_is_400(operator, media_root):
    before = leftovers(media_root)
    body = b'--XYZ\r\nContent-Disposition: form-data; name="file"; filename="a.mp4"\r\n\r\nabc'  # no end
    request = TestRequest.blank(
        "/api/video/",
        method="POST",
        body=body,
        environ=dict(operator.app.extra_environ),
        headers={"Content-Type": "multipart/form-data; boundary=XYZ", "X-CSRFToken": operator.app.cookies["csrftoken"]},
    )
    response = operator.app.do_request(request, status=400)
    assert response.json["detail"] == "The multipart body is malformed or incomplete."
    assert leftovers(media_root) == before


def test_upload_needs_csrf(operator, clips):
    form = {"title": "x"}
    operator.app.post("/api/video/", form, upload_files=[("file", "c.mp4", clips["clip"].read_bytes())], status=403)


def test_aborted_transaction_removes_the_stored_file(operator, clips, media_root, monkeypatch, connection):
    from videoflix.views import videos

    def explode(video):
        raise RuntimeError("after the file was moved into place")

    monkeypatch.setattr(videos, "status_json", explode)
    before = leftovers(media_root)

    upload(operator, clips["clip"], 500)

    assert leftovers(media_root) == before
    assert connection.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 0


def sample(text: str, name: str, **labels: str) -> float:
    """One sample's value from Prometheus text."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and s.labels == labels:
                return s.value
    return 0.0


def test_metrics_count_uploads_and_show_the_pipeline_state(operator, clips, media_root):
    before = operator.get("/metrics", status=200).text
    upload(operator, clips["clip"], 201)
    upload(operator, clips["text"], 415)
    after = operator.get("/metrics", status=200)

    assert after.content_type == "text/plain"
    assert sample(after.text, "videoflix_uploads_total", outcome="accepted") == 1 + sample(
        before, "videoflix_uploads_total", outcome="accepted"
    )
    assert sample(after.text, "videoflix_uploads_total", outcome="rejected") == 1 + sample(
        before, "videoflix_uploads_total", outcome="rejected"
    )
    assert sample(after.text, "videoflix_upload_bytes_total") - sample(before, "videoflix_upload_bytes_total") == (
        clips["clip"].stat().st_size
    )
    # read from PostgreSQL at scrape time (this test's transaction: its one upload is waiting to be published)
    assert sample(after.text, "videoflix_videos", status="uploaded") >= 1
    assert sample(after.text, "videoflix_outbox_unpublished") >= 1


@pytest.mark.parametrize(
    ("who", "method", "status"),
    [
        ("anonymous", "POST", 401),
        ("anonymous", "PATCH", 401),
        ("viewer", "POST", 403),
        ("operator", "POST", 204),
        ("operator", "PATCH", 204),
        ("anonymous", "GET", 204),  # no upload body: the app answers it (the catalog, 401 there)
        ("anonymous", "OPTIONS", 204),  # a CORS preflight carries no cookie
        ("anonymous", None, 401),  # nginx always names the method; without it, the strict answer
    ],
)
def test_nginx_reads_an_upload_body_only_for_a_staff_session(frontend, dbsession, who, method, status):
    """deploy/nginx.conf asks this before it reads a byte of a body on /api/video/ and /api/uploads/."""
    if who == "operator":
        from videoflix.config import build_settings
        from videoflix.passwords import Hasher
        from videoflix.services.accounts import AccountService

        AccountService(dbsession, build_settings({}), Hasher()).register("op@example.com", "Op3rator-pass-word",
                                                                          is_staff=True, active=True)  # fmt: skip
        dbsession.commit()
        frontend.login("op@example.com", "Op3rator-pass-word")
    elif who == "viewer":
        frontend.signed_up("viewer@example.com")

    headers = {"X-Original-Method": method} if method else {}
    response = frontend.get("/api/auth/upload-check/", headers=headers, status=status)

    assert response.body == b"" if status == 204 else response.json["detail"]
