"""CORS with credentials for the configured origins only, on every response (errors included), and
preflights answered without authentication."""

from __future__ import annotations

import pytest

FRONTEND = "http://127.0.0.1:5500"


def preflight(testapp, origin: str, path: str = "/api/video/", method: str = "GET", status="*"):
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": "content-type,x-csrftoken",
    }
    return testapp.options(path, headers=headers, status=status)


@pytest.mark.parametrize("path", ["/api/video/", "/api/login/", "/api/logout/", "/api/does-not-exist/"])
def test_preflight_from_the_frontend_is_allowed_without_auth(testapp, path):
    response = preflight(testapp, FRONTEND, path, "POST", status=204)

    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    allowed_headers = {h.strip() for h in response.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"content-type", "x-csrftoken"} <= allowed_headers
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Origin" in response.headers["Vary"]


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/api/video/", 401), ("GET", "/api/nothing/", 404), ("POST", "/api/login/", 400)],
)
def test_error_responses_carry_cors_headers(testapp, method, path, status):
    response = testapp.request(
        path, method=method, headers={"Origin": FRONTEND}, status=status, body=b"{}", content_type="application/json"
    )

    assert response.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert response.json["detail"]


def test_success_responses_carry_cors_headers(frontend):
    response = frontend.signed_up("cors@example.com")
    listing = frontend.app.get("/api/video/", headers={"Origin": FRONTEND})

    assert listing.headers["Access-Control-Allow-Origin"] == FRONTEND
    assert response.status_int == 200


@pytest.mark.parametrize("origin", ["http://evil.example", "http://127.0.0.1:5501", "null", FRONTEND + ".evil"])
def test_other_origins_get_no_cors_headers(testapp, origin):
    simple = testapp.get("/api/video/", headers={"Origin": origin}, status=401)
    pre = preflight(testapp, origin)

    for response in (simple, pre):
        assert "Access-Control-Allow-Origin" not in response.headers
        assert "Access-Control-Allow-Credentials" not in response.headers
    assert pre.status_int in (404, 405)  # not answered as a preflight
