"""GET /api/admin/videos/: operators see every video in every state, filter by status, search titles, page."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from videoflix.core.models import OutboxEvent, Video, VideoStatus


@pytest.fixture
def videos(dbsession):
    rows = [
        ("Alpha ready", VideoStatus.READY, None, 30),
        ("Beta failing", VideoStatus.FAILED, "The video could not be decoded.", 20),
        ("Gamma in 50%_progress", VideoStatus.PROCESSING, None, 10),
        ("Delta waiting", VideoStatus.UPLOADED, None, 0),
    ]
    made = {}
    for title, status, error, minutes_ago in rows:
        video = Video(title=title, description="", category="Drama", status=status, source_path="x", error=error,
                      progress=50.0 if status == VideoStatus.PROCESSING else 0.0,
                      created_at=sa.func.now() - sa.text(f"interval '{minutes_ago} minutes'"))  # fmt: skip
        dbsession.add(video)
        dbsession.flush()
        made[title] = video.id
    dbsession.commit()
    return made


def titles(response) -> list[str]:
    return [v["title"] for v in response.json]


def test_every_state_newest_first_with_progress_and_reasons(operator, videos):
    response = operator.get("/api/admin/videos/", status=200)
    assert titles(response) == ["Delta waiting", "Gamma in 50%_progress", "Beta failing", "Alpha ready"]
    by_title = {v["title"]: v for v in response.json}
    assert by_title["Gamma in 50%_progress"]["progress"] == 50.0
    assert by_title["Beta failing"]["error"] == "The video could not be decoded."
    assert response.headers["X-Total-Count"] == "4"


def test_filter_search_and_page(operator, videos):
    assert titles(operator.get("/api/admin/videos/?status=failed")) == ["Beta failing"]
    assert titles(operator.get("/api/admin/videos/?q=ALPHA")) == ["Alpha ready"]
    assert titles(operator.get("/api/admin/videos/?q=50%25_")) == ["Gamma in 50%_progress"]  # % and _ are literal
    assert titles(operator.get("/api/admin/videos/?q=%25")) == ["Gamma in 50%_progress"]
    page = operator.get("/api/admin/videos/?limit=2&offset=1", status=200)
    assert titles(page) == ["Gamma in 50%_progress", "Beta failing"]
    assert page.headers["Link"] == '<http://127.0.0.1:8000/api/admin/videos/?limit=2&offset=3>; rel="next"'


@pytest.mark.parametrize("query", ["status=done", "limit=0", "q=%00"])
def test_bad_filters_are_400(operator, videos, query):
    assert operator.get(f"/api/admin/videos/?{query}", status=400).json["errors"]


def test_viewers_get_403_and_anonymous_401(frontend, testapp):
    testapp.get("/api/admin/videos/", status=401)
    frontend.signed_up("viewer@example.com")
    frontend.get("/api/admin/videos/", status=403)


def test_staff_edit_title_description_category(operator, videos):
    video = videos["Alpha ready"]
    token = {"X-CSRFToken": operator.app.cookies["csrftoken"]}
    edited = operator.app.patch_json(f"/api/video/{video}/", {"title": "  Alpha, recut ", "category": "Comedy"},
                                     headers=token, status=200)  # fmt: skip
    assert (edited.json["title"], edited.json["category"], edited.json["description"]) == ("Alpha, recut", "Comedy", "")
    listed = {v["id"]: v for v in operator.get("/api/video/", status=200).json}  # the catalog shows it at once
    assert (listed[video]["title"], listed[video]["category"]) == ("Alpha, recut", "Comedy")

    bad = operator.app.patch_json(f"/api/video/{video}/", {"title": "", "category": 5}, headers=token, status=400)
    assert set(bad.json["errors"]) == {"title", "category"}
    operator.app.patch_json("/api/video/999999/", {"title": "x"}, headers=token, status=404)
    operator.app.patch_json(f"/api/video/{video}/", {"title": "no csrf"}, status=403)
    assert operator.get("/api/admin/videos/?q=recut").json[0]["title"] == "Alpha, recut"  # nothing else changed


def test_viewers_cannot_edit(frontend, videos):
    frontend.signed_up("viewer2@example.com")
    token = {"X-CSRFToken": frontend.app.cookies["csrftoken"]}
    frontend.app.patch_json(f"/api/video/{videos['Alpha ready']}/", {"title": "x"}, headers=token, status=403)


def csrf(frontend) -> dict[str, str]:
    return {"X-CSRFToken": frontend.app.cookies["csrftoken"]}


def stored_status(dbsession, video_id: int) -> VideoStatus | None:
    """The row as the database has it now (not the session's remembered copy)."""
    return dbsession.scalar(sa.select(Video.status).where(Video.id == video_id))


def test_delete_removes_row_and_every_file_idempotently(operator, clips, dbsession, app_settings):
    from ..support.frontend import upload

    video_id = upload(operator, clips["clip"], 201).json["id"]
    folder = Path(app_settings["videoflix.media_root"]) / "videos" / str(video_id)
    (folder / "hls-abc" / "480p").mkdir(parents=True)  # what a finished job leaves: renditions, thumbnail
    (folder / "hls-abc" / "480p" / "000.ts").write_bytes(b"segment")
    (folder / "hls-abc" / "thumbnail.jpg").write_bytes(b"jpeg")
    assert any(folder.glob("source.*"))

    operator.app.delete(f"/api/video/{video_id}/", headers=csrf(operator), status=204)

    assert not folder.exists()
    assert stored_status(dbsession, video_id) is None
    operator.get(f"/api/video/{video_id}/status/", status=404)
    # again: still 204, and a folder that outlived its row (a failed removal, a late worker) is swept
    (folder / "hls-late").mkdir(parents=True)
    operator.app.delete(f"/api/video/{video_id}/", headers=csrf(operator), status=204)
    assert not folder.exists()


def test_delete_of_a_ready_video_stops_its_stream_at_once(operator, dbsession, app_settings):
    media = Path(app_settings["videoflix.media_root"])
    video = Video(title="Doomed", status=VideoStatus.READY, source_path="x", hls_path="")
    dbsession.add(video)
    dbsession.flush()
    video.hls_path = f"videos/{video.id}/hls-1"
    (media / video.hls_path / "480p").mkdir(parents=True)
    (media / video.hls_path / "480p" / "index.m3u8").write_text("#EXTM3U\n")
    dbsession.commit()
    operator.get(f"/api/video/{video.id}/480p/index.m3u8", status=200)  # its folder is now cached

    operator.app.delete(f"/api/video/{video.id}/", headers=csrf(operator), status=204)

    operator.get(f"/api/video/{video.id}/480p/index.m3u8", status=404)
    assert video.id not in [v["id"] for v in operator.get("/api/video/").json]


def test_delete_needs_staff_and_csrf(frontend, testapp, videos, dbsession):
    video = videos["Alpha ready"]
    testapp.delete(f"/api/video/{video}/", status=401)
    frontend.signed_up("viewer3@example.com")
    frontend.app.delete(f"/api/video/{video}/", headers=csrf(frontend), status=403)
    assert stored_status(dbsession, video) == VideoStatus.READY


def test_delete_without_csrf_changes_nothing(operator, videos, dbsession):
    operator.app.delete(f"/api/video/{videos['Alpha ready']}/", status=403)
    assert stored_status(dbsession, videos["Alpha ready"]) == VideoStatus.READY


def test_retry_queues_a_failed_video_again_through_the_outbox(operator, videos, dbsession):
    video = videos["Beta failing"]

    retried = operator.app.post(f"/api/video/{video}/retry/", headers=csrf(operator), status=202).json

    assert (retried["status"], retried["error"], retried["progress"]) == ("uploaded", None, 0)
    event = dbsession.scalars(sa.select(OutboxEvent).where(OutboxEvent.key == str(video))).one()
    assert event.topic == "videos.uploaded" and event.published_at is None
    token = dbsession.scalar(sa.select(Video.job_token).where(Video.id == video))
    assert event.payload == {"schema": 1, "video_id": video, "source": "x", "attempt": 0, "token": token}
    assert len(token) == 32  # a new job: the failed attempt's reports, late or forged, change nothing
    # only a failed video: a second retry (now uploaded) and a ready one are conflicts that queue nothing
    again = operator.app.post(f"/api/video/{video}/retry/", headers=csrf(operator), status=409).json
    assert "uploaded" in again["detail"]
    operator.app.post(f"/api/video/{videos['Alpha ready']}/retry/", headers=csrf(operator), status=409)
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 1
    operator.app.post("/api/video/999999/retry/", headers=csrf(operator), status=404)


def test_retry_needs_staff(frontend, videos, dbsession):
    frontend.signed_up("viewer4@example.com")
    frontend.app.post(f"/api/video/{videos['Beta failing']}/retry/", headers=csrf(frontend), status=403)
    assert stored_status(dbsession, videos["Beta failing"]) == VideoStatus.FAILED


def test_waiting_videos_know_their_place_and_running_jobs_their_eta(operator, videos, dbsession):
    """The status endpoint and the operators' list: a video waiting for a worker has a queue position (oldest
    first); a running job shows FFmpeg's speed, the ETA and each rendition's published share."""
    later = Video(title="Epsilon waiting too", description="", category="", status=VideoStatus.UPLOADED,
                  source_path="x")  # fmt: skip
    dbsession.add(later)
    running = dbsession.get(Video, videos["Gamma in 50%_progress"])
    running.progress_detail = {"speed": 1.25, "eta_seconds": 96.0,
                               "renditions": {"480p": {"seconds": 120.0, "percent": 50.0}}}  # fmt: skip
    dbsession.commit()

    first = operator.get(f"/api/video/{videos['Delta waiting']}/status/", status=200).json
    second = operator.get(f"/api/video/{later.id}/status/", status=200).json
    assert (first["queue_position"], second["queue_position"]) == (1, 2)
    job = operator.get(f"/api/video/{running.id}/status/", status=200).json
    assert (job["queue_position"], job["speed"], job["eta_seconds"]) == (None, 1.25, 96.0)
    assert job["rendition_progress"] == {"480p": {"seconds": 120.0, "percent": 50.0}}
    assert job["av1_progress"] is None and job["ladder_progress"] == {}
    ready = dbsession.get(Video, videos["Alpha ready"])
    hevc = {"progress": 12.0, "speed": 1.5, "eta_seconds": None}
    ready.progress_detail = {"av1": {"progress": 37.5, "speed": 0.6, "eta_seconds": 41.0}, "hevc": hevc}
    dbsession.commit()
    film = operator.get(f"/api/video/{ready.id}/status/", status=200).json
    assert (film["status"], film["progress"], film["speed"]) == ("ready", ready.progress, None)
    assert film["av1_progress"] == {"progress": 37.5, "speed": 0.6, "eta_seconds": 41.0}
    assert film["ladder_progress"] == {"av1": film["av1_progress"], "hevc": hevc}  # every ladder being made
    listed = {v["title"]: v["queue_position"] for v in operator.get("/api/admin/videos/", status=200).json}
    assert listed == {"Epsilon waiting too": 2, "Delta waiting": 1, "Gamma in 50%_progress": None,
                      "Beta failing": None, "Alpha ready": None}  # fmt: skip
