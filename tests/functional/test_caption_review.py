"""Operators review and correct automatic captions (issue 36) through the API and the real PostgreSQL and
store: a track's cues as JSON, an operator's corrected cues making it `origin: operator` (and the transcript
following), bad corrections refused naming the field, and a ready film's speech captioned again in another
language or with another model (its automatic track and transcript gone at once, the job queued in the
outbox in the same transaction)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from videoflix.core import events
from videoflix.core.models import OutboxEvent, VideoPart, VideoStatus
from videoflix.schemas.subtitles import PACKAGED_MODELS


@pytest.fixture
def watcher(other_viewer):
    return other_viewer


def test_an_operator_reads_a_tracks_cues_and_corrects_them(operator, watcher, add_video, spoken, media_root):
    film = add_video()
    spoken(film)
    got = watcher.get(f"/api/video/{film}/subtitles/en/", status=200).json
    assert (got["origin"], got["label"]) == ("auto", "English (automatic)")
    assert got["cues"][1] == {"start": 2.5, "end": 4.8, "text": "The keeper's café opens"}

    cues = got["cues"]
    cues[1]["text"] = "The keeper's <i>café</i> opens <script>x</script>"
    corrected = operator.put(f"/api/video/{film}/subtitles/en/", {"cues": cues}, status=200).json
    assert (corrected["origin"], corrected["label"], corrected["cues"]) == ("operator", "English", 4)
    assert watcher.get(f"/api/video/{film}/subtitles/en/", status=200).json["cues"][1]["text"] == (
        "The keeper's <i>café</i> opens x"
    )  # WebVTT's own markup kept, any other tag dropped (its text kept)
    said = watcher.get(f"/api/video/{film}/transcript/", status=200).json
    assert said["origin"] == "operator" and "The keeper's café opens x at nine." in said["paragraphs"][0]["text"]
    assert len(list((media_root / f"videos/{film}/subtitles").iterdir())) == 1  # the automatic file is gone


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"cues": []}, "cues"),
        ({"cues": [{"start": 2, "end": 1, "text": "backwards"}]}, "cues.0"),
        ({"cues": [{"start": 0, "end": 1, "text": "   "}]}, "cues.0.text"),
        ({"cues": [{"start": "0", "end": 1, "text": "a"}]}, "cues.0.start"),
        ({"cues": [{"start": 0, "end": 1, "text": "x" * 501}]}, "cues.0.text"),
        ({"cues": "WEBVTT"}, "cues"),
    ],
)
def test_a_bad_correction_is_400_naming_the_field_and_changes_nothing(operator, add_video, spoken, body, field):
    film = add_video()
    spoken(film)
    answer = operator.put(f"/api/video/{film}/subtitles/en/", body, status=400).json
    assert field in answer["errors"], answer
    assert operator.get(f"/api/video/{film}/subtitles/en/", status=200).json["origin"] == "auto"


def test_only_staff_correct_and_only_a_track_that_exists(operator, watcher, add_video, spoken):
    film = add_video()
    spoken(film)
    cues = [{"start": 0, "end": 1, "text": "Hi"}]
    watcher.put(f"/api/video/{film}/subtitles/en/", {"cues": cues}, status=403)
    operator.put(f"/api/video/{film}/subtitles/de/", {"cues": cues}, status=404)


def test_a_films_speech_is_captioned_again_in_another_language(operator, add_video, spoken, dbsession, media_root):
    film = add_video()
    spoken(film)
    dbsession.add(VideoPart(video_id=film, ladder=VideoPart.CAPTIONS, part=0, output="x", start=0, length=2))
    dbsession.commit()
    answer = operator.post(f"/api/video/{film}/captions/", {"language": "fr", "model": "base"}, status=202).json
    assert answer == {"queued": True, "language": "fr", "model": "base"}
    assert operator.get(f"/api/video/{film}/subtitles/", status=200).json == []  # the automatic track went
    operator.get(f"/api/video/{film}/transcript/", status=404)  # and the transcript it gave
    assert list((media_root / f"videos/{film}/subtitles").iterdir()) == []
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(VideoPart).where(VideoPart.video_id == film)) == 0
    [queued] = dbsession.scalars(sa.select(OutboxEvent).where(OutboxEvent.topic == events.CAPTIONS)).all()
    assert (queued.key, queued.payload) == (str(film), events.captions(film, "x", "fr", "base"))


def test_captioning_again_keeps_an_operators_track_and_refuses_what_is_not_ready(operator, watcher, add_video, spoken):
    film = add_video()
    spoken(film)
    operator.put(f"/api/video/{film}/subtitles/en/", {"cues": [{"start": 0, "end": 1, "text": "Mine"}]}, status=200)
    operator.post(f"/api/video/{film}/captions/", {}, status=202)
    assert [t["origin"] for t in operator.get(f"/api/video/{film}/subtitles/", status=200).json] == ["operator"]
    assert operator.get(f"/api/video/{film}/transcript/", status=200).json["origin"] == "operator"

    growing = add_video(status=VideoStatus.PROCESSING)
    assert "ready" in operator.post(f"/api/video/{growing}/captions/", {}, status=409).json["detail"]
    assert "model" in operator.post(f"/api/video/{film}/captions/", {"model": "/etc"}, status=400).json["errors"]
    assert (
        "language" in operator.post(f"/api/video/{film}/captions/", {"language": "French"}, status=400).json["errors"]
    )
    watcher.post(f"/api/video/{film}/captions/", {}, status=403)


def test_the_models_an_operator_may_choose_are_those_the_workers_carry():
    from stream_workers import speech_model

    assert set(PACKAGED_MODELS) == set(speech_model.PACKAGES)
