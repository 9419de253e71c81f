"""Every response carries an X-Request-ID, every log line of the request carries it, and a 500's reference
is that id: a user's report leads to the log lines."""

from __future__ import annotations

import json
import logging
import re

import pytest
from pythonjsonlogger.json import JsonFormatter

from videoflix.services.accounts import AccountService


def test_each_response_gets_a_fresh_id(testapp):
    first = testapp.get("/healthz").headers["X-Request-ID"]
    second = testapp.get("/api/nowhere/", status=404).headers["X-Request-ID"]  # errors too
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


@pytest.mark.parametrize(
    ("offered", "kept"), [("nginx-0123456789abcdef", True), ("bad id; drop", False), ("x" * 65, False)]
)
def test_the_proxys_id_is_kept_when_it_is_a_sane_token(testapp, offered, kept):
    echoed = testapp.get("/healthz", headers={"X-Request-ID": offered}).headers["X-Request-ID"]
    assert (echoed == offered) is kept


def test_a_500s_reference_is_the_request_id_in_the_logs(frontend, monkeypatch, caplog):
    def explode(self, *args, **kw):
        raise RuntimeError("boom")

    monkeypatch.setattr(AccountService, "sign_up", explode)
    response = frontend.register("ids@example.com", status=500)

    request_id = response.headers["X-Request-ID"]
    assert f"(reference {request_id})" in response.json["detail"]
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR and "unhandled error" in r.getMessage()]
    assert record.request_id == request_id


def test_production_log_lines_are_json_with_the_request_id(frontend, monkeypatch, caplog):
    """production.ini's formatter over the records a request writes."""
    formatter = JsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s")
    monkeypatch.setattr(AccountService, "sign_up", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("x")))
    response = frontend.register("json@example.com", status=500)
    line = json.loads(formatter.format(next(r for r in caplog.records if r.levelno == logging.ERROR)))
    assert line["request_id"] == response.headers["X-Request-ID"] and line["levelname"] == "ERROR"
    outside = json.loads(
        formatter.format(logging.getLogger("videoflix").makeRecord("videoflix", 20, "f", 1, "m", (), None))
    )
    assert outside["request_id"] == "-"  # written outside any request
