"""A real browser plays a processed video: headless Chromium, the vendored hls.js, cookies, CORS."""

from __future__ import annotations

import asyncio

import pytest
from urllib3 import encode_multipart_formdata

from ..support.browser import chromium_path, play, player_page, problems

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture(scope="module")
def ready_video(pipeline, media_files) -> int:
    client = pipeline.client()
    video = client.upload(media_files["hd"], {"title": "Browser test"})
    assert pipeline.wait_for_status(client, video["id"], {"ready", "failed"}, 240)["status"] == "ready"
    pipeline.wait_for_ladder(client, video["id"], 240)  # (listed: testsrc2 at 720p holds its quality in AV1)
    return video["id"]


def test_a_stall_is_a_problem_when_a_hole_is_ahead_not_when_data_ran_out():
    stall = {"type": "mediaError", "details": "bufferStalledError", "fatal": False, "code": None, "at": 17.0}
    at_the_edge = {**stall, "buffered": [[0.067, 17.02]]}
    before_a_hole = {**stall, "buffered": [[0.067, 17.02], [17.5, 24.0]]}
    assert problems([at_the_edge]) == []
    assert problems([before_a_hole]) == [before_a_hole]
    assert problems([stall]) == [stall]  # what was buffered unknown: a problem
    assert problems([{**at_the_edge, "fatal": True}]) != []


def test_logged_in_browser_plays_the_master_playlist(pipeline, frontend_site, ready_video, tmp_path):
    page = player_page(pipeline, frontend_site, ready_video)
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "playing.png"))

    assert result["login"] == 200
    assert result["levels"] == 4  # 480p and 720p from the 720p source, in H.264 and in AV1
    assert result["played"] > 2.0, result
    assert problems(result["errors"]) == [], result
    assert (tmp_path / "playing.png").stat().st_size > 1000


def add_subtitles(client, video_id: int, language: str, text: str) -> dict:
    """An operator's subtitle file, sent as the console's form sends it."""
    body, content_type = encode_multipart_formdata(
        {"language": language, "file": ("subs.vtt", text.encode(), "text/vtt")}
    )
    headers = {"Content-Type": content_type, "X-CSRFToken": client.csrf()}
    return client.call("POST", f"/video/{video_id}/subtitles/", body, headers)


@pytest.mark.parametrize("codec", ["av01", "avc1"])
def test_hls_js_lists_the_subtitle_tracks_and_shows_a_cue_at_its_time(
    pipeline, frontend_site, ready_video, tmp_path, codec
):
    """In either ladder: AV1 (fMP4) where the browser decodes it, H.264 (MPEG-TS) where it does not."""
    client = pipeline.client()
    add_subtitles(client, ready_video, "de", "WEBVTT\n\n00:00:03.000 --> 00:00:04.000\nDrei Sekunden\n")
    add_subtitles(client, ready_video, "en", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nOne second\n")
    try:
        page = player_page(pipeline, frontend_site, ready_video) + "&subtitles=de" + ("&noav1=1" * (codec == "avc1"))
        result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "subtitles.png", until=4.2))
    finally:
        for language in ("de", "en"):
            client.call("DELETE", f"/video/{ready_video}/subtitles/{language}/", None, {"X-CSRFToken": client.csrf()})

    assert result["subtitleTracks"] == [{"lang": "de", "name": "Deutsch"}, {"lang": "en", "name": "English"}]
    shown = [cue for cue in result["cues"] if cue["text"] == "Drei Sekunden"]
    assert shown, (result["textTracks"], result["errors"])
    # on the track at its time in either ladder: both start at 11.4 s, the MPEG-TS clock X-TIMESTAMP-MAP names,
    # the fMP4 in its fragments' decode times (as an edit list, which hls.js ignores, it put cues 11.4 s late)
    assert result["playing"]["codecs"].startswith(codec), result["playing"]
    assert result["levels"] == (4 if codec == "av01" else 2), result["levelList"]
    assert abs(shown[0]["start"] - 3.0) < 0.1 and abs(shown[0]["end"] - 4.0) < 0.1, shown
    assert all(2.9 <= cue["played"] <= 4.2 for cue in shown), shown  # and showing while the film is there
    assert all(cue["lang"] == "de" for cue in result["cues"])  # the chosen track only
    assert problems(result["errors"]) == [], result


def test_the_same_page_without_login_gets_401(pipeline, frontend_site, ready_video, tmp_path):
    page = player_page(pipeline, frontend_site, ready_video, login=False)
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "denied.png", seconds=15))

    assert result["currentTime"] == 0
    assert any(e["fatal"] and e["code"] == 401 for e in result["errors"]), result
