"""Automatic captions through the real parts: a film of real recorded speech is uploaded over HTTP, encoded
and reported ready by the workers, then its speech is transcribed on `videos.captions` (tiny.en) and served
as a subtitle track labelled automatic: in the API's list, the master playlist and as WebVTT; its transcript
is read and searched through the API, and the catalog's search finds the film by its words."""

from __future__ import annotations

import asyncio
import itertools
import re
import time

import pytest

from bench.speech import repeated, word_error_rate
from stream_workers.caption_cues import LINE

from ..support.browser import Browser, chromium_path, open_console, play, player_page, until
from ..support.clips import make_subtitled
from ..support.speech import speech_film

pytestmark = pytest.mark.integration


def spoken_film(tmp_path):
    return speech_film("en-short", tmp_path)


def tracks_when(client, video_id: int, done, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while not done(tracks := client.call("GET", f"/video/{video_id}/subtitles/")) and time.monotonic() < deadline:
        time.sleep(0.5)
    return tracks


@pytest.fixture(scope="module")
def spoken_video(pipeline, tmp_path_factory) -> int:
    film, _ = spoken_film(tmp_path_factory.mktemp("spoken"))
    client = pipeline.client()
    video_id = client.upload(film, {"title": "Spoken"})["id"]
    assert pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 120)["status"] == "ready"
    return video_id


def test_a_films_speech_becomes_its_automatic_captions(pipeline, spoken_video):
    client, video_id = pipeline.client(), spoken_video
    tracks = tracks_when(client, video_id, bool, 120)
    assert [(t["language"], t["label"], t["origin"]) for t in tracks] == [("en", "English (automatic)", "auto")]
    with client.opener.open(f"{pipeline.api}/video/{video_id}/master.m3u8") as response:
        master = response.read().decode()
    assert "TYPE=SUBTITLES" in master and 'NAME="English (automatic)"' in master and 'LANGUAGE="en"' in master
    with client.opener.open(tracks[0]["url"]) as response:
        vtt = response.read().decode()
    assert "Welcome to the directory." in vtt and "X-TIMESTAMP-MAP=MPEGTS:" in vtt
    blocks = [b for b in vtt.split("\n\n") if "-->" in b]
    assert len(blocks) == tracks[0]["cues"] >= 3
    for block in blocks:
        shown = block.split("\n")[1:]
        assert 1 <= len(shown) <= 2 and all(len(line) <= LINE for line in shown), block
    assert client.status(video_id)["status"] == "ready"  # the film was never held back or changed


def test_its_transcript_and_spoken_words_are_found_by_search(pipeline, spoken_video):
    client, video_id = pipeline.client(), spoken_video
    assert tracks_when(client, video_id, bool, 120), "no automatic track"
    said = client.call("GET", f"/video/{video_id}/transcript/")
    assert (said["language"], said["origin"]) == ("en", "auto") and said["words"] >= 5
    assert said["paragraphs"][0]["text"].startswith("Welcome to the directory.")
    assert said["paragraphs"][0]["start"] < 0.5
    places = client.call("GET", f"/video/{video_id}/transcript/?q=directory")["places"]
    assert [p["text"] for p in places][:1] == [said["paragraphs"][0]["lines"][0]["text"]]
    assert places[0]["start"] == said["paragraphs"][0]["start"]  # where a player seeks to
    # the title is "Spoken": the catalog finds the film by what is said in it
    assert video_id in [v["id"] for v in client.call("GET", "/video/?q=directory")]


def test_a_long_films_speech_is_heard_in_parts_by_both_workers_and_joined(pipeline, tmp_path):
    """53 s of speech (a prompt said four times, with pauses): heard in parts of ~10 s cut at its pauses,
    spread over both workers; the joined words are the recording's, none doubled or lost at a cut. (Under
    PARTS_FROM_SECONDS: its encode is one pass, so only the captions are in parts here.)"""
    short, said_once = speech_film("en-short", tmp_path)
    film, text = repeated(short, said_once, 4, tmp_path / "long-talk.mp4")
    client = pipeline.client()
    video_id = client.upload(film, {"title": "A long talk"})["id"]
    final = pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 240)
    assert final["status"] == "ready", final["error"]
    tracks = tracks_when(client, video_id, bool, 240)
    assert [(t["language"], t["origin"]) for t in tracks] == [("en", "auto")], [
        w.output[-3000:] for w in pipeline.workers
    ]
    heard = [re.findall(rf"video {video_id} captions part (\d+) heard", w.output) for w in pipeline.workers]
    parts = sorted(int(p) for p in itertools.chain(*heard))
    assert all(heard) and parts == list(range(len(parts))) and len(parts) >= 4, heard  # each once, on both
    said = client.call("GET", f"/video/{video_id}/transcript/")
    joined = " ".join(p["text"] for p in said["paragraphs"])
    assert word_error_rate(text, joined) <= 0.15, joined
    words = joined.lower().split()
    assert all(words[i : i + 3] != words[i + 3 : i + 6] for i in range(len(words) - 5))  # no phrase said twice
    assert pipeline.scalar("SELECT count(*) FROM video_parts WHERE video_id = :id", id=video_id) == 0
    assert client.status(video_id)["captions"] is None  # the stage is over


