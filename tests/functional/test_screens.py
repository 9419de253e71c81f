"""Playback sessions through the API (the app serving mode): a playback begins at a film's first playlist and is
renewed by its segments; SCREENS_PER_ACCOUNT bounds the login sessions of one account that play at once, with a
clear 409; logging out frees a screen at once; operators see who is watching."""

from __future__ import annotations

import pytest
from webtest import TestApp

from videoflix.core.models import TEST_CONNECTION_KEY

from ..support.accounts import PASSWORD
from ..support.frontend import Frontend


@pytest.fixture
def operator_app(wsgi_app, connection, mailbox, dbsession) -> Frontend:
    """An operator in a browser of their own."""
    from videoflix.config import build_settings
    from videoflix.passwords import Hasher
    from videoflix.services.accounts import AccountService

    AccountService(dbsession, build_settings({}), Hasher()).register(
        "boss@example.com", PASSWORD, is_staff=True, active=True
    )
    dbsession.commit()
    app = TestApp(wsgi_app, extra_environ={TEST_CONNECTION_KEY: connection, "HTTP_HOST": "127.0.0.1:8000"})
    boss = Frontend(app, mailbox)
    boss.login("boss@example.com")
    return boss


def test_one_screen_per_account(one_screen, viewer, second_device, operator_app, add_video):
    film, preview = add_video(title="Main"), add_video(title="Preview")
    viewer.get(f"/api/video/{film}/480p/index.m3u8", status=200)
    viewer.get(f"/api/video/{preview}/480p/index.m3u8", status=200)  # the frontend's muted preview: same screen
    viewer.get(f"/api/video/{film}/480p/000.ts", status=200)
    refused = second_device.get(f"/api/video/{film}/480p/index.m3u8", status=409)
    assert "already watching on 1 screen," in refused.json["detail"]
    second_device.get(f"/api/video/{film}/master.m3u8", status=409)
    watching = [w for w in operator_app.get("/api/admin/watching/", status=200).json if w["video"] in (film, preview)]
    assert sorted(w["title"] for w in watching) == ["Main", "Preview"]
    assert {w["email"] for w in watching} == {"viewer@example.com"} and len({w["session"] for w in watching}) == 1

    viewer.post("/api/logout/", status=200)
    second_device.get(f"/api/video/{film}/master.m3u8", status=200)  # the logged-out screen is free at once
    second_device.get(f"/api/video/{film}/480p/000.ts", status=200)
    (now,) = [w for w in operator_app.get("/api/admin/watching/", status=200).json if w["video"] in (film, preview)]
    assert (now["title"], now["address"]) == ("Main", "192.0.2.44")


def test_no_limit_by_default(viewer, second_device, add_video):
    film = add_video()
    viewer.get(f"/api/video/{film}/480p/index.m3u8", status=200)
    second_device.get(f"/api/video/{film}/480p/index.m3u8", status=200)
