"""register -> mail -> activate -> login -> refresh -> logout -> reset -> confirm, through the real database
and a real SMTP server, the way the existing frontend calls it."""

from __future__ import annotations

import sqlalchemy as sa
from cachetools import TTLCache

from videoflix.caches import LockedCache
from videoflix.core.models import AuthSession, User
from videoflix.services import live_sessions, sessions
from videoflix.services.accounts import encode_uid
from videoflix.views.accounts import REGISTERED

from ..support.accounts import PASSWORD
from ..support.frontend import link_in


def set_cookie_headers(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.getall("Set-Cookie")}


def test_register_sends_activation_mail_and_account_stays_inactive(frontend, mailbox, connection):
    response = frontend.register("New.User@Example.com")

    assert response.status_int == 201
    assert response.json == {"detail": REGISTERED, "user": {"email": "new.user@example.com"}}
    [mail] = mailbox.wait_for(1)
    assert mail["To"] == "new.user@example.com"
    link, query = frontend.last_link()
    assert link == "http://127.0.0.1:5500/pages/auth/activate.html"
    assert set(query) == {"uid", "token"}
    user = connection.execute(sa.select(User).where(User.email == "new.user@example.com")).one()
    assert user.is_active is False
    # the password is stored as an argon2id hash, never as given
    stored = user.password_hash
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_inactive_account_cannot_log_in_with_the_same_answer_as_a_wrong_password(frontend):
    frontend.register("pending@example.com")

    inactive = frontend.login("pending@example.com", status=400)
    wrong = frontend.login("pending@example.com", "Wrong-password-123", status=400)
    unknown = frontend.login("nobody@example.com", status=400)

    assert inactive.json == wrong.json == unknown.json
    assert "access_token" not in frontend.app.cookies


def test_activation_link_works_once(frontend):
    frontend.register("once@example.com")
    _, query = frontend.last_link()
    path = f"/api/activate/{query['uid']}/{query['token']}/"

    first = frontend.get(path, status=200)
    again = frontend.get(path, status=400)

    assert first.json == {"message": "Account successfully activated."}
    assert again.json["detail"]
    frontend.login("once@example.com", status=200)


def test_activation_rejects_bad_tokens_and_uids(frontend, connection):
    frontend.register("bad-token@example.com")
    _, query = frontend.last_link()
    user_id = connection.scalar(sa.select(User.id).where(User.email == "bad-token@example.com"))

    for uid, token in [
        (query["uid"], "not-the-token"),
        ("!!!", query["token"]),
        ("MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NQ", query["token"]),  # an absurdly large id
        (encode_uid(user_id + 1), query["token"]),  # someone else's uid with this token
    ]:
        response = frontend.get(f"/api/activate/{uid}/{token}/", status=400)
        assert response.json["detail"] == "This link is invalid or has expired."
    frontend.login("bad-token@example.com", status=400)  # still inactive


def test_expired_activation_link_is_rejected(frontend, connection):
    frontend.register("late@example.com")
    _, query = frontend.last_link()
    connection.execute(sa.text("UPDATE account_tokens SET expires_at = now() - interval '1 second'"))

    frontend.get(f"/api/activate/{query['uid']}/{query['token']}/", status=400)


def test_login_sets_httponly_samesite_cookies_and_a_readable_csrf_cookie(frontend):
    response = frontend.signed_up("cookies@example.com")

    assert response.json == {
        "detail": "Login successful.",
        "user": {"id": response.json["user"]["id"], "email": "cookies@example.com"},
    }
    cookies = set_cookie_headers(response)
    for name in ("access_token", "refresh_token"):
        header = cookies[name].lower()
        assert "httponly" in header and "samesite=lax" in header and "path=/" in header
        assert "domain=" not in header  # host-only
        assert "secure" not in header  # plain-http development settings
    csrf = cookies["csrftoken"].lower()
    assert "httponly" not in csrf and "samesite=lax" in csrf and "path=/" in csrf


def test_catalog_needs_the_access_cookie(frontend):
    assert frontend.get("/api/video/", status=401).json["detail"]
    frontend.signed_up("viewer@example.com")

    assert frontend.get("/api/video/", status=200).json == []


