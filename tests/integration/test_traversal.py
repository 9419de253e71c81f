"""Path traversal on every file-serving route, sent byte for byte to the real server (waitress decodes the
path itself, so encoded slashes and dots reach the app as it would see them in production)."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.faults]

SECRETS = (b"root:x:0:0", b"def main(", b"import ", b"[app:main]", b"SECRET")

PREFIXES = ["/api/static/vendor/hlsjs/", "/api/video/1/", "/api/video/1/480p/"]
TRICKS = [
    "../../../../etc/passwd",
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "%252e%252e%252f%252e%252e%252fetc%252fpasswd",
    "..%5C..%5C..%5C..%5Cetc%5Cpasswd",
    "..\\..\\..\\..\\etc\\passwd",
    "000.ts%00.jpg",
    "%00../../../../etc/passwd",
    "....//....//....//etc/passwd",
    "..;/..;/..;/etc/passwd",
    "%c0%ae%c0%ae/%c0%ae%c0%ae/etc/passwd",
    "/etc/passwd",
    "//etc/passwd",
    "../../../../development.ini",
    "../../../../videoflix/__init__.py",
]


@pytest.fixture(scope="module")
def session_cookie(pipeline) -> str:
    client = pipeline.client()
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_no_file_outside_its_folder_is_ever_served(pipeline, session_cookie, prefix):
    netloc = urlsplit(pipeline.api).netloc
    for trick in TRICKS:
        conn = http.client.HTTPConnection(netloc, timeout=30)
        conn.putrequest("GET", prefix + trick, skip_accept_encoding=True)  # sent exactly as written
        conn.putheader("Cookie", session_cookie)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert 400 <= response.status < 500, (prefix + trick, response.status)
        assert not any(secret in body for secret in SECRETS), (prefix + trick, body[:200])
        assert response.getheader("Content-Type", "").startswith("application/json"), (prefix + trick, body[:200])
