"""Login, password-reset and registration requests are rate limited per account and per client address (429 with
Retry-After), and the limits reveal nothing about which accounts exist."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from videoflix.config import RATE_LIMITS, Limit
from videoflix.core.models import RateLimitCounter

from ..support.accounts import PASSWORD

ACCOUNT_LIMIT = Limit.parse(RATE_LIMITS["login_account"]).count
RESET_LIMIT = Limit.parse(RATE_LIMITS["reset_account"]).count


@pytest.fixture
def limits(testapp, monkeypatch):
    """The running app's limits, to lower one for a test."""
    rate_limits = testapp.app.registry["videoflix.settings"].rate_limits

    def lower(name: str, count: int) -> None:
        monkeypatch.setitem(rate_limits, name, Limit(count, 900))

    return lower


def test_failed_logins_lock_the_account_even_for_the_right_password(frontend):
    frontend.signed_up("locked@example.com")
    for _ in range(ACCOUNT_LIMIT):
        frontend.login("locked@example.com", "Wrong-password-1", status=400)

    locked = frontend.login("locked@example.com", PASSWORD, status=429)

    assert locked.json["detail"].startswith("Too many attempts")
    assert 0 < int(locked.headers["Retry-After"]) <= 900
    frontend.signed_up("other@example.com")  # another account is not affected


def test_an_unknown_email_is_locked_the_same_way(frontend):
    """No enumeration: the same number of failures, the same 429, for an account that does not exist."""
    answers = [
        frontend.login("ghost@example.com", "Wrong-password-1", status="*").status_int for _ in range(ACCOUNT_LIMIT + 1)
    ]
    assert answers == [400] * ACCOUNT_LIMIT + [429]


def test_a_successful_login_is_not_counted_against_the_account(frontend):
    frontend.signed_up("often@example.com")
    for _ in range(ACCOUNT_LIMIT + 2):
        frontend.login("often@example.com", status=200)


def test_login_attempts_are_limited_per_client_address(frontend, limits):
    limits("login_ip", 3)
    frontend.signed_up("a@example.com")  # from WebTest's default (no) address: counted elsewhere
    remote = {"REMOTE_ADDR": "203.0.113.7"}
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        frontend.app.post_json("/api/login/", {"email": email, "password": "x"}, extra_environ=remote, status=400)

    blocked = frontend.app.post_json(
        "/api/login/", {"email": "a@example.com", "password": PASSWORD}, extra_environ=remote, status=429
    )
    assert "Retry-After" in blocked.headers
    other = {"REMOTE_ADDR": "198.51.100.1"}
    frontend.app.post_json("/api/login/", {"email": "a@example.com", "password": PASSWORD}, extra_environ=other)


def test_password_reset_is_limited_per_email_alike_for_unknown_accounts(frontend, mailbox):
    frontend.signed_up("reset-limit@example.com")
    mailbox.clear()
    for email in ("reset-limit@example.com", "nobody@example.com"):
        answers = [frontend.post("/api/password_reset/", {"email": email}).status_int for _ in range(RESET_LIMIT + 1)]
        assert answers == [200] * RESET_LIMIT + [429]
    assert len(mailbox.wait_for(RESET_LIMIT)) == RESET_LIMIT  # no mail for the refused request


def test_password_reset_is_limited_per_client_address(frontend, limits):
    limits("reset_ip", 2)
    remote = {"REMOTE_ADDR": "203.0.113.9"}
    for email in ("one@example.com", "two@example.com"):
        frontend.app.post_json("/api/password_reset/", {"email": email}, extra_environ=remote, status=200)
    frontend.app.post_json("/api/password_reset/", {"email": "three@example.com"}, extra_environ=remote, status=429)


def test_limits_can_be_switched_off(frontend, limits):
    limits("login_account", 0)
    answers = {
        frontend.login("free@example.com", "Wrong-password-1", status="*").status_int for _ in range(ACCOUNT_LIMIT + 2)
    }
    assert answers == {400}


def test_counters_are_committed_although_the_login_failed(frontend, connection):
    frontend.login("counted@example.com", "Wrong-password-1", status=400)
    hits = connection.scalar(
        sa.select(RateLimitCounter.hits).where(RateLimitCounter.key == "login:account:counted@example.com")
    )
    assert hits == 1


REGISTER_LIMIT = Limit.parse(RATE_LIMITS["register_account"]).count


def test_registration_is_limited_per_email_alike_for_existing_accounts(frontend, mailbox):
    frontend.signed_up("register-limit@example.com")  # its registration counts too
    mailbox.clear()
    taken = [frontend.register("register-limit@example.com", status="*").status_int for _ in range(REGISTER_LIMIT)]
    new = [frontend.register("new-limit@example.com", status="*").status_int for _ in range(REGISTER_LIMIT + 1)]

    assert taken == [201] * (REGISTER_LIMIT - 1) + [429]
    assert new == [201] * REGISTER_LIMIT + [429]
    assert len(mailbox.wait_for(2 * REGISTER_LIMIT - 1)) == 2 * REGISTER_LIMIT - 1  # none for the refused ones


def test_registration_is_limited_per_client_address(frontend, limits, mailbox):
    limits("register_ip", 2)
    remote = {"REMOTE_ADDR": "203.0.113.10"}
    body = {"password": PASSWORD, "confirmed_password": PASSWORD}
    for email in ("one@example.com", "two@example.com"):
        frontend.app.post_json("/api/register/", {**body, "email": email}, extra_environ=remote, status=201)
    frontend.app.post_json("/api/register/", {**body, "email": "three@example.com"}, extra_environ=remote, status=429)
    assert sorted(mail["To"] for mail in mailbox.wait_for(2)) == ["one@example.com", "two@example.com"]


def test_a_registration_past_its_limit_costs_no_strength_estimate(frontend, limits, monkeypatch):
    """zxcvbn (tens of ms a password) runs after the throttle: past the limit a weak password is a 429, and
    zxcvbn is not called; within it a weak password is a 400 that still counts against the limit."""
    from videoflix.schemas import accounts as account_schemas

    estimates = []
    real = account_schemas.password_problems
    monkeypatch.setattr(account_schemas, "password_problems", lambda *a, **k: estimates.append(a) or real(*a, **k))
    limits("register_ip", 2)
    remote = {"REMOTE_ADDR": "203.0.113.11"}
    weak = {"password": "password", "confirmed_password": "password"}
    for n in range(2):
        answer = frontend.app.post_json("/api/register/", {**weak, "email": f"w{n}@example.com"},
                                        extra_environ=remote, status=400)  # fmt: skip
        assert "password" in answer.json["errors"]
    assert len(estimates) == 2
    frontend.app.post_json("/api/register/", {**weak, "email": "w3@example.com"}, extra_environ=remote, status=429)
    assert len(estimates) == 2
