"""Transcoding in parts through the real parts: a film long enough (72 s; the session's workers make films in parts from
66 s on, in 8 s parts) is planned by one worker, its parts and its audio are encoded by both workers through
the `videos.parts` topic, it is playable while they work, the last worker to finish assembles it, and the
output decodes end to end with every source frame once and the whole audio without a gap, through the master
and through a rendition's playlist (the existing frontend's way), in FFmpeg's HLS client and in hls.js."""

from __future__ import annotations

import asyncio
import itertools
import re
import time

import pytest

from stream_workers import hls_output, loudness
from videoflix.core.media import ladder_for

from ..support.browser import chromium_path, play, player_page, problems
from ..support.clips import audio_gaps, audio_samples, heard, joined, stream_starts, video_timestamps
from ..support.watching import encoded_parts, fetch, wait_playable, watch

pytestmark = pytest.mark.integration

PARTS = 9  # 72 s in 8 s parts


def test_a_long_film_is_encoded_by_both_workers_and_joins_without_a_seam(pipeline, media_files):
    client = pipeline.client()
    started = time.monotonic()
    video_id = client.upload(media_files["film"], {"title": "Spread out"})["id"]
    final, seen = watch(pipeline, client, video_id)
    took = time.monotonic() - started

    assert final["status"] == "ready", (final["error"], [w.output[-4000:] for w in pipeline.workers])
    # the assembling worker scored each rendition's sampled stretches (fetched from the store) with VMAF
    assert [r["name"] for r in final["renditions"] if r.get("quality", {}).get("vmaf", 0) > 80] == ["480p", "720p"]
    playable = [s for s in seen if s["status"] == "playable"]
    assert playable, "the film was never playable before it was ready"
    assert all(s["progress"] < 100 for s in playable)
    detail = [s for s in seen if s.get("rendition_progress")]
    assert detail and set(detail[-1]["rendition_progress"]) == {"480p", "720p", "audio"}
    assert any(s["eta_seconds"] is not None and s["speed"] for s in detail)

    per_worker = encoded_parts(pipeline, video_id)
    assert all(per_worker), f"a worker encoded no part: {per_worker}"  # the film was spread over both
    assert sorted(itertools.chain(*per_worker)) == [-1, *range(PARTS)]  # every part once, the audio once
    print(f"\nready {took:.1f} s after the upload began; parts per worker: {per_worker}")
    # the encode's plans are gone (its speech's plan, the captions' stage, may still run: it has its own tests)
    plans = "SELECT count(*) FROM video_parts WHERE video_id = :id AND ladder <> 'captions'"
    assert pipeline.scalar(plans, id=video_id) == 0

    output = pipeline.media / pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=video_id)
    hls_output.check_output(output, ladder_for(720), ["audio/1"])
    assert sorted(p.name for p in output.iterdir()) == [
        "480p", "720p", "audio", "master.m3u8", "storyboard", "thumbnail.jpg"
    ]  # fmt: skip
    assert not list(output.glob("**/*.new"))
    # every part made its storyboard sheet from its own decode; the track covers the film on one grid
    assert sorted(p.name for p in (output / "storyboard").iterdir()) == sorted(
        ["plan.json", *(f"{part * 1000}.jpg" for part in range(PARTS))]
    )
    code, track = fetch(client, f"/video/{video_id}/storyboard.vtt")
    starts = re.findall(rb"^(\d\d):(\d\d):(\d\d)\.(\d{3}) -->", track, re.MULTILINE)
    assert code == 200 and [int(m) * 60 + int(s) for _, m, s, _ in starts] == list(range(0, 72, 2))
    code, master = fetch(client, f"/video/{video_id}/master.m3u8")
    assert code == 200 and b"EXT-X-START" not in master
    assert master.count(b'CODECS="avc1.640028,mp4a.40.2"') == 2  # the default sound muxed in
    # the second track an alternate rendition beside it, made by the audio job from the whole film
    media = re.findall(rb"^#EXT-X-MEDIA:TYPE=AUDIO,(.*)$", master, re.MULTILINE)
    assert (
        media
        == [
            b'GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2"',
            b'GROUP-ID="audio",NAME="Deutsch",LANGUAGE="de",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",'
            b'URI="audio/1/index.m3u8"',
        ]
        and master.count(b'AUDIO="audio"') == 2
    ), master
    alternate = output / "audio" / "1" / "index.m3u8"
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in alternate.read_text()
    assert audio_gaps(joined(alternate)) == []  # no gap, no overlap
    assert abs(audio_samples(alternate) - audio_samples(media_files["film"])) <= 2048
    first = stream_starts(output / "audio" / "1" / "000.ts")
    assert first["audio"] == stream_starts(output / "480p" / "000.ts")["audio"]  # one clock
    level = heard(alternate)  # measured on its own: 12 dB quieter in the source, as loud as the other here
    assert abs(level.integrated - loudness.TARGET_I) <= 1.0 and level.true_peak <= -1.0, level
    for name in ("480p", "720p"):
        playlist = (output / name / "index.m3u8").read_text()
        durations = [float(x) for x in re.findall(r"#EXTINF:([\d.]+)", playlist)]
        assert durations == pytest.approx([4.0] * 18, abs=0.01) and "#EXT-X-PLAYLIST-TYPE:VOD" in playlist

    source = media_files["film"]
    for entry in (output / "master.m3u8", output / "720p" / "index.m3u8"):  # FFmpeg's HLS client
        frames = video_timestamps(entry)
        assert len(frames) == len(video_timestamps(source)) == 72 * 30
        assert all(b - a == 1 for a, b in itertools.pairwise(frames))  # no jump or overlap at the 8 part boundaries
        assert abs(audio_samples(entry) - audio_samples(source)) <= 2048
        assert audio_gaps(entry) == []  # no gap, no overlap
    level = heard(output / "720p" / "index.m3u8")  # the audio job measured the whole film, then normalized it
    assert abs(level.integrated - loudness.TARGET_I) <= 1.0 and level.true_peak <= -1.0, level


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_hls_js_plays_a_film_in_parts_across_part_boundaries(pipeline, media_files, frontend_site, tmp_path):

    client = pipeline.client()
    video_id = client.upload(media_files["film"], {"title": "Spread and played"})["id"]
    wait_playable(pipeline, client, video_id)

    page = player_page(pipeline, frontend_site, video_id)
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "in parts.png", seconds=60, until=17.0))
    assert result["currentTime"] > 17.0 and problems(result["errors"]) == [], result  # two part boundaries
    assert result["tracks"] == ["audio", "video"], result
    final, _ = watch(pipeline, client, video_id)
    assert final["status"] == "ready"

    # the assembled film end to end (4x speed), the existing frontend's way (a rendition's playlist): hls.js
    # reaches its end with sound and no error or stall, and the length it reads is the source's within a frame
    # per part
    page += "&path=480p/index.m3u8&rate=4"
    whole = asyncio.run(play(page, tmp_path / "vod", tmp_path / "in parts-end.png", seconds=120, until=1e9))
    assert whole["ended"] and problems(whole["errors"]) == [] and whole["tracks"] == ["audio", "video"], whole
    assert whole["duration"] == pytest.approx(72.0, abs=PARTS / 30), whole
