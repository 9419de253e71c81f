"""The transcript (issue 36) through the API and the real PostgreSQL: a film's speech as timed paragraphs for
its viewers, the times where words are said inside it, the catalog's search reaching spoken words, and the
transcript following its track when an operator replaces (corrects) or removes it."""

from __future__ import annotations

import pytest

from videoflix.core.models import VideoStatus

from ..support.frontend import Frontend


def add(operator: Frontend, film: int, language: str, vtt: str, name: str):
    """An operator's track (as the console sends it)."""
    files = [("file", name, vtt.encode())]
    return operator.upload(f"/api/video/{film}/subtitles/", {"language": language}, files, status=201)


@pytest.fixture
def watcher(other_viewer):
    return other_viewer


def test_viewers_read_what_is_said_in_timed_paragraphs(watcher, add_video, spoken):
    film = add_video()
    spoken(film)
    got = watcher.get(f"/api/video/{film}/transcript/", status=200).json
    assert (got["language"], got["origin"], got["words"]) == ("en", "auto", 17)
    first, second = got["paragraphs"]  # the 3.5 s pause before "Mind the stairs" starts a paragraph
    assert (first["start"], first["end"], second["start"]) == (0.5, 6.0, 9.5)
    assert first["text"] == "Welcome aboard the lighthouse tour. The keeper's café opens at nine."
    assert first["lines"][1] == {"start": 2.5, "end": 4.8, "text": "The keeper's café opens"}


def test_a_search_inside_a_film_gives_the_times_where_the_words_are_said(watcher, add_video, spoken):
    film = add_video()
    spoken(film)

    def places(q: str) -> list[float]:
        got = watcher.get(f"/api/video/{film}/transcript/", params={"q": q}, status=200).json
        assert got["q"] == q
        return [p["start"] for p in got["places"]]

    assert places("lighthouse") == [0.5]
    assert places("LIGHT") == [0.5]  # every word by its start, as the catalog's search
    assert places("cafe") == [2.5] and places("CAFÉ keeper") == [2.5]  # accents ignored, all words needed
    assert places("opens nine") == [2.5]  # said across two cues: found once, where it begins
    assert places("stairs") == [9.5] and places("the") == [0.5, 2.5, 9.5]
    assert places("nine mind") == []  # a paragraph apart (3.5 s of silence between): not one place
    assert places("elephant") == []
    watcher.get(f"/api/video/{film}/transcript/", params={"q": "&&"}, status=400)  # no word


def test_the_catalog_search_reaches_spoken_words_after_the_title(watcher, add_video, spoken):
    titled = add_video(title="Lighthouse keepers", minutes_ago=5)
    talked = add_video(title="A tour", description="By the sea")
    assert [v["id"] for v in watcher.get("/api/video/", params={"q": "lighthouse"}, status=200).json] == [titled]
    spoken(talked)  # the catalog's cached page must not hide the film that is findable now
    found = watcher.get("/api/video/", params={"q": "lighthouse"}, status=200).json
    assert [v["id"] for v in found] == [titled, talked]  # the title's match ranks first
    assert [v["id"] for v in watcher.get("/api/video/", params={"q": "steep stairs"}, status=200).json] == [talked]


def test_an_operators_track_corrects_the_transcript_and_removing_it_removes_both(operator, watcher, add_video, spoken):
    film = add_video()
    spoken(film)
    add(operator, film, "de", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nWillkommen\n", name="de.vtt")
    assert watcher.get(f"/api/video/{film}/transcript/", status=200).json["origin"] == "auto"  # another language

    corrected = "WEBVTT\n\n00:00:00.500 --> 00:00:02.400\nWelcome aboard the <i>Lighthouse</i> tour.\n"
    assert add(operator, film, "en", corrected, name="en.vtt").json["origin"] == "upload"
    got = watcher.get(f"/api/video/{film}/transcript/", status=200).json
    assert (got["origin"], [p["text"] for p in got["paragraphs"]]) == (
        "upload",
        ["Welcome aboard the Lighthouse tour."],
    )
    assert watcher.get("/api/video/", params={"q": "stairs"}, status=200).json == []  # search follows it

    operator.delete(f"/api/video/{film}/subtitles/en/", status=204)
    watcher.get(f"/api/video/{film}/transcript/", status=404)
    assert watcher.get("/api/video/", params={"q": "lighthouse tour"}, status=200).json == []


def test_who_may_read_a_transcript(operator, watcher, frontend, add_video, spoken):
    growing = add_video(status=VideoStatus.PROCESSING)
    spoken(growing)
    silent = add_video()
    watcher.get(f"/api/video/{growing}/transcript/", status=404)  # not watchable yet: as the catalog shows it
    assert operator.get(f"/api/video/{growing}/transcript/", status=200).json["words"] == 17  # staff: any
    assert "no transcript" in watcher.get(f"/api/video/{silent}/transcript/", status=404).json["detail"].lower()
    watcher.get("/api/video/999999/transcript/", status=404)
    frontend.app.reset()  # no cookies: nobody signed in
    frontend.get(f"/api/video/{silent}/transcript/", status=401)