def test_refresh_rotates_and_needs_csrf(frontend):
    frontend.signed_up("refresh@example.com")
    old_refresh = frontend.app.cookies["refresh_token"]

    no_csrf = frontend.post("/api/token/refresh/", csrf=False, status=403)
    wrong_csrf = frontend.post("/api/token/refresh/", csrf=False, headers={"X-CSRFToken": "forged"}, status=403)
    refreshed = frontend.post("/api/token/refresh/", status=200)

    assert no_csrf.json["detail"].startswith("CSRF") and wrong_csrf.json["detail"].startswith("CSRF")
    assert refreshed.json == {"detail": "Token refreshed."}
    assert set(set_cookie_headers(refreshed)) == {"access_token", "refresh_token"}
    assert frontend.app.cookies["refresh_token"] != old_refresh
    frontend.get("/api/video/", status=200)


def test_replaying_a_rotated_refresh_token_ends_the_session(frontend, connection, monkeypatch):
    monkeypatch.setattr(sessions, "ROTATION_GRACE", 0)  # the replay comes after the grace of a racing request
    frontend.signed_up("replay@example.com")
    stolen = frontend.app.cookies["refresh_token"]
    frontend.post("/api/token/refresh/", status=200)  # the legitimate client rotates
    current_access = frontend.app.cookies["access_token"]
    frontend.get("/api/video/", status=200)  # the live session is now remembered (services.live_sessions)

    frontend.app.set_cookie("refresh_token", stolen)
    replay = frontend.post("/api/token/refresh/", status=401)

    assert "already used" in replay.json["detail"]
    # the revocation was committed although the answer is an error, and it kills the live access token too
    assert connection.scalar(sa.select(sa.func.count()).where(AuthSession.revoked_at.is_not(None))) == 1
    frontend.app.set_cookie("access_token", current_access)
    frontend.get("/api/video/", status=401)


def test_two_refreshes_racing_with_the_same_cookie_keep_the_session(frontend):
    """The console polls and a tus retry refreshes at the same moment, with the same refresh cookie."""
    frontend.signed_up("race@example.com")
    same = frontend.app.cookies["refresh_token"]
    frontend.post("/api/token/refresh/", status=200)
    winner = frontend.app.cookies["refresh_token"]

    frontend.app.set_cookie("refresh_token", same)  # the loser of the race, answered after the winner
    frontend.post("/api/token/refresh/", status=200)

    assert frontend.app.cookies["refresh_token"] != same
    frontend.get("/api/video/", status=200)
    frontend.post("/api/token/refresh/", status=200)  # the session goes on
    frontend.app.set_cookie("refresh_token", winner)
    frontend.post("/api/token/refresh/", status=200)  # (the winner's answer, had the browser kept that one)


def test_refresh_without_a_cookie_is_401(frontend):
    assert frontend.post("/api/token/refresh/", status=401).json["detail"]


def test_logout_clears_cookies_and_revokes_the_session(frontend):
    frontend.signed_up("logout@example.com")
    access, refresh = frontend.app.cookies["access_token"], frontend.app.cookies["refresh_token"]
    frontend.get("/api/video/", status=200)  # the live session is now remembered (services.live_sessions)

    response = frontend.post("/api/logout/", status=200)

    assert response.json["detail"].startswith("Logout successful")
    cleared = set_cookie_headers(response)
    assert "max-age=0" in cleared["access_token"].lower() and "max-age=0" in cleared["refresh_token"].lower()
    # copies of the old cookies are dead server-side, not only deleted in this browser
    frontend.app.set_cookie("access_token", access)
    frontend.app.set_cookie("refresh_token", refresh)
    frontend.get("/api/video/", status=401)
    frontend.post("/api/token/refresh/", status=401)


def test_logout_needs_csrf_when_logged_in(frontend):
    frontend.signed_up("logout-csrf@example.com")

    frontend.post("/api/logout/", csrf=False, status=403)
    frontend.get("/api/video/", status=200)  # still logged in


