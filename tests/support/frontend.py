"""Doing what the frontend does, in functional tests (WebTest): JSON in, cookies kept, X-CSRFToken echoed from
the cookie, links followed from the mails it causes."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from videoflix.mail_sink import text_of

from .accounts import PASSWORD


def link_in(mail) -> tuple[str, dict[str, str]]:
    """The frontend link in a mail: (path, {uid, token})."""
    url = re.search(r"https?://\S+", text_of(mail)).group(0)
    parts = urlsplit(url)
    return parts.scheme + "://" + parts.netloc + parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}


class Frontend:
    def __init__(self, app, mailbox):
        self.app = app
        self.mailbox = mailbox
        self.mails_before = 0  # mails received before the latest POST: its mail is the next one

    def post(self, path: str, body=None, status: int | str = "*", csrf: bool = True, **kw):
        self.mails_before = len(self.mailbox.messages)
        headers = kw.pop("headers", {})
        token = self.app.cookies.get("csrftoken")
        if csrf and token:
            headers["X-CSRFToken"] = token
        return self.app.post_json(path, body if body is not None else {}, headers=headers, status=status, **kw)

    def put(self, path: str, body=None, status: int | str = "*", csrf: bool = True, **kw):
        return self.app.put_json(path, body if body is not None else {}, headers=self._csrf(csrf), status=status, **kw)

    def patch(self, path: str, body=None, status: int | str = "*", csrf: bool = True, **kw):
        return self.app.patch_json(path, body if body is not None else {}, headers=self._csrf(csrf), status=status,
                                   **kw)  # fmt: skip

    def delete(self, path: str, status: int | str = "*", csrf: bool = True, **kw):
        return self.app.delete(path, headers=self._csrf(csrf), status=status, **kw)

    def upload(self, path: str, fields: dict, files: list, status: int | str = "*", csrf: bool = True):
        """A multipart/form-data POST (`files`: WebTest's (field, name, bytes) triples), as a browser's form."""
        return self.app.post(path, fields, upload_files=files, headers=self._csrf(csrf), status=status,
                             content_type="multipart/form-data")  # fmt: skip

    def _csrf(self, csrf: bool) -> dict[str, str]:
        token = self.app.cookies.get("csrftoken")
        return {"X-CSRFToken": token} if csrf and token else {}

    def get(self, path: str, status: int | str = "*", **kw):
        return self.app.get(path, status=status, **kw)

    def last_link(self) -> tuple[str, dict[str, str]]:
        """The frontend link in the mail the latest POST sent (delivery is asynchronous: wait for it)."""
        return link_in(self.mailbox.wait_for(self.mails_before + 1)[self.mails_before])

    def register(self, email: str, password: str = PASSWORD, status: int = 201):
        body = {"email": email, "password": password, "confirmed_password": password, "privacy_policy": True}
        return self.post("/api/register/", body, status=status)

    def activate_last(self):
        _, query = self.last_link()
        return self.get(f"/api/activate/{query['uid']}/{query['token']}/", status=200)

    def login(self, email: str, password: str = PASSWORD, status: int = 200):
        return self.post("/api/login/", {"email": email, "password": password}, status=status)

    def signed_up(self, email: str, password: str = PASSWORD):
        """Register, activate through the mailed link, log in."""
        self.register(email, password)
        self.activate_last()
        return self.login(email, password)


def upload(frontend, path: Path | None, status: int, **fields):
    form = {"title": "Big Buck Test", "description": "A test clip", "category": "Drama", **fields}
    files = [("file", path.name, path.read_bytes())] if path else []
    headers = {"X-CSRFToken": frontend.app.cookies.get("csrftoken", "")}
    return frontend.app.post(
        "/api/video/", form, upload_files=files, headers=headers, status=status, content_type="multipart/form-data"
    )


def leftovers(media_root: Path) -> list[Path]:
    return [p for p in media_root.rglob("*") if p.is_file()]


FRONTEND = "http://127.0.0.1:5500"