def test_speech_in_a_language_the_film_has_a_track_for_adds_none(pipeline, tmp_path, media_files):
    """English speech in a film that carries an English subtitle stream: the source's track stays, alone."""
    film, _ = spoken_film(tmp_path)
    client = pipeline.client()
    source = make_subtitled(tmp_path / "spoken-subtitled.mkv", film)
    video_id = client.upload(source, {"title": "Spoken, subtitled"})["id"]
    assert pipeline.wait_for_status(client, video_id, {"failed", "ready"}, 120)["status"] == "ready"
    deadline = time.monotonic() + 120
    while not any(f"video {video_id}: automatic captions" in w.output for w in pipeline.workers):
        assert time.monotonic() < deadline, "no worker captioned the film"
        time.sleep(0.5)
    tracks = client.call("GET", f"/video/{video_id}/subtitles/")
    assert ("en", "source") in [(t["language"], t["origin"]) for t in tracks]
    assert "auto" not in [t["origin"] for t in tracks]
    assert pipeline.scalar("SELECT count(*) FROM subtitles WHERE video_id = :id", id=video_id) == len(tracks)
    # what is said is still what search finds (until an operator's English track gives the transcript its text)
    said = client.call("GET", f"/video/{video_id}/transcript/")
    assert (said["language"], said["origin"]) == ("en", "auto") and "directory" in said["paragraphs"][0]["text"]


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_hls_js_offers_the_automatic_track_and_shows_its_first_words_as_they_are_said(
    pipeline, frontend_site, spoken_video, tmp_path
):
    client = pipeline.client()
    assert tracks_when(client, spoken_video, bool, 120), "no automatic track"
    page = player_page(pipeline, frontend_site, spoken_video) + "&subtitles=en"
    result = asyncio.run(play(page, tmp_path / "profile", tmp_path / "captions.png", until=2.5))
    assert result["subtitleTracks"] == [{"lang": "en", "name": "English (automatic)"}], result["subtitleTracks"]
    shown = [cue for cue in result["cues"] if cue["text"] == "Welcome to the directory."]
    assert shown and shown[0]["start"] < 0.5 and 1.0 <= shown[0]["end"] <= 2.5, (shown, result["errors"])


@pytest.mark.skipif(chromium_path() is None, reason="Chromium is not installed (apt-get install chromium)")
def test_an_operator_captions_again_finds_the_words_and_corrects_them_in_the_console(pipeline, spoken_video, tmp_path):
    """In Chromium, the console's Subtitles dialog: the film captioned again with tiny.en (its automatic track
    gone at once, back when the workers are done), then its track reviewed: words found in the speech
    (the transcript's places), that cue corrected and saved: the track becomes the operator's, and the
    transcript says the corrected words. (Last in this module: the other tests read the automatic track.)"""
    client = pipeline.client()
    assert tracks_when(client, spoken_video, bool, 120), "no automatic track"
    row = "document.querySelector('#subtitle-rows tr[data-language=\"en\"]')"

    async def journey() -> dict:
        seen: dict = {}
        async with Browser(tmp_path / "profile") as browser:
            await open_console(browser, pipeline.api)
            video_row = f"document.querySelector('tr[data-video-id=\"{spoken_video}\"]')"
            await until(browser, f"{video_row} !== null", 30, "the video is listed")
            await browser.evaluate(f"{video_row}.querySelector('button[data-action=subtitles]').click()")
            await until(browser, f"{row} !== null", 15, "the automatic track is listed")
            # caption again, with tiny.en: the automatic track goes, and comes back when the workers are done
            await browser.evaluate(f"{row}.querySelector('button[data-action=review-subtitles]').click()")
            await until(browser, "document.querySelectorAll('#cue-rows .cue').length", 15, "the cues show")
            await browser.evaluate("""(() => { const form = document.getElementById('again-form');
                form.elements.model.value = 'tiny.en'; form.requestSubmit(); })()""")
            said = "document.getElementById('message').textContent"
            seen["again"] = await until(browser, f"(t => /captioned again/.test(t) && t)({said})", 15,
                                        "the console says so")  # fmt: skip
            seen["gone"] = await browser.evaluate(f"{row} === null")
            for _ in range(90):  # the track comes back (the list reopened as an operator would)
                await browser.evaluate("document.getElementById('subtitles-close').click()")
                await browser.evaluate(f"{video_row}.querySelector('button[data-action=subtitles]').click()")
                await asyncio.sleep(1)
                if await browser.evaluate(f"{row} !== null"):
                    break
            seen["back"] = await browser.evaluate(f"{row}?.cells[2].textContent")
            # review: find the words, correct the cue they are said in, save
            await browser.evaluate(f"{row}.querySelector('button[data-action=review-subtitles]').click()")
            await until(browser, "document.querySelectorAll('#cue-rows .cue').length", 15, "the cues show")
            await browser.evaluate("""(() => { const form = document.getElementById('find-form');
                form.elements.q.value = 'directory'; form.requestSubmit(); })()""")
            seen["found"] = await until(browser, "document.querySelector('#found-places li')?.textContent", 15,
                                        "the place shows")  # fmt: skip
            seen["focused"] = await browser.evaluate("document.activeElement.value")
            await browser.evaluate("""(() => { document.activeElement.value = 'Welcome to the Directory, corrected.';
                document.getElementById('review-form').requestSubmit(); })()""")
            seen["saved"] = await until(browser, f"/Saved the corrected/.test({said})", 15, "it saves")
            await browser.screenshot(tmp_path / "reviewed.png")
        return seen

    seen = asyncio.run(journey())
    assert seen["gone"] and seen["back"] == "automatic (speech)", seen
    assert seen["found"].startswith("0:0") and "directory" in seen["found"].lower(), seen
    assert "directory" in seen["focused"].lower(), seen  # the cue said there, ready to correct
    [track] = client.call("GET", f"/video/{spoken_video}/subtitles/")
    assert (track["origin"], track["label"]) == ("operator", "English")
    said = client.call("GET", f"/video/{spoken_video}/transcript/")
    assert said["origin"] == "operator" and "Welcome to the Directory, corrected." in said["paragraphs"][0]["text"]
