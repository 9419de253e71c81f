"""When a ready film asks for its captions (stream_workers.caption_jobs.request): with CAPTIONS on and sound
only, keyed by the video, in the language CAPTION_LANGUAGE names ("" to detect it)."""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

import pytest

from stream_workers import caption_jobs, settings, transcription
from stream_workers.app import app
from stream_workers.records import CaptionJob, VideoUploaded


@pytest.mark.parametrize(
    ("captions", "sound", "asked"), [(True, True, True), (False, True, False), (True, False, False)]
)
def test_a_ready_film_asks_for_captions_only_with_captions_on_and_sound(
    monkeypatch, captions_kept, captions, sound, asked
):
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, captions=captions, caption_language="fr"))
    event = VideoUploaded(video_id=5, source="videos/5/source.mp4", attempt=1, token="job")
    asyncio.run(caption_jobs.request(event, event.source, SimpleNamespace(has_audio=sound)))
    expected = [(b"5", CaptionJob(video_id=5, source="videos/5/source.mp4", language="fr", attempt=1, token="job"))]
    assert captions_kept.sent == (expected if asked else [])


@pytest.mark.parametrize(("value", "expected"), [("", ""), (" FR ", "fr"), ("deu", "deu")])
def test_the_caption_language_setting(value, expected):
    assert settings.caption_language(value) == expected


def test_the_caption_model_setting_names_a_model_this_machine_has(tmp_path):
    assert settings.caption_model(" ") == "base" and settings.caption_model("tiny.en") == "tiny.en"
    with pytest.raises(ValueError, match="neither a packaged model"):
        settings.caption_model(str(tmp_path))  # a folder without a model


@pytest.mark.parametrize("value", ["french", "f1", "en-US"])
def test_a_caption_language_that_is_not_a_code_is_refused_saying_which(value):
    with pytest.raises(ValueError, match="CAPTION_LANGUAGE"):
        settings.caption_language(value)


@pytest.mark.parametrize(("setting", "gpus", "device"), [("auto", 0, "cpu"), ("auto", 1, "cuda"), ("cpu", 1, "cpu")])
def test_the_speech_model_runs_on_a_gpu_where_there_is_one_unless_told(monkeypatch, setting, gpus, device):
    import ctranslate2

    monkeypatch.setattr(ctranslate2, "get_cuda_device_count", lambda: gpus)
    assert (
        transcription.device_of(settings.choice("CAPTION_DEVICE", f" {setting.upper()} ", transcription.DEVICES))
        == device
    )
    assert transcription.COMPUTE[device] in ctranslate2.get_supported_compute_types("cpu") | {"int8_float16"}


def test_a_caption_device_that_is_none_of_them_is_refused_saying_which():
    with pytest.raises(ValueError, match="CAPTION_DEVICE must be one of auto, cpu, cuda"):
        settings.choice("CAPTION_DEVICE", "gpu", transcription.DEVICES)


def test_the_speech_thread_yields_the_cpu_to_the_encoders():
    import os

    own = os.getpriority(os.PRIO_PROCESS, 0)
    seen = caption_jobs._speech.submit(lambda: os.getpriority(os.PRIO_PROCESS, 0)).result(timeout=10)
    assert seen == min(19, own + caption_jobs.NICENESS)
