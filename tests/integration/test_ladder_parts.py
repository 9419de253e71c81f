"""A long film's AV1 ladder made in parts over both workers (stream_workers/ladder_parts.py), through the real
parts: a 68 s film with one sound track (the session's workers make films in parts from 66 s on, in 8 s
parts) is made ready in H.264 parts; then its AV1 parts are planned in PostgreSQL, spread over both workers
through the part topic, each joined with the film's own sound, and the last worker writes the ladder's
playlists (one init per part), scores it and lists it; the film is reported again with the verdict, and
hls.js plays the AV1 variants across the parts' joins."""

from __future__ import annotations

import asyncio
import itertools
import re

import pytest

from stream_workers import hls_output
from videoflix.core.media import ladder_for

from ..support.browser import chromium_path, play, player_page, problems
from ..support.clips import audio_gaps, audio_samples, video_timestamps
from ..support.watching import fetch

pytestmark = pytest.mark.integration

PARTS = 9  # 68 s in 8 s parts (the last 4 s)
#: what the status endpoint showed of the AV1 ladder's progress while its parts were made
MAKING: list[dict] = []


@pytest.fixture(scope="module")
def long_av1(pipeline, media_files) -> int:
    client = pipeline.client()
    video_id = client.upload(media_files["calm_film"], {"title": "Long and calm"})["id"]
    ready = pipeline.wait_for_status(client, video_id, {"ready", "failed"}, 240)
    assert ready["status"] == "ready", ready
    pipeline.wait_for_ladder(client, video_id, 300, MAKING)
    return video_id


def av1_parts(pipeline, video_id: int) -> list[list[int]]:
    """Per worker, the AV1 parts it made."""
    pattern = rf"video {video_id} av1 part (\d+) encoded"
    return [sorted(int(p) for p in re.findall(pattern, w.output)) for w in pipeline.workers]


def test_every_part_of_the_av1_ladder_is_made_once_over_both_workers(pipeline, long_av1):
    per_worker = av1_parts(pipeline, long_av1)
    assert all(per_worker), f"a worker made no AV1 part: {per_worker}"
    assert sorted(itertools.chain(*per_worker)) == list(range(PARTS))
    # the encode's plans are gone (its speech's plan, the captions' stage, may still run: it has its own tests)
    plans = "SELECT count(*) FROM video_parts WHERE video_id = :id AND ladder <> 'captions'"
    assert pipeline.scalar(plans, id=long_av1) == 0
    assert MAKING and all(0 <= seen["progress"] <= 100 for seen in MAKING), MAKING  # shown while it was made
    status = pipeline.client().status(long_av1)
    twins = [r["av1"] for r in status["renditions"]]
    assert twins and all(t["listed"] and t["quality"]["vmaf"] > 90 for t in twins), status["renditions"]
    assert status["av1_progress"] is None


def test_the_ladder_joins_its_parts_without_a_seam(pipeline, media_files, long_av1):
    client = pipeline.client()
    output = pipeline.media / pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=long_av1)
    rungs = ladder_for(360)
    hls_output.check_output(output, rungs, [f"av1/{rung.name}" for rung in rungs])
    code, master = fetch(client, f"/video/{long_av1}/master.m3u8")
    variants = re.findall(rb'^#EXT-X-STREAM-INF:.*CODECS="(\w{4})[^"]*".*\n(.+)$', master, re.MULTILINE)
    assert code == 200 and variants == [(b"avc1", b"480p/index.m3u8"), (b"av01", b"av1/480p/index.m3u8")], master
    code, playlist = fetch(client, f"/video/{long_av1}/av1/480p/index.m3u8")
    inits = re.findall(rb'^#EXT-X-MAP:URI="(init-\d{4}\.mp4)"$', playlist, re.MULTILINE)
    assert code == 200 and inits == [f"init-{part:04d}.mp4".encode() for part in range(PARTS)], playlist
    assert fetch(client, f"/video/{long_av1}/av1/480p/init-0003.mp4")[0] == 200
    assert not (output / "parts").exists()

    rendition = output / "av1" / "480p" / "index.m3u8"  # FFmpeg's HLS client, across the 8 joins
    frames = video_timestamps(rendition)
    assert len(frames) == len(video_timestamps(media_files["calm_film"])) == 68 * 30
    assert all(b - a == 1 for a, b in itertools.pairwise(frames))
    assert audio_samples(rendition) == audio_samples(output / "480p" / "index.m3u8")  # the film's one sound
    assert audio_gaps(rendition) == []


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_hls_js_plays_the_av1_parts_across_their_joins(pipeline, frontend_site, long_av1, tmp_path):
    page = player_page(pipeline, frontend_site, long_av1) + "&rate=4"
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "av1-parts.png", seconds=60, until=17.0))
    assert result["playing"]["codecs"].startswith("av01"), result  # Chromium decodes AV1: hls.js starts there
    assert result["currentTime"] > 17.0 and problems(result["errors"]) == [], result  # two joins, two inits
    assert result["mainFragments"] and all(f.endswith(".m4s") for f in result["mainFragments"]), result
