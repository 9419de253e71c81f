"""`videoflix upload FILE --title ...`: an operator's upload from the shell, with progress.

Logs in like the frontend (cookies + X-CSRFToken), sends the file (never held in memory), shows bytes sent,
then polls the status endpoint and shows processing progress until the video is ready (exit 0) or failed
(exit 1). A file up to ONE_REQUEST_MAX goes in one multipart/form-data request (urllib sends an iterable body
with a known Content-Length); a larger one as a resumable upload (tus 1.0.0 core and creation, the protocol
the console speaks too) in TUS_CHUNK pieces, each resent from the server's offset after a dropped connection:
the server bounds every request body (MAX_REQUEST_BODY, 64 MiB by default). The tus client is these few
requests written here, not tuspy: it must send the session's cookies and CSRF header and read the server's
`X-Video-Id` from the last chunk's answer.
"""

from __future__ import annotations

import base64
import getpass
import http.cookiejar
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

from ..core.environment import value

CHUNK = 1024 * 1024
#: files up to this size go in one request; larger ones as a resumable upload (the server's default
#: MAX_REQUEST_BODY is 64 MiB)
ONE_REQUEST_MAX = 32 * CHUNK
TUS_CHUNK = 16 * CHUNK
#: the protocol version every tus request names
TUS = {"Tus-Resumable": "1.0.0"}
TUS_RETRIES = 5


def add_parser(commands) -> None:
    parser = commands.add_parser("upload", help="upload a film and follow its processing")
    parser.add_argument("file", type=Path)
    parser.add_argument("--title", required=True)
    parser.add_argument("--description", default="")
    parser.add_argument("--category", default="")
    parser.add_argument(
        "--api",
        default=value(os.environ, "VIDEOFLIX_API"),
        help="API base URL (default: $VIDEOFLIX_API or %(default)s)",
    )
    parser.add_argument(
        "--email", default=value(os.environ, "VIDEOFLIX_EMAIL") or None, help="default: $VIDEOFLIX_EMAIL"
    )
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


def api_error(error: urllib.error.HTTPError) -> ApiError:
    try:
        body = json.loads(error.read())
    except ValueError:
        body = {"detail": error.reason}
    return ApiError(error.code, body)


class Client:
    def __init__(self, api: str):
        if not api.startswith(("http://", "https://")):
            raise SystemExit(f"--api must be an http(s) URL, not {api!r}")
        self.api = api.rstrip("/")
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))
        # over HTTPS the API checks Origin (or Referer) on unsafe requests too, as a browser would send it: this
        # client speaks for the API's own origin
        parts = urllib.parse.urlsplit(self.api)
        self.opener.addheaders = [("Origin", f"{parts.scheme}://{parts.netloc}")]

    def csrf(self) -> str:
        return next((c.value for c in self.cookies if c.name == "csrftoken"), "")

    def call(self, method: str, path: str, data=None, headers: dict | None = None) -> dict:
        url = self.api + path  # http(s) only, checked in __init__
        request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
        try:
            with self.opener.open(request, timeout=3600) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            raise api_error(error) from None

    def login(self, email: str, password: str) -> None:
        body = json.dumps({"email": email, "password": password}).encode()
        self.call("POST", "/login/", body, {"Content-Type": "application/json"})

    def upload(self, path: Path, fields: dict[str, str], progress=None) -> dict:
        """Upload a film; its status (as the upload endpoint answers)."""
        if path.stat().st_size > ONE_REQUEST_MAX:
            return self.upload_resumable(path, fields, progress)
        return self.upload_one_request(path, fields, progress)

    def upload_resumable(self, path: Path, fields: dict[str, str], progress=None) -> dict:
        """tus: create the upload with the fields, then PATCH chunks at the server's offset; the last chunk's
        answer names the video."""
        size = path.stat().st_size
        metadata = {**fields, "filename": path.name}
        headers = {
            **TUS,
            "Upload-Length": str(size),
            "Upload-Metadata": ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in metadata.items()),
            "X-CSRFToken": self.csrf(),
        }
        location = self.send("POST", self.api + "/uploads/", b"", headers)["Location"]
        url = urllib.parse.urljoin(self.api + "/", location)
        offset, failures, video_id = 0, 0, None
        with path.open("rb") as source:
            while video_id is None:
                source.seek(offset)
                chunk = source.read(TUS_CHUNK)
                patch = {
                    **TUS,
                    "Upload-Offset": str(offset),
                    "Content-Type": "application/offset+octet-stream",
                    "X-CSRFToken": self.csrf(),
                }
                try:
                    answer = self.send("PATCH", url, chunk, patch)
                except (urllib.error.URLError, ConnectionError, TimeoutError):
                    failures += 1
                    if failures > TUS_RETRIES:
                        raise
                    time.sleep(min(30, 2**failures))
                    state = self.send("HEAD", url, None, TUS)
                    offset, video_id = int(state["Upload-Offset"]), state.get("X-Video-Id")  # (the answer lost)
                    continue
                sent, offset = int(answer["Upload-Offset"]) - offset, int(answer["Upload-Offset"])
                if progress is not None:
                    progress(sent)
                video_id = answer.get("X-Video-Id")
                if video_id is None and offset >= size:
                    raise ApiError(502, {"detail": "The upload ended without naming its video."})
        return self.status(int(video_id))

    def send(self, method: str, url: str, data: bytes | None, headers: dict) -> Message:
        """A request whose answer is in its headers (tus; names read case-insensitively); ApiError with the
        JSON body otherwise."""
        request = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - http(s)
        try:
            with self.opener.open(request, timeout=3600) as response:
                response.read()
                return response.headers
        except urllib.error.HTTPError as error:
            raise api_error(error) from None

    def upload_one_request(self, path: Path, fields: dict[str, str], progress=None) -> dict:
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
    password = value(os.environ, "VIDEOFLIX_PASSWORD") or getpass.getpass("Password: ")
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
