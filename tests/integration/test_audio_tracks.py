"""A film with several audio tracks through the real parts (upload, broker, worker, FFmpeg, the streaming
views, Chromium with hls.js): every track is in the master's audio group, the default one muxed into every
rendition (the existing frontend's playlists keep their sound), the others as audio-only renditions on the
same clock, each at the one loudness; hls.js lists them and switches mid-film without a problem."""

from __future__ import annotations

import asyncio
import re

import pytest

from stream_workers import loudness

from ..support.browser import chromium_path, play, player_page, problems
from ..support.clips import audio_gaps, audio_samples, heard, joined, stream_starts
from ..support.watching import fetch

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tracks_video(pipeline, media_files) -> int:
    client = pipeline.client()
    video = client.upload(media_files["tracks"], {"title": "Three languages"})
    assert pipeline.wait_for_status(client, video["id"], {"ready", "failed"}, 240)["status"] == "ready"
    return video["id"]


def test_every_track_is_an_audio_rendition_and_the_default_stays_muxed(pipeline, media_files, tracks_video):
    client = pipeline.client()
    code, master = fetch(client, f"/video/{tracks_video}/master.m3u8")
    media = re.findall(rb"^#EXT-X-MEDIA:TYPE=AUDIO,(.*)$", master, re.MULTILINE)
    assert code == 200 and media == [
        b'GROUP-ID="audio",NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2"',
        b'GROUP-ID="audio",NAME="Deutsch",LANGUAGE="de",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",'
        b'URI="audio/1/index.m3u8"',
        'GROUP-ID="audio",NAME="Français",LANGUAGE="fr",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="2",'
        'URI="audio/2/index.m3u8"'.encode(),
    ], master
    assert all(b'AUDIO="audio"' in line for line in master.splitlines() if line.startswith(b"#EXT-X-STREAM-INF"))
    assert b"av01" not in master  # several tracks: H.264 alone (ladder_verdict.wanted)

    output = pipeline.media / pipeline.scalar("SELECT hls_path FROM videos WHERE id = :id", id=tracks_video)
    source_samples = audio_samples(media_files["tracks"])
    muxed_start = stream_starts(output / "480p" / "000.ts")["audio"]
    for track in (1, 2):
        code, playlist = fetch(client, f"/video/{tracks_video}/audio/{track}/index.m3u8")
        segments = re.findall(rb"^(\d{3})\.ts$", playlist, re.MULTILINE)
        assert code == 200 and b"#EXT-X-PLAYLIST-TYPE:VOD" in playlist and len(segments) == 2, playlist
        code, body = fetch(client, f"/video/{tracks_video}/audio/{track}/{segments[0].decode()}.ts")
        assert code == 200 and body[:1] == b"G"  # MPEG-TS, through the app's checks
        alternate = output / "audio" / str(track) / "index.m3u8"
        assert abs(audio_samples(alternate) - source_samples) <= 2048  # the whole track
        assert audio_gaps(joined(alternate)) == []  # without a gap or an overlap
        # the same clock as the muxed sound (and so the picture): a switch keeps the sync
        assert stream_starts(output / "audio" / str(track) / "000.ts")["audio"] == muxed_start
        level = heard(alternate)  # 12 dB quieter than the default in the source, normalized on its own
        assert abs(level.integrated - loudness.TARGET_I) <= 1.0 and level.true_peak <= -1.0, level
    assert stream_starts(output / "480p" / "000.ts").keys() == {"video", "audio"}  # the frontend's playlists
    assert fetch(client, f"/video/{tracks_video}/audio/3/index.m3u8")[0] == 404  # no such track
    assert fetch(client, f"/video/{tracks_video}/audio/x/index.m3u8")[0] == 404


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_hls_js_lists_the_tracks_and_switches_to_another_mid_film(pipeline, frontend_site, tracks_video, tmp_path):

    page = player_page(pipeline, frontend_site, tracks_video) + "&audio=fr"
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "tracks.png", seconds=40, until=4.5))

    assert result["audioTracks"] == [
        {"lang": "en", "name": "English", "default": True},
        {"lang": "de", "name": "Deutsch", "default": False},
        {"lang": "fr", "name": "Français", "default": False},
    ], result
    assert result["audioChosen"]["id"] == 2 and [s["id"] for s in result["audioSwitches"]][-1] == 2, result
    # the French track's own segments were buffered, after the switch, and playback went on past them
    french = [f for f in result["audioFragments"] if re.search(r"/video/\d+/audio/2/\d{3}\.ts$", f["path"])]
    assert french and all(f["at"] >= result["audioChosen"]["at"] - 0.5 for f in french), result
    assert result["currentTime"] > 4.5 and problems(result["errors"]) == [], result
