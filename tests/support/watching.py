"""Following a film through the running pipeline (tests/support/stack.py's Pipeline) as a client does: its
status polled, its files fetched with the client's cookies, which worker encoded which part."""

from __future__ import annotations

import re
import subprocess
import time
import urllib.error

from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import parse_probe


def fetch(client, path: str) -> tuple[int, bytes]:
    """GET with the client's cookies: (status, body)."""
    try:
        with client.opener.open(client.api + path, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def wait_playable(pipeline, client, video_id: int) -> dict:
    deadline = time.monotonic() + 120
    while (status := client.status(video_id))["status"] != "playable":
        assert status["status"] in {"uploaded", "processing"}, status  # not ready before it was ever playable
        assert time.monotonic() < deadline, status
        time.sleep(0.2)
    return status


def watch(pipeline, client, video_id: int, timeout: float = 300) -> tuple[dict, list[dict]]:
    """Poll the status until the video is ready or failed: (final status, every status seen)."""
    seen = []
    deadline = time.monotonic() + timeout
    while (status := client.status(video_id))["status"] not in {"ready", "failed"}:
        seen.append(status)
        assert time.monotonic() < deadline, [w.output[-3000:] for w in pipeline.workers]
        time.sleep(0.3)
    return status, seen


def encoded_parts(pipeline, video_id: int) -> list[list[int]]:
    """Per worker, the parts it encoded (-1: the audio)."""
    return [
        sorted(int(p) for p in re.findall(rf"video {video_id} part (-?\d+) encoded", w.output))
        for w in pipeline.workers
    ]


def decode_url(url: str, cookie: str) -> tuple[int, object, float]:
    """Decode an HLS playlist over HTTP with FFmpeg's own client, sending the viewer's access cookie."""
    result = subprocess.run(
        [ffmpeg_exe(), "-hide_banner", "-nostdin", "-headers", f"Cookie: access_token={cookie}\r\n",
         "-i", url, "-f", "null", "-"],
        capture_output=True, timeout=120,
    )  # fmt: skip
    stderr = result.stderr.decode("utf-8", "replace")
    times = re.findall(r"time=(\d+):(\d+):(\d+\.\d+)", stderr)
    seconds = int(times[-1][0]) * 3600 + int(times[-1][1]) * 60 + float(times[-1][2]) if times else 0.0
    return result.returncode, parse_probe(stderr), seconds
