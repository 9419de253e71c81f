"""Progressive HLS through the real parts: a video is `playable` while it transcodes, its playlists grow as
EVENT playlists whose every listed segment is complete, the catalog shows it on request, a real browser
(hls.js) plays it before the job has ended, and the finished playlists are VOD."""

from __future__ import annotations

import asyncio
import time

import pytest

from ..support.browser import chromium_path, play, player_page, problems
from ..support.watching import fetch, wait_playable

pytestmark = pytest.mark.integration


def group_joins(pipeline) -> int:
    """How often the pipeline's workers have joined the consumer group (a rebalance makes every one rejoin)."""
    return sum(worker.output.count("Joined group") for worker in pipeline.workers)


def test_a_video_is_watchable_while_it_transcodes(pipeline, media_files):
    client = pipeline.client()
    joins = group_joins(pipeline)
    uploaded_at = time.monotonic()
    video_id = client.upload(media_files["minute"], {"title": "Watch me early"})["id"]

    status = wait_playable(pipeline, client, video_id)
    playable_after = time.monotonic() - uploaded_at
    assert status["progress"] < 100 and [r["name"] for r in status["renditions"]] == ["480p", "720p"]

    code, playlist = fetch(client, f"/video/{video_id}/480p/index.m3u8")
    text = playlist.decode()
    assert code == 200 and "#EXT-X-PLAYLIST-TYPE:EVENT" in text and "#EXT-X-ENDLIST" not in text
    listed = [line for line in text.splitlines() if line.endswith(".ts")]
    assert listed
    for name in listed:  # every segment a growing playlist names is there, whole
        code, segment = fetch(client, f"/video/{video_id}/480p/{name}")
        assert code == 200 and segment and len(segment) % 188 == 0
    code, master = fetch(client, f"/video/{video_id}/master.m3u8")
    assert code == 200 and b"#EXT-X-START:TIME-OFFSET=0" in master

    listed_ids = [v["id"] for v in client.call("GET", "/video/")]
    watchable = {v["id"]: v for v in client.call("GET", "/video/?include=playable")}
    assert video_id not in listed_ids and watchable[video_id]["status"] == "playable"

    final = pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 240)
    assert final["status"] == "ready"
    code, playlist = fetch(client, f"/video/{video_id}/480p/index.m3u8")
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist.decode() and playlist.decode().rstrip().endswith("#EXT-X-ENDLIST")
    assert playlist.decode().count(".ts") == 15  # 60 s in 4 s segments
    # a job of several Kafka session timeouts (6 s) kept its worker's partitions: heartbeats come from the
    # consumer's own thread, never blocked by FFmpeg; no rebalance, no second run
    assert group_joins(pipeline) == joins
    assert sum(w.output.count(f"video {video_id} transcoded") for w in pipeline.workers) == 1
    # shorter than PARTS_FROM_SECONDS: one pass, its audio muxed into every rendition (no audio group)
    code, master = fetch(client, f"/video/{video_id}/master.m3u8")
    assert code == 200 and b"TYPE=AUDIO" not in master and b"#EXT-X-STREAM-INF" in master
    print(f"\nplayable {playable_after:.1f} s after the upload began")


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_hls_js_plays_a_video_that_is_still_transcoding(pipeline, media_files, frontend_site, tmp_path):

    client = pipeline.client()
    video_id = client.upload(media_files["minute"], {"title": "Played early"})["id"]
    wait_playable(pipeline, client, video_id)

    page = player_page(pipeline, frontend_site, video_id)
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "early.png"))
    still = client.status(video_id)

    assert result["currentTime"] > 2.0 and problems(result["errors"]) == [], result
    assert still["status"] == "playable", "the job ended before playback could prove anything: use a longer clip"
    assert result["currentTime"] < 30  # it started at the beginning, not at the growing playlist's end
    pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 240)
