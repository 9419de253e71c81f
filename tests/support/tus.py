"""What a tus client sends, through the functional tests' app (WebTest)."""

from __future__ import annotations

import base64

TUS = {"Tus-Resumable": "1.0.0"}
CHUNK_TYPE = "application/offset+octet-stream"


def metadata(**fields: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in fields.items())


class Tus:
    """What a tus client sends, through the test app (with the operator's cookies and CSRF token)."""

    def __init__(self, frontend):
        self.app = frontend.app

    def headers(self, **extra) -> dict[str, str]:
        return {**TUS, "X-CSRFToken": self.app.cookies.get("csrftoken", ""), **extra}

    def create(self, length: int, status: int = 201, meta: str | None = None, **headers):
        meta = meta if meta is not None else metadata(title="Resumed film", category="Drama", filename="film.mp4")
        all_headers = self.headers(**{"Upload-Length": str(length), "Upload-Metadata": meta, **headers})
        return self.app.post("/api/uploads/", headers=all_headers, status=status)

    def head(self, url: str, status: int = 200):
        return self.app.head(url, headers=TUS, status=status)

    def patch(self, url: str, offset: int, data: bytes, status: int = 204, content_type: str = CHUNK_TYPE):
        headers = self.headers(**{"Upload-Offset": str(offset)})
        return self.app.patch(url, params=data, headers=headers, content_type=content_type, status=status)
