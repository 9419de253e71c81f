"""Bad input gets a clear JSON 4xx and writes nothing; unexpected failures get a JSON 500 without details."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from webob import Request

from videoflix.core.models import OutgoingMail, User
from videoflix.mailer import MailOutbox

from ..support.accounts import PASSWORD


def users(connection) -> int:
    return connection.scalar(sa.select(sa.func.count()).select_from(User))


def assert_error_body(response, status: int):
    assert response.status_int == status
    assert response.content_type == "application/json"
    assert isinstance(response.json["detail"], str) and response.json["detail"]
    assert isinstance(response.json["errors"], dict)


def test_a_taken_email_is_answered_like_a_new_one_case_insensitively(frontend, connection, mailbox):
    """No account enumeration: what happens to an existing account is told only to its owner, by mail
    (tests/functional/test_registration.py)."""
    new = frontend.register("dup@example.com")
    before = users(connection)

    again = frontend.register("DUP@Example.COM", status=201)

    assert again.json == new.json
    assert users(connection) == before
    assert [mail["To"] for mail in mailbox.wait_for(2)] == ["dup@example.com"] * 2  # (none left in flight)


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({}, {"email", "password", "confirmed_password"}),
        ({"email": "x@example.com", "password": PASSWORD}, {"confirmed_password"}),
        ({"email": "no-at-sign", "password": PASSWORD, "confirmed_password": PASSWORD}, {"email"}),
        ({"email": ["x@example.com"], "password": PASSWORD, "confirmed_password": PASSWORD}, {"email"}),
        (
            {"email": "x@example.com", "password": 12345678, "confirmed_password": 12345678},
            {"password", "confirmed_password"},
        ),
        ({"email": "x@example.com", "password": None, "confirmed_password": PASSWORD}, {"password"}),
        (
            {"email": "x@example.com", "password": PASSWORD, "confirmed_password": PASSWORD + "x"},
            {"confirmed_password"},
        ),
        ({"email": "x@example.com", "password": "short1", "confirmed_password": "short1"}, {"password"}),
        ({"email": "x@example.com", "password": "password123", "confirmed_password": "password123"}, {"password"}),
        (
            {"email": "jonathan@example.com", "password": "jonathan-99", "confirmed_password": "jonathan-99"},
            {"password"},
        ),
        (
            {"email": "x@example.com", "password": "p" * 129, "confirmed_password": "p" * 129},
            {"password", "confirmed_password"},
        ),
    ],
)
def test_register_field_errors(frontend, connection, body, errors):
    before = users(connection)

    response = frontend.post("/api/register/", body, status=400)

    assert_error_body(response, 400)
    assert set(response.json["errors"]) == errors
    assert all(isinstance(m, list) and m for m in response.json["errors"].values())
    assert users(connection) == before


def test_unknown_fields_are_ignored(frontend, connection):
    body = {
        "email": "extra@example.com",
        "password": PASSWORD,
        "confirmed_password": PASSWORD,
        "privacy_policy": True,
        "is_staff": True,
        "is_active": True,
    }
    frontend.post("/api/register/", body, status=201)

    frontend.login("extra@example.com", status=400)  # not activated by a smuggled field
    stored = connection.execute(sa.select(User.is_active, User.is_staff).where(User.email == "extra@example.com"))
    assert stored.one() == (False, False)  # nor made staff


@pytest.mark.parametrize("raw", [b"{not json", b'{"email": "a@b.c",}', b"\xff\xfe{}", b"nul\x00"])
def test_malformed_json_is_400(testapp, connection, raw):
    before = users(connection)
    response = testapp.post("/api/register/", raw, content_type="application/json", status=400)
    assert_error_body(response, 400)
    assert users(connection) == before


@pytest.mark.parametrize("raw", [b"[]", b'"text"', b"42", b"null"])
def test_json_that_is_not_an_object_is_400(testapp, raw):
    response = testapp.post("/api/login/", raw, content_type="application/json", status=400)
    assert response.json["detail"] == "The request body must be a JSON object."


def test_body_over_the_limit_is_413_and_writes_nothing(testapp, connection):
    before = users(connection)
    body = b'{"email": "big@example.com", "password": "' + b"x" * 5000 + b'"}'  # limit is 4096 in tests

    response = testapp.post("/api/register/", body, content_type="application/json", status=413)

    assert_error_body(response, 413)
    assert users(connection) == before


def test_chunked_body_over_the_limit_is_413(wsgi_app):
    """No Content-Length (a chunked upload, as waitress passes it on): the reader still stops at the limit."""
    import io

    from webob import Request

    body = io.BytesIO(b'{"email": "' + b"y" * 8000 + b'"}')
    request = Request.blank("/api/login/", method="POST", content_type="application/json")
    request.environ.update({"wsgi.input": body, "wsgi.input_terminated": True})
    request.environ.pop("CONTENT_LENGTH", None)

    response = request.get_response(wsgi_app)

    assert response.status_int == 413
    assert response.json["detail"] == "Request body is larger than 4096 bytes."
    assert body.tell() <= 4097  # never read past the limit


def test_form_encoded_body_is_415(testapp):
    response = testapp.post("/api/login/", {"email": "a@b.c", "password": "x"}, status=415)
    assert_error_body(response, 415)


def test_unknown_route_is_json_404(testapp):
    for path in ["/nope", "/api/", "/api/register", "/api/video/1/480p/../../etc/passwd"]:
        assert_error_body(testapp.get(path, status=404), 404)


def test_wrong_method_is_405_with_allow(testapp):
    response = testapp.get("/api/login/", status=405)
    assert_error_body(response, 405)
    assert response.headers["Allow"] == "OPTIONS, POST"
    response = testapp.delete("/api/video/", status=405)
    assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS", "POST"}


def test_unexpected_error_is_json_500_without_internals(frontend, monkeypatch):
    from videoflix.services.accounts import AccountService

    def explode(self, *args, **kw):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(AccountService, "sign_up", explode)
    response = frontend.register("boom@example.com", status=500)

    assert_error_body(response, 500)
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert "reference" in response.json["detail"]


def test_failed_request_rolls_back_its_writes(frontend, monkeypatch, connection):
    """A write made before a failure in the same request is not committed."""
    from videoflix.services.mail import AccountMails

    def explode(self, message):
        raise RuntimeError("mail template broke")

    monkeypatch.setattr(AccountMails, "send", explode)
    before = users(connection)
    frontend.register("rollback@example.com", status=500)

    assert users(connection) == before


def test_a_mail_the_smtp_server_refused_is_kept_and_delivered_later(frontend, mail_sink, connection, caplog):
    """The account is committed with its mail in the outbox; a dead mail server neither fails the request
    nor loses the mail: the retry round delivers it once the server is back, then drops the row."""
    outbox = frontend.app.app.registry["videoflix.mail_outbox"]
    port = mail_sink.port
    mail_sink.stop()
    try:
        response = frontend.register("smtp-down@example.com", status=201)
        deadline = time.monotonic() + 10
        while not any("not delivered" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
            time.sleep(0.05)  # the first attempt, right after the commit, fails
    finally:
        mail_sink.port = port
        mail_sink.start()
    assert any("not delivered" in r.getMessage() for r in caplog.records)
    assert response.json["user"]["email"] == "smtp-down@example.com"
    assert connection.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 1
    assert mail_sink.messages == []
    stored_while_waiting = "".join(
        connection.execute(sa.text("SELECT body || coalesce(html, '') FROM mail_outbox")).scalars()
    )

    with Session(bind=connection, join_transaction_mode="create_savepoint") as db:
        delivered = outbox.deliver_due(db, now=datetime.now(UTC) + timedelta(hours=1))
        db.commit()

    [mail] = mail_sink.wait_for(1)
    assert delivered == 1 and mail["To"] == "smtp-down@example.com"
    assert connection.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 0  # the link is gone too
    token = parse_qs(urlsplit(re.search(r"https?://\S+", mail.get_body(("plain",)).get_content())[0]).query)["token"]
    assert stored_while_waiting and token[0] not in stored_while_waiting  # the row never held the live link


def test_a_queued_mail_holds_its_link_sealed_and_opens_for_a_retry(dbsession):
    """What a retry needs, and nothing a database reader could use: the text sealed with a key derived from
    SECRET_KEY; another key cannot open it (the row is dropped, not retried forever)."""
    from pyramid_mailer.message import Message

    from videoflix.mailer import Sealer

    class Recording:
        default_sender = "noreply@example.com"
        sent: list = []

        def send_immediately(self, message, fail_silently=False):
            self.sent.append(message)

    class Tm:
        def get(self):
            return self

        def addAfterCommitHook(self, *args, **kw):
            pass

    link = "https://front.example/pages/auth/activate.html?uid=MQ&token=live-secret-token"
    outbox = MailOutbox(Recording(), None, 10, Sealer(b"k" * 64))
    outbox.queue(dbsession, Message(subject="S", recipients=["u@example.com"], body=f"Go: {link}",
                                    html=f'<a href="{link}">Go</a>'), Tm())  # fmt: skip
    row = dbsession.scalars(sa.select(OutgoingMail)).one()
    assert "live-secret-token" not in row.body + row.html and row.body.startswith("fernet:")
    assert outbox.deliver_due(dbsession, now=datetime.now(UTC) + timedelta(hours=1)) == 1
    assert Recording.sent[-1].body == f"Go: {link}" and link in Recording.sent[-1].html

    other = MailOutbox(Recording(), None, 10, Sealer(b"o" * 64))
    outbox.queue(dbsession, Message(subject="S", recipients=["u@example.com"], body=link), Tm())
    assert other.deliver_due(dbsession, now=datetime.now(UTC) + timedelta(hours=1)) == 0
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)) == 0


@pytest.mark.parametrize("path", ["/api/%ff", "/api/video/1/%c0%ae/x", "/api/static/vendor/hlsjs/%c0%ae%c0%ae/x"])
def test_a_path_that_is_not_utf8_is_400_not_500(testapp, path):
    response = testapp.get(path, status=400)
    assert response.json["detail"] == "The request path is not valid UTF-8."


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/login/", '{"email": "a\\u0000@example.com", "password": "x"}'),
        ("/api/password_reset/", '{"email": "\\ud800@example.com"}'),
        ("/api/register/", '{"email": "n@example.com", "password": "Nul\\u0000-pass-9", "confirmed_password": "x"}'),
    ],
)
def test_text_the_database_cannot_store_is_a_field_error(testapp, path, body):
    """NUL characters and lone surrogates (valid JSON escapes) must be 400s, not database errors."""
    response = testapp.post(path, body, content_type="application/json", status=400)
    assert response.json["errors"], response.json


@pytest.mark.parametrize("query", ["category=%00", "limit=%C2%B2", "offset=%D9%A1"])
def test_catalog_query_text_the_database_cannot_use_is_400(frontend, query):
    frontend.signed_up("query@example.com")
    assert frontend.get(f"/api/video/?{query}", status=400).json["errors"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "multipart/form-data; boundary=x"])
def test_login_takes_only_a_json_body_no_cross_site_form_or_beacon_logs_anyone_in(frontend, content_type):
    """A page on another site can post a body without a preflight only as a form (form fields, text/plain) or
    with no Content-Type at all (sendBeacon, fetch in no-cors mode): login CSRF would sign the victim into the
    attacker's account. Each is 415 and sets no cookie."""
    frontend.signed_up("csrf-login@example.com")
    frontend.app.reset()
    body = json.dumps({"email": "csrf-login@example.com", "password": PASSWORD}).encode()
    request = Request.blank("/api/login/", method="POST", body=body, environ=dict(frontend.app.extra_environ))
    request.environ.pop("CONTENT_TYPE", None)
    if content_type:
        request.content_type = content_type
    response = frontend.app.do_request(request, status="*")
    assert response.status_int == 415, response
    assert not response.headers.getall("Set-Cookie")
    assert frontend.login("csrf-login@example.com", status=200).json["user"]["email"] == "csrf-login@example.com"
