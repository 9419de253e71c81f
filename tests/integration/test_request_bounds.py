"""No anonymous request can fill the web host's disk or memory: waitress reads and spools a whole body before the
app (and any permission check) runs, so every body is bounded by MAX_REQUEST_BODY (64 MiB), through the real
`pserve development.ini`, measuring what the web process holds while 256 MiB arrive."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
import sqlalchemy as sa
from waitress.adjustments import Adjustments

from videoflix.cli.upload import ONE_REQUEST_MAX
from videoflix.config import MAX_REQUEST_BODY
from videoflix.devservices import free_port, wait_for_port

from ..support.clips import make_clip
from ..support.stack import PSERVE, ROOT, clean_env, http, new_project, with_port

pytestmark = pytest.mark.integration

MIB = 1024 * 1024


class Held:
    """Samples, every 20 ms, the bytes a process holds in temporary files (open, unlinked: waitress's spool)
    and its resident memory."""

    def __init__(self, pid: int):
        self.process = psutil.Process(pid)
        self.rss_before = self.process.memory_info().rss
        self.max_spooled = self.max_rss = 0
        self.running = True
        self.thread = threading.Thread(target=self.sample, daemon=True)
        self.thread.start()

    def spooled(self) -> int:
        total = 0
        for fd in os.listdir(f"/proc/{self.process.pid}/fd"):
            try:
                if os.readlink(f"/proc/{self.process.pid}/fd/{fd}").endswith("(deleted)"):
                    total += os.stat(f"/proc/{self.process.pid}/fd/{fd}").st_size
            except OSError:
                continue
        return total

    def sample(self) -> None:
        while self.running:
            self.max_spooled = max(self.max_spooled, self.spooled())
            self.max_rss = max(self.max_rss, self.process.memory_info().rss)
            time.sleep(0.02)

    def stop(self) -> None:
        self.running = False
        self.thread.join()


def send_chunked(port: int, path: str, total: int) -> tuple[int, int]:
    """POST `total` bytes with chunked transfer encoding (no Content-Length), as fast as the server reads;
    (status of the answer, bytes the server took before it stopped reading)."""
    conn = socket.create_connection(("127.0.0.1", port))
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    conn.sendall(head.encode() + b"\r\n")
    piece = b"100000\r\n" + b"x" * MIB + b"\r\n"  # 1 MiB chunks
    sent = 0
    try:
        while sent < total:
            conn.sendall(piece)
            sent += MIB
        conn.sendall(b"0\r\n\r\n")
    except OSError:  # the server answered and closed: it stopped reading
        pass
    conn.settimeout(30)
    answer = b""
    try:
        while b"\r\n" not in answer and (data := conn.recv(4096)):
            answer += data
    except OSError:
        pass
    conn.close()
    return int(answer.split(b" ")[1]) if answer.startswith(b"HTTP/") else 0, sent


@pytest.fixture(scope="module")
def web(tmp_path_factory, database_url):
    """`pserve development.ini` (waitress) on a free port, against the test database."""
    project = new_project()
    port = free_port()
    with_port(project / "development.ini", port)
    env = {**clean_env(), "DATABASE_URL": database_url, "MEDIA_ROOT": str(project / "media")}
    log = tmp_path_factory.mktemp("web") / "pserve.log"
    proc = subprocess.Popen([*PSERVE, "development.ini"], cwd=project, env=env, stdout=log.open("wb"),
                            stderr=subprocess.STDOUT)  # fmt: skip
    wait_for_port("127.0.0.1", port, 60, alive=lambda: proc.poll() is None)
    yield proc, port
    proc.kill()
    proc.wait(10)


@pytest.mark.parametrize("path", ["/api/login/", "/api/register/", "/api/video/"])
def test_an_anonymous_256_mib_body_is_refused_and_the_server_holds_at_most_the_bound(web, path):
    proc, port = web
    held = Held(proc.pid)

    status, sent = send_chunked(port, path, 256 * MIB)

    held.stop()
    print(f"\n{path}: read {sent / MIB:.0f} MiB of 256, spooled at most {held.max_spooled / MIB:.1f} MiB, "
          f"RSS +{(held.max_rss - held.rss_before) / MIB:.1f} MiB")  # fmt: skip
    assert status == 413
    assert sent < 256 * MIB  # it stopped reading: the rest was never taken
    # waitress checks the bound after each read of the socket, so it may hold up to one read past it
    # (seen: 3255 bytes over, once in several runs)
    assert held.max_spooled <= MAX_REQUEST_BODY + Adjustments.recv_bytes, held.max_spooled
    assert held.max_rss - held.rss_before < MAX_REQUEST_BODY // 2, (held.rss_before, held.max_rss)
    assert http("GET", f"http://127.0.0.1:{port}/healthz") == (200, {"status": "ok"})  # and serves on


def test_a_declared_length_past_the_bound_is_refused_before_a_byte_is_read(web):
    _, port = web
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(f"POST /api/login/ HTTP/1.1\r\nHost: x\r\nContent-Length: {20 * 1024**3}\r\n\r\n".encode())
    conn.settimeout(10)
    assert conn.recv(64).startswith(b"HTTP/1.1 413")
    conn.close()


def test_a_film_larger_than_one_request_goes_up_resumably(pipeline, tmp_path):
    """`videoflix upload` (its Client) sends a file past ONE_REQUEST_MAX as tus chunks, each within the bound."""
    clip = make_clip(tmp_path / "clip.mp4", seconds=2)
    big = tmp_path / "big.mp4"
    with big.open("wb") as out:  # a real clip, then padding that FFmpeg reads past
        out.write(clip.read_bytes())
        out.truncate(ONE_REQUEST_MAX + 5 * MIB)
    client = pipeline.client()

    video = client.upload(big, {"title": "Past one request"})

    assert video["status"] in ("uploaded", "processing", "playable", "ready")
    assert pipeline.scalar("SELECT count(*) FROM uploads WHERE video_id = :id", id=video["id"]) == 1
    assert Path(pipeline.media, pipeline.scalar("SELECT source_path FROM videos WHERE id = :id", id=video["id"])
                ).stat().st_size == big.stat().st_size  # fmt: skip
    assert pipeline.wait_for_status(client, video["id"], {"ready", "failed"}, 120)["status"] == "ready"


def announce(port: int, method: str, length: int, cookie: str = "") -> socket.socket:
    """A request's headers, straight to waitress, announcing a `length`-byte body; none of the body."""
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(f"{method} /api/uploads/0123456789abcdef0123456789abcdef/ HTTP/1.1\r\nHost: x\r\n"
                 f"Content-Type: application/offset+octet-stream\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\n"
                 f"Cookie: {cookie}\r\nContent-Length: {length}\r\n\r\n".encode())  # fmt: skip
    conn.settimeout(5)
    return conn


@pytest.fixture(scope="module")
def operator_cookie(web, engine) -> str:
    """A staff session's cookies on `web`."""
    from videoflix.core.models import User
    from videoflix.passwords import Hasher

    from ..support.accounts import PASSWORD

    with engine.begin() as conn:
        conn.execute(sa.delete(User).where(User.email == "gate-operator@example.com"))
        conn.execute(sa.insert(User).values(email="gate-operator@example.com", password_hash=Hasher().hash(PASSWORD),
                                            is_active=True, is_staff=True))  # fmt: skip
    _, port = web
    body = json.dumps({"email": "gate-operator@example.com", "password": PASSWORD}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/login/", method="POST", data=body,
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=30) as answer:
        cookies = [value.split(";", 1)[0] for name, value in answer.getheaders() if name.lower() == "set-cookie"]
    return "; ".join(cookies)


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "DELETE", "POST", "PATCH", "PUT"])
def test_straight_to_waitress_only_an_operator_may_send_a_large_body(web, operator_cookie, method):
    """Without nginx in front: a body past the JSON bound (here 60 MiB, within MAX_REQUEST_BODY, which waitress
    would read and spool whole before the app runs) is refused at once (413, the connection closed) for anyone
    but a staff session, whatever the method, and the web process spools nothing; an operator's is read (the
    server waits for it, as for an upload)."""
    proc, port = web
    held = Held(proc.pid)
    anonymous = announce(port, method, 60 * MIB)
    assert anonymous.recv(64).startswith(b"HTTP/1.1 413"), method
    anonymous.close()
    operator = announce(port, method, 60 * MIB, operator_cookie)
    with pytest.raises(TimeoutError):
        operator.settimeout(1.5)
        operator.recv(64)  # nothing yet: the server waits for the operator's body
    operator.sendall(b"x" * MIB)
    time.sleep(0.3)
    operator.close()
    held.stop()
    assert held.max_spooled <= 2 * MIB, held.max_spooled  # what the operator sent, no more


