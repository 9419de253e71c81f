"""`videoflix upload FILE --title ...`: an operator's upload from the shell, with progress.

Logs in like the frontend (cookies + X-CSRFToken), streams the file as multipart/form-data (never held in
memory: urllib sends an iterable body with a known Content-Length), shows bytes sent, then polls the
status endpoint and shows processing progress until the video is ready (exit 0) or failed (exit 1).
"""

from __future__ import annotations

import getpass
import http.cookiejar
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

CHUNK = 1024 * 1024


def add_parser(commands) -> None:
    parser = commands.add_parser("upload", help="upload a film and follow its processing")
    parser.add_argument("file", type=Path)
    parser.add_argument("--title", required=True)
    parser.add_argument("--description", default="")
    parser.add_argument("--category", default="")
    parser.add_argument(
        "--api",
        default=os.environ.get("VIDEOFLIX_API", "http://127.0.0.1:8000/api"),
        help="API base URL (default: $VIDEOFLIX_API or %(default)s)",
    )
    parser.add_argument("--email", default=os.environ.get("VIDEOFLIX_EMAIL"), help="default: $VIDEOFLIX_EMAIL")
    parser.add_argument("--no-wait", action="store_true", help="return after the upload, do not follow processing")
    parser.add_argument("--timeout", type=float, default=6 * 3600, help="seconds to wait for processing")
    parser.set_defaults(run=run)


class ApiError(Exception):
    def __init__(self, status: int, body: dict):
        self.status = status
        self.body = body
        detail = body.get("detail", "") if isinstance(body, dict) else str(body)
        errors = body.get("errors") if isinstance(body, dict) else None
        super().__init__(f"HTTP {status}: {detail}" + (f" {errors}" if errors else ""))


class Client:
    def __init__(self, api: str):
        if not api.startswith(("http://", "https://")):
            raise SystemExit(f"--api must be an http(s) URL, not {api!r}")
        self.api = api.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def csrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")

    def call(self, method: str, path: str, data=None, headers: dict | None = None) -> dict:
        url = self.api + path  # http(s) only, checked in __init__
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=3600) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            try:
                body = json.loads(error.read())
            except ValueError:
                body = {"detail": error.reason}
            raise ApiError(error.code, body) from None

    def login(self, email: str, password: str) -> None:
        body = json.dumps({"email": email, "password": password}).encode()
        self.call("POST", "/login/", body, {"Content-Type": "application/json"})

    def upload(self, path: Path, fields: dict[str, str], progress=None) -> dict:
        boundary = uuid.uuid4().hex
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode() + b"\r\n"
            for name, value in fields.items()
        )
        filename = path.name.replace('"', "")
        head += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        size = len(head) + path.stat().st_size + len(tail)

        def body() -> Iterator[bytes]:
            yield head
            with path.open("rb") as source:
                while chunk := source.read(CHUNK):
                    if progress is not None:
                        progress(len(chunk))
                    yield chunk
            yield tail

        headers = {
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Content-Length": str(size),
            "X-CSRFToken": self.csrf(),
        }
        return self.call("POST", "/video/", body(), headers)

    def status(self, video_id: int) -> dict:
        return self.call("GET", f"/video/{video_id}/status/")


def run(args) -> int:
    from tqdm import tqdm

    if not args.file.is_file():
        print(f"No such file: {args.file}", file=sys.stderr)
        return 2
    email = args.email or input("Email: ")
    password = os.environ.get("VIDEOFLIX_PASSWORD") or getpass.getpass("Password: ")
    client = Client(args.api)
    try:
        client.login(email, password)
        with tqdm(total=args.file.stat().st_size, unit="B", unit_scale=True, desc="upload", file=sys.stdout) as bar:
            video = client.upload(
                args.file,
                {"title": args.title, "description": args.description, "category": args.category},
                progress=bar.update,
            )
        print(f"Uploaded as video {video['id']} ({video['status']}).", flush=True)
        if args.no_wait:
            return 0
        return follow(client, video["id"], args.timeout)
    except ApiError as exc:
        print(f"Failed: {exc}", file=sys.stderr)
        return 2
    except urllib.error.URLError as exc:
        print(f"Cannot reach {args.api}: {exc.reason}", file=sys.stderr)
        return 2


def follow(client: Client, video_id: int, timeout: float) -> int:
    from tqdm import tqdm

    deadline = time.monotonic() + timeout
    with tqdm(
        total=100,
        unit="%",
        desc="processing",
        file=sys.stdout,
        bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}",
    ) as bar:
        while time.monotonic() < deadline:
            status = client.status(video_id)
            bar.update(max(0.0, status["progress"] - bar.n))
            if status["status"] in ("ready", "failed"):
                break
            time.sleep(1.0)
        else:
            print(f"Still {status['status']} after {timeout:.0f} s.", file=sys.stderr)
            return 1
    if status["status"] == "failed":
        print(f"Video {video_id} failed: {status['error']}", file=sys.stderr)
        return 1
    print(f"Video {video_id} is ready: {', '.join(status['resolutions'])}.")
    return 0
