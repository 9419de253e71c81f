"""Speech to timed words and captions (stream_workers.transcription, speech_model, caption_cues) on real
recorded speech (bench/corpus.py's recordings: a voice actor's prompts with the text she read), through our
FFmpeg and faster-whisper: the tests' model is the smallest (tiny.en), the default one (multilingual base)
only where the language is the point."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.speech import word_error_rate
from stream_workers import caption_cues, speech_model, transcription
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import probe

from ..support.clips import make_clip
from ..support.speech import speech_film


@pytest.fixture(scope="module")
def english(tmp_path_factory) -> tuple[Path, str]:
    return speech_film("en-short", tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="module")
def tiny() -> Path:
    return speech_model.model_folder("tiny.en", Path("/nonexistent"))  # (a packaged folder: nothing is joined)


def test_recorded_speech_becomes_its_words_timed_and_readable_cues(english, tiny):
    film, text = english
    info = probe(film)
    said = transcription.transcribe(transcription.sound(ffmpeg_exe(), film, info), tiny)
    heard = "".join(w.text for w in said.words)
    assert said.language == "en" and word_error_rate(text, heard) <= 0.15, heard
    starts = [w.start for w in said.words]
    assert starts == sorted(starts) and 0 <= starts[0] < 1.0 and said.words[-1].end <= info.duration + 0.1
    made = caption_cues.cues(said.words)
    assert 3 <= len(made) <= 8, made
    for cue in made:
        assert all(len(line) <= caption_cues.LINE for line in cue.text.split("\n")) and cue.text.count("\n") <= 1
    # the last sentence ("Use the 7 key for Q and the 9 key for Z.") is said from ~8 s to ~11.7 s
    last = made[-1]
    assert last.text.startswith("Use the") and 7_500 <= last.start_ms <= 8_600 and last.end_ms <= 12_300, last


def test_a_stretch_of_the_film_keeps_the_films_times(english, tiny):
    film, _ = english
    samples = transcription.sound(ffmpeg_exe(), film, probe(film), start=7.5, length=5.0)
    assert len(samples) == pytest.approx(5.0 * transcription.RATE, abs=transcription.RATE * 0.05)
    said = transcription.transcribe(samples, tiny, offset=7.5)
    assert said.words and all(w.start >= 7.5 and w.end <= 12.6 for w in said.words), said.words
    assert "".join(w.text for w in said.words).strip().startswith("Use the")


def test_silence_and_a_tone_give_no_words(tmp_path, tiny):
    """Whisper invents words over what is not speech ("Thank you."); the voice activity filter keeps them out."""
    quiet = make_clip(tmp_path / "quiet.mp4", seconds=8, extra=["-af", "volume=0"])
    tone = make_clip(tmp_path / "tone.mp4", seconds=8)  # (make_clip's sound: a sine tone)
    for film in (quiet, tone):
        said = transcription.transcribe(transcription.sound(ffmpeg_exe(), film, probe(film)), tiny)
        assert said.words == () and caption_cues.cues(said.words) == [], said


def test_the_default_model_detects_french_and_captions_it_in_french(tmp_path):
    film, text = speech_film("fr-short", tmp_path)
    folder = speech_model.model_folder(speech_model.DEFAULT, tmp_path / "models")
    said = transcription.transcribe(transcription.sound(ffmpeg_exe(), film, probe(film)), folder)
    heard = "".join(w.text for w in said.words)
    assert said.language == "fr" and word_error_rate(text, heard) <= 0.35, heard


def test_the_packaged_base_model_is_joined_once(tmp_path):
    folder = speech_model.model_folder("base", tmp_path)
    weights = folder / "model.bin"
    parts = [speech_model._package_folder(p, "data") for p in speech_model.PACKAGES["base"]]
    assert weights.stat().st_size == sum((p / f"model.bin.part{i + 1}").stat().st_size for i, p in enumerate(parts))
    made = weights.stat().st_mtime_ns
    os.utime(weights, ns=(made - 10**9, made - 10**9))
    assert speech_model.model_folder("base", tmp_path) == folder and weights.stat().st_mtime_ns == made - 10**9
    assert sorted(p.name for p in folder.iterdir()) == sorted(["model.bin", *speech_model.FILES])  # no partial left


def test_a_model_setting_that_names_nothing_here_is_refused_saying_what(tmp_path):
    with pytest.raises(speech_model.SpeechModelError, match="neither a packaged model"):
        speech_model.model_folder("large-v3", tmp_path)
    (tmp_path / "mine").mkdir()
    with pytest.raises(speech_model.SpeechModelError, match=r"model\.bin"):
        speech_model.model_folder(str(tmp_path / "mine"), tmp_path)
    tiny = speech_model.model_folder("tiny.en", tmp_path)
    assert speech_model.model_folder(str(tiny), tmp_path) == tiny  # an operator's own folder