@pytest.fixture
def quick_web(tmp_path, database_url):
    """`pserve development.ini` with its `channel_timeout` cut to QUICK_TIMEOUT s (the test of that bound
    waits it out: the shipped 30 s would cost the suite half a minute for the same behaviour)."""
    project = new_project()
    port = free_port()
    ini = project / "development.ini"
    with_port(ini, port)
    ini.write_text(ini.read_text().replace("channel_timeout = 30", f"channel_timeout = {QUICK_TIMEOUT}"))
    env = {**clean_env(), "DATABASE_URL": database_url, "MEDIA_ROOT": str(project / "media")}
    proc = subprocess.Popen([*PSERVE, "development.ini"], cwd=project, env=env, stdout=(tmp_path / "log").open("wb"),
                            stderr=subprocess.STDOUT)  # fmt: skip
    wait_for_port("127.0.0.1", port, 60, alive=lambda: proc.poll() is None)
    yield port
    proc.kill()
    proc.wait(10)


QUICK_TIMEOUT = 4


@pytest.mark.parametrize("ini", ["development.ini", "production.ini"])
def test_the_shipped_configs_bound_a_channel_at_30_s(ini):
    text = (ROOT / ini).read_text()
    assert "\nchannel_timeout = 30\n" in text and "\ncleanup_interval = 5\n" in text


def test_a_trickled_body_does_not_keep_a_channel_past_the_timeout(quick_web):
    """A client that sends a small body slower than one byte per `channel_timeout` (30 s in the shipped .ini
    files; QUICK_TIMEOUT here) loses its connection: waitress closes it within the timeout and one
    `cleanup_interval` (5 s), so trickling clients cannot keep the web process's channels (before: 120 s, and
    up to 240 s)."""
    port = quick_web
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(
        b"POST /api/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"
    )
    started = time.monotonic()
    conn.settimeout(60)
    try:
        closed = conn.recv(64) == b""  # the server hung up without an answer
    except ConnectionResetError:
        closed = True
    waited = time.monotonic() - started
    conn.close()
    assert closed and QUICK_TIMEOUT - 1 < waited < QUICK_TIMEOUT + 5 + 3, waited
    assert http("GET", f"http://127.0.0.1:{port}/healthz") == (200, {"status": "ok"})
