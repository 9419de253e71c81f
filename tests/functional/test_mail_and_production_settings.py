"""Mail leaves only with a committed transaction; production settings make cookies Secure and check Origin."""

from __future__ import annotations

import pytest
from webtest import TestApp

from videoflix.application import main
from videoflix.core.models import TEST_CONNECTION_KEY

from ..support.accounts import PASSWORD
from ..support.frontend import Frontend


def test_no_mail_when_the_request_fails_after_sending(frontend, mailbox, monkeypatch):
    from videoflix.services.mail import AccountMails

    queue = AccountMails.send

    def send_then_fail(self, message):
        queue(self, message)
        raise RuntimeError("after the mail was handed to the mailer")

    monkeypatch.setattr(AccountMails, "send", send_then_fail)
    frontend.register("aborted@example.com", status=500)

    with pytest.raises(TimeoutError):
        mailbox.wait_for(1, timeout=1)


@pytest.fixture(scope="module")
def production_app(app_settings, engine):
    return main(
        {}, **{**app_settings, "videoflix.production": "true", "videoflix.cors_allowed_origins": "https://app.example"}
    )


@pytest.fixture
def https_frontend(production_app, connection, mailbox):
    app = TestApp(
        production_app,
        extra_environ={TEST_CONNECTION_KEY: connection, "HTTP_HOST": "api.example", "wsgi.url_scheme": "https"},
    )
    return Frontend(app, mailbox)


def test_production_cookies_are_secure(https_frontend):
    response = https_frontend.signed_up("secure@example.com")

    cookies = response.headers.getall("Set-Cookie")
    assert len(cookies) == 3
    assert all("; secure" in c.lower() for c in cookies)


def test_production_rejects_a_foreign_origin_even_with_the_csrf_token(https_frontend):
    https_frontend.signed_up("origin@example.com")
    token = https_frontend.app.cookies["csrftoken"]

    foreign = https_frontend.app.post_json(
        "/api/token/refresh/", {}, status=403, headers={"X-CSRFToken": token, "Origin": "https://evil.example"}
    )
    allowed = https_frontend.app.post_json(
        "/api/token/refresh/", {}, status=200, headers={"X-CSRFToken": token, "Origin": "https://app.example"}
    )

    assert foreign.json["detail"].startswith("CSRF")
    assert allowed.json == {"detail": "Token refreshed."}


def test_production_login_needs_no_csrf_token(https_frontend):
    https_frontend.register("prod-login@example.com")
    https_frontend.activate_last()
    https_frontend.app.post_json(
        "/api/login/",
        {"email": "prod-login@example.com", "password": PASSWORD},
        status=200,
        headers={"Origin": "https://app.example"},
    )
