"""A real browser plays a processed video: headless Chromium, the vendored hls.js, cookies, CORS."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from .browser import Browser, chromium_path
from .conftest import PASSWORD

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def ready_video(pipeline, media_files) -> int:
    client = pipeline.client()
    video = client.upload(media_files["hd"], {"title": "Browser test"})
    assert pipeline.wait_for_status(client, video["id"], {"ready", "failed"}, 240)["status"] == "ready"
    return video["id"]


async def play(url: str, profile: Path, screenshot: Path, seconds: float = 30.0, until: float = 2.5) -> dict:
    """Open the player page; wait until playback passes `until` seconds (or a fatal error, or `seconds`)."""
    async with Browser(profile) as browser:
        await browser.goto(url)
        deadline = time.monotonic() + seconds
        result = {}
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            result = await browser.evaluate("window.result") or {}
            fatal = any(e.get("fatal") or "play" in e or "script" in e for e in result.get("errors", []))
            if result.get("currentTime", 0) > until or fatal:
                break
        await browser.screenshot(screenshot)
        return result


#: hls.js reports these as non-fatal media "errors" while its gap controller does its job: H.264 with B-frames in
#: MPEG-TS starts its first frame a few frames after 0, and hls.js jumps such sub-0.1 s holes by design; and
#: while a playlist grows, a fragment loaded again (a level switch at the live edge) may add nothing to what
#: is buffered, which hls.js counts and moves on from (overlaps in our output are ruled out by the tests that
#: decode every frame's timestamp)
GAP_NOTICES = {"bufferSeekOverHole", "bufferNudgeOnStall", "bufferAppendNoProgress"}


def problems(errors: list[dict]) -> list[dict]:
    """hls.js errors that mean something went wrong: fatal ones, network ones, and media ones beyond gap notices."""
    return [e for e in errors if e.get("fatal") or e.get("type") != "mediaError" or e.get("details") not in GAP_NOTICES]


def test_logged_in_browser_plays_the_master_playlist(pipeline, frontend_site, ready_video, tmp_path):
    query = urlencode(
        {"api": pipeline.api + "/", "id": ready_video, "email": "operator@example.com", "password": PASSWORD}
    )
    result = asyncio.run(play(f"{frontend_site}/player.html?{query}", tmp_path / "profile", tmp_path / "playing.png"))

    assert result["login"] == 200
    assert result["levels"] == 2  # 480p and 720p from the 720p source
    assert result["currentTime"] > 2.0, result
    assert problems(result["errors"]) == [], result
    assert (tmp_path / "playing.png").stat().st_size > 1000


def test_the_same_page_without_login_gets_401(pipeline, frontend_site, ready_video, tmp_path):
    query = urlencode({"api": pipeline.api + "/", "id": ready_video})
    result = asyncio.run(
        play(f"{frontend_site}/player.html?{query}", tmp_path / "profile", tmp_path / "denied.png", seconds=15)
    )

    assert result["currentTime"] == 0
    assert any(e["fatal"] and e["code"] == 401 for e in result["errors"]), result


def test_hls_js_plays_a_chunked_output_across_its_chunk_boundaries(pipeline, frontend_site, tmp_path):
    """An output made by stream_workers.chunks (chunks encoded apart, the audio once as its own group,
    assembled) plays in hls.js past a chunk boundary, with its audio track, without an error."""
    from stream_workers import chunks, hls
    from videoflix.media import ffmpeg_exe, probe

    from ..clips import make_clip

    source = make_clip(tmp_path / "film.mp4", seconds=16, size="1280x720", rate=30)
    info = probe(source)
    rungs = hls.plan(info)
    plan = chunks.plan_chunks(info.duration, chunk_seconds=8)
    with pipeline.engine.begin() as conn:
        video_id = conn.execute(sa.text(
            "INSERT INTO videos (title, status, source_path, duration) VALUES ('Chunked', 'ready', 'x', 16)"
            " RETURNING id")).scalar()  # fmt: skip
    output = pipeline.media / "videos" / str(video_id) / "hls-chunked"

    async def encode() -> None:
        for chunk in plan:
            await hls.run_ffmpeg(chunks.chunk_command(ffmpeg_exe(), source, output, info, rungs, chunk, "veryfast"))
        await hls.run_ffmpeg(chunks.audio_command(ffmpeg_exe(), source, output))

    asyncio.run(encode())
    renditions = chunks.assemble(output, info, rungs, plan)
    update = sa.text("UPDATE videos SET hls_path = :path, renditions = CAST(:made AS jsonb) WHERE id = :id")
    with pipeline.engine.begin() as conn:
        conn.execute(update, {"path": f"videos/{video_id}/hls-chunked", "made": json.dumps(renditions), "id": video_id})

    login = {"email": "operator@example.com", "password": PASSWORD}
    query = urlencode({"api": pipeline.api + "/", "id": video_id, **login})
    page = f"{frontend_site}/player.html?{query}"
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "chunked.png", seconds=40, until=9.5))

    assert result["currentTime"] > 9.5, result  # past the 8 s boundary between the chunks
    assert (result["levels"], result["audioTracks"]) == (2, 1)
    assert problems(result["errors"]) == [], result