def test_password_reset_answers_the_same_for_unknown_accounts(frontend, mailbox):
    frontend.signed_up("reset@example.com")
    mailbox.clear()

    known = frontend.post("/api/password_reset/", {"email": "reset@example.com"}, status=200)
    [mail] = mailbox.wait_for(1)
    unknown = frontend.post("/api/password_reset/", {"email": "ghost@example.com"}, status=200)

    assert known.json == unknown.json
    assert len(mailbox.messages) == 1 and mail["To"] == "reset@example.com"
    link, query = link_in(mail)
    assert link == "http://127.0.0.1:5500/pages/auth/confirm_password.html"
    assert set(query) == {"uid", "token"}


def test_password_confirm_sets_the_password_once_and_ends_sessions(frontend, mailbox):
    frontend.signed_up("confirm@example.com")
    old_access = frontend.app.cookies["access_token"]
    frontend.get("/api/video/", status=200)  # the live session is now remembered (services.live_sessions)
    frontend.post("/api/password_reset/", {"email": "confirm@example.com"}, status=200)
    _, first = frontend.last_link()
    frontend.post("/api/password_reset/", {"email": "confirm@example.com"}, status=200)
    _, second = frontend.last_link()
    new = {"new_password": "An0ther-good-one", "confirm_password": "An0ther-good-one"}

    done = frontend.post(f"/api/password_confirm/{second['uid']}/{second['token']}/", new, status=200)
    reused = frontend.post(f"/api/password_confirm/{second['uid']}/{second['token']}/", new, status=400)
    older = frontend.post(f"/api/password_confirm/{first['uid']}/{first['token']}/", new, status=400)

    assert done.json == {"detail": "Your password has been successfully reset."}
    assert reused.json["detail"] == older.json["detail"] == "This link is invalid or has expired."
    frontend.app.set_cookie("access_token", old_access)
    frontend.get("/api/video/", status=401)  # every session ended with the password change
    frontend.login("confirm@example.com", PASSWORD, status=400)
    frontend.login("confirm@example.com", "An0ther-good-one", status=200)


def test_password_confirm_validates_the_new_password(frontend):
    frontend.signed_up("weak-reset@example.com")
    frontend.post("/api/password_reset/", {"email": "weak-reset@example.com"}, status=200)
    _, query = frontend.last_link()
    path = f"/api/password_confirm/{query['uid']}/{query['token']}/"

    mismatch = frontend.post(path, {"new_password": "An0ther-good-one", "confirm_password": "different1"}, status=400)
    weak = frontend.post(path, {"new_password": "12345678", "confirm_password": "12345678"}, status=400)

    like_email = frontend.post(path, {"new_password": "weak-reset-2026!", "confirm_password": "weak-reset-2026!"},
                               status=400)  # fmt: skip

    assert mismatch.json["errors"] == {"confirm_password": ["Passwords do not match."]}
    assert "This password is entirely numeric." in weak.json["errors"]["new_password"]
    assert like_email.json["errors"] == {"new_password": ["This password is too similar to the email address."]}
    # the link survived the rejected attempts
    frontend.post(path, {"new_password": "An0ther-good-one", "confirm_password": "An0ther-good-one"}, status=200)


def test_a_revocation_by_another_process_shows_within_the_cache_lifetime(frontend, connection, monkeypatch):
    """Revocations here clear the live-session cache on commit (tests above); another process's revocation
    is seen once the remembered entry expires, after LIVE_TTL seconds."""
    clock = [0.0]
    cache = LockedCache(TTLCache(maxsize=16, ttl=live_sessions.LIVE_TTL, timer=lambda: clock[0]))
    monkeypatch.setattr(live_sessions, "cache", cache)
    frontend.signed_up("elsewhere@example.com")
    frontend.get("/api/video/", status=200)

    connection.execute(sa.update(AuthSession).values(revoked_at=sa.func.now()))  # as another web process would
    frontend.get("/api/video/", status=200)
    clock[0] += live_sessions.LIVE_TTL + 0.1
    frontend.get("/api/video/", status=401)
