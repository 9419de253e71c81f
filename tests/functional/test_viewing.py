"""Resume, continue watching and view counts (issue 19), through the API and the real database: a viewer's
progress shows in the items they read and nowhere else; bad reports are 400/404 and change nothing; a view
counts once a viewer has watched ~10 s, at most once per viewer in 6 hours, and is folded into the video's
row in batches."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from videoflix.core.models import VideoStatus
from videoflix.services.viewing import ViewingService

from ..support.frontend import Frontend


def progress(viewer: Frontend, video_id: int):
    return viewer.get(f"/api/video/{video_id}/", status=200).json["progress"]


def test_a_reported_position_is_what_the_viewer_reads_back_everywhere(viewer, add_video):
    film, other = add_video(title="Film"), add_video(title="Other")
    viewer.put(f"/api/video/{film}/progress/", {"position": 1.0}, status=204)

    mine = progress(viewer, film)
    assert (mine["position"], mine["percent"], mine["completed"]) == (1.0, 50.0, False)  # of 2 s
    listed = {item["id"]: item for item in viewer.get("/api/video/", status=200).json}
    assert listed[film]["progress"]["position"] == 1.0 and listed[other]["progress"] is None
    assert listed[film]["views"] == 0

    viewer.put(f"/api/video/{film}/progress/", {"position": 1.95}, status=204)  # within a second: not written
    assert progress(viewer, film)["position"] == 1.0
    time.sleep(1.0)
    viewer.put(f"/api/video/{film}/progress/", {"position": 1.95}, status=204)  # 97.5 %: done
    assert progress(viewer, film)["completed"] is True


def test_one_viewer_never_sees_or_changes_anothers_progress(viewer, other_viewer, add_video):
    film = add_video()
    viewer.put(f"/api/video/{film}/progress/", {"position": 1.5}, status=204)

    assert progress(other_viewer, film) is None
    assert [v["progress"] for v in other_viewer.get("/api/video/", status=200).json] == [None]
    assert other_viewer.get("/api/video/continue/", status=200).json == []
    other_viewer.delete(f"/api/video/{film}/progress/", status=204)  # forgets their own (none), not mine
    assert progress(viewer, film)["position"] == 1.5


def test_continue_watching_lists_started_unfinished_videos_most_recent_first(viewer, add_video, dbsession):
    first, second, finished, untouched = (add_video(title=t) for t in ("First", "Second", "Finished", "Untouched"))
    service = ViewingService(dbsession)
    start = datetime.now(UTC)
    for offset, video, position in ((0, first, 0.5), (5, finished, 1.98), (10, second, 1.0)):
        service.report(_user_id(dbsession), video, position, now=start + timedelta(seconds=offset))
    dbsession.commit()

    listed = viewer.get("/api/video/continue/", status=200).json
    assert [item["id"] for item in listed] == [second, first]  # not the finished one, not the untouched one
    assert listed[0]["progress"]["position"] == 1.0 and "status" not in listed[0]  # a ready item's shape
    assert untouched not in [item["id"] for item in listed]

    viewer.delete(f"/api/video/{second}/progress/", status=204)
    assert [item["id"] for item in viewer.get("/api/video/continue/", status=200).json] == [first]
    assert progress(viewer, second) is None


def _user_id(dbsession) -> int:
    return dbsession.execute(sa.text("SELECT id FROM users WHERE email = 'viewer@example.com'")).scalar_one()


@pytest.mark.parametrize(
    "body",
    [
        {"position": -1},
        {"position": "12"},
        {"position": True},
        {"position": None},
        {"position": [1]},
        {},
        {"position": 1e12},
    ],
)
def test_a_bad_position_is_400_and_changes_nothing(viewer, add_video, body):
    film = add_video()
    answer = viewer.put(f"/api/video/{film}/progress/", body, status=400)
    assert "position" in answer.json["errors"]
    assert progress(viewer, film) is None


def test_positions_past_the_end_and_videos_not_watchable_are_refused(viewer, add_video):
    film = add_video()  # 2 s long
    past = viewer.put(f"/api/video/{film}/progress/", {"position": 3.5}, status=400)
    assert "Past the end" in past.json["errors"]["position"][0]
    viewer.put(f"/api/video/{film}/progress/", {"position": 2.5}, status=204)  # within the rounding allowed
    busy = add_video(status=VideoStatus.PROCESSING)
    viewer.put(f"/api/video/{busy}/progress/", {"position": 1}, status=404)
    viewer.put("/api/video/999999/progress/", {"position": 1}, status=404)


def test_malformed_huge_or_unprotected_reports_are_refused(viewer, add_video, testapp):
    film = add_video()
    url = f"/api/video/{film}/progress/"
    token = {"X-CSRFToken": testapp.cookies["csrftoken"], "Content-Type": "application/json"}
    testapp.put(url, "{not json", headers=token, status=400)
    testapp.put(url, '{"position": NaN}', headers=token, status=400)  # Python's JSON reads NaN: no position
    testapp.put(url, "x" * (2 * 1024 * 1024), headers=token, status=413)
    viewer.put(url, {"position": 1}, csrf=False, status=403)
    assert progress(viewer, film) is None
    testapp.reset()  # logged out
    testapp.put_json(url, {"position": 1}, status=401)
    testapp.get("/api/video/continue/", status=401)


def test_a_view_counts_after_10_s_of_watching_once_per_viewer_in_6_hours(viewer, other_viewer, add_video, dbsession):
    film = add_video()
    service = ViewingService(dbsession)
    me, them = (
        dbsession.execute(sa.text("SELECT id FROM users WHERE email = :e"), {"e": email}).scalar_one()
        for email in ("viewer@example.com", "other@example.com")
    )
    t0 = datetime.now(UTC)
    for user in (me, them):  # each one's player loaded the film (the views: test_views_count_only_...)
        service.playback_started(user, film, now=t0)

    def watch(user: int, start: datetime, seconds: int, every: int = 4) -> list[bool]:
        return [service.report(user, film, 0.0, now=start + timedelta(seconds=s)).counted
                for s in range(0, seconds + 1, every)]  # fmt: skip

    assert watch(me, t0, 12) == [False, False, False, True]  # counted at 12 s, once
    assert watch(me, t0 + timedelta(seconds=16), 20) == [False] * 6  # still watching: no second view
    service.playback_started(me, film, now=t0 + timedelta(hours=7))  # a new day's viewing
    assert watch(me, t0 + timedelta(hours=7), 12) == [False, False, False, True]
    # reports an hour apart are not watching for an hour: each starts the time watched again
    assert [service.report(them, film, 0.0, now=t0 + timedelta(hours=h)).counted for h in range(3)] == [False] * 3
    # a player sending twice a second writes once a second at most
    assert service.report(them, film, 1.0, now=t0 + timedelta(hours=2, milliseconds=500)).counted is False
    dbsession.commit()
    where = "SELECT position FROM watch_progress WHERE user_id = :u AND video_id = :v"
    assert dbsession.execute(sa.text(where), {"u": them, "v": film}).scalar_one() == 0.0  # the 1.0 was not written
    pending = dbsession.execute(sa.text("SELECT count(*) FROM video_views WHERE video_id = :v"), {"v": film})
    assert pending.scalar_one() == 2
    assert progress(viewer, film)["position"] == 0.0

    # the catalog counts the views not folded yet, and the same after folding them into the video's row
    assert viewer.get(f"/api/video/{film}/", status=200).json["views"] == 2
    assert ViewingService(dbsession).fold_views() == 2
    dbsession.commit()
    assert dbsession.execute(sa.text("SELECT views FROM videos WHERE id = :v"), {"v": film}).scalar_one() == 2
    assert dbsession.execute(sa.text("SELECT count(*) FROM video_views")).scalar_one() == 0
    assert [v["views"] for v in viewer.get("/api/video/", status=200).json] == [2]


def test_views_count_only_for_playback_that_loaded_the_films_playlist(viewer, add_video, dbsession):
    """Progress reports alone (a script) count no view; once the viewer's player has loaded a playlist of the
    film (the rendition's, where the existing frontend starts), 10 s of watching count one, as before."""
    film = add_video()
    me = _user_id(dbsession)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    service = ViewingService(dbsession)
    reports = [service.report(me, film, 0.0, now=t0 + timedelta(seconds=s)).counted for s in range(0, 25, 4)]
    assert reports == [False] * 7  # 24 s of reports, no playlist: no view
    dbsession.commit()
    viewer.get(f"/api/video/{film}/480p/index.m3u8", status=200)  # the player starts
    later = datetime.now(UTC)
    reports = [service.report(me, film, 1.0, now=later + timedelta(seconds=s)).counted for s in range(0, 13, 4)]
    assert reports == [False, False, False, True]
    dbsession.commit()
    assert dbsession.execute(sa.text("SELECT count(*) FROM video_views WHERE video_id = :v"), {"v": film}).scalar() == 1


def test_progress_reports_are_limited_per_viewer_across_films(viewer, add_video, dbsession, testapp, monkeypatch):
    """The per-film gap does not bound a script writing to many films: past RATE_LIMIT_PROGRESS_USER a
    report is 429 with Retry-After, whatever the film, and writes nothing."""
    from videoflix.config import Limit

    monkeypatch.setitem(testapp.app.registry["videoflix.settings"].rate_limits, "progress_user", Limit(3, 60))
    films = [add_video(title=f"Film {n}") for n in range(5)]
    answers = [viewer.put(f"/api/video/{film}/progress/", {"position": 1}, status="*") for film in films]
    assert [a.status_int for a in answers] == [204, 204, 204, 429, 429]
    assert 0 < int(answers[3].headers["Retry-After"]) <= 60
    written = dbsession.execute(sa.text("SELECT count(*) FROM watch_progress WHERE user_id = :u"),
                                {"u": _user_id(dbsession)}).scalar()  # fmt: skip
    assert written == 3
