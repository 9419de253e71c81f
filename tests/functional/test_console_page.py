"""GET /admin/: the console page for anonymous visitors (its login form) and staff; 403 for other accounts.
(The console itself, driven in Chromium, is tested in tests/integration/test_console.py.)"""

from __future__ import annotations

import re


def state_of(response) -> str:
    return re.search(r'<body data-state="(\w+)"', response.text).group(1)


def test_anonymous_visitors_get_the_page_with_its_login_form(testapp):
    response = testapp.get("/admin/", status=200)
    assert state_of(response) == "anonymous" and 'id="login-form"' in response.text
    assert response.content_type == "text/html"
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    # every script and style it names is served from this app (no CDN)
    for asset in re.findall(r'(?:src|href)="([^"]+)"', response.text):
        assert asset.startswith("http://127.0.0.1:8000/api/static/"), asset
        testapp.get(asset.removeprefix("http://127.0.0.1:8000"), status=200)


def test_staff_get_the_console(operator):
    response = operator.get("/admin/", status=200)
    assert state_of(response) == "staff" and 'data-email="operator@example.com"' in response.text


def test_other_accounts_get_403(frontend):
    frontend.signed_up("viewer6@example.com")
    response = frontend.get("/admin/", status=403)
    assert state_of(response) == "forbidden" and "Not an operator" in response.text


def test_the_email_is_escaped(frontend, dbsession):
    from videoflix.core.models import User

    frontend.signed_up("viewer7@example.com")
    dbsession.query(User).filter_by(email="viewer7@example.com").update({"email": 'x"><script>@example.com'})
    dbsession.commit()
    response = frontend.get("/admin/", status=403)
    assert "<script>@" not in response.text and "&quot;&gt;&lt;script&gt;" in response.text
