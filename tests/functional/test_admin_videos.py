"""GET /api/admin/videos/: operators see every video in every state, filter by status, search titles, page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from videoflix.models import Video, VideoStatus


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
