"""Speech to timed words: a stretch of a film's default sound through Whisper (faster-whisper on CTranslate2,
CPU, int8), the words with their times in the film and the language spoken, for its captions
(`caption_cues`).

- The sound is decoded by our FFmpeg (the one input helper: the source and nothing else), as 16 kHz mono
  samples handed to the model in memory (faster-whisper's own decoder, PyAV, never reads a source).
- Silence and music are skipped before the model hears them (faster-whisper's Silero voice activity filter):
  Whisper invents words over them, and no cue should sit over a silence.
- The language is detected (per film, from its speech) unless the operator names it; `condition_on_previous_text`
  is off: fed its own last words, Whisper falls into loops on long films (the loops that remain are removed by
  `caption_cues.without_loops`).
- Blocking (seconds to minutes of CPU): run in a thread off the event loop, a stretch at a time so that a
  long film's parts are transcribed by any worker and progress is reported as each phrase is done.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy

from videoflix.core.containers import ObjectURL, input_options
from videoflix.core.media import MediaInfo

from . import ffmpeg_run
from .caption_cues import Word

#: the samples Whisper hears: 16 kHz, mono, 32-bit float
RATE = 16_000
#: CPU threads of one transcription (the machines have two cores), and how the weights are computed on each
#: device (8-bit weights; on a GPU, 16-bit activations)
THREADS = 2
COMPUTE = {"cpu": "int8", "cuda": "int8_float16"}
#: CAPTION_DEVICE's values: "auto" takes a CUDA GPU where CTranslate2 sees one, else the CPU
DEVICES = ("auto", "cpu", "cuda")

_models: dict[tuple[str, str], object] = {}
_loading = threading.Lock()


@dataclass(frozen=True)
class Transcript:
    """What was said in a stretch of the film: its `language` (ISO 639-1, as Whisper detected it or was
    told, with the detection's probability), its words (times in the film) and the seconds of sound heard."""

    language: str
    probability: float
    words: tuple[Word, ...]
    seconds: float


def sound_command(
    ffmpeg: str, source: Path | ObjectURL, info: MediaInfo, start: float | None, length: float | None, out: Path
) -> list[str]:
    """FFmpeg decoding the film's default sound (of the stretch) as Whisper hears it into `out` (raw samples)."""
    return [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error",
            *input_options(source, info.container, start=start, length=length),
            "-map", f"0:a:{info.default_audio}", "-vn", "-sn", "-dn", "-ac", "1", "-ar", str(RATE),
            "-f", "f32le", "-y", str(out)]  # fmt: skip


def sound(
    ffmpeg: str,
    source: Path | ObjectURL,
    info: MediaInfo,
    start: float | None = None,
    length: float | None = None,
    timeout: float = 3600.0,
    workdir: Path | None = None,
) -> numpy.ndarray:
    """(Blocking.) The stretch's samples (4 bytes each, 64 kB a second: a 20-minute part takes 77 MB);
    TranscodeError with FFmpeg's words where it cannot decode them."""
    with tempfile.TemporaryDirectory(prefix="sound-", dir=workdir) as scratch:
        raw = Path(scratch) / "sound.f32"
        ffmpeg_run.run_to_end(sound_command(ffmpeg, source, info, start, length, raw), timeout)
        return numpy.fromfile(raw, dtype=numpy.float32)


def device_of(setting: str) -> str:
    """The device CAPTION_DEVICE names: "cpu" or "cuda" ("auto": a CUDA GPU if CTranslate2 sees one)."""
    if setting != "auto":
        return setting
    import ctranslate2  # (faster-whisper's engine)

    return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"


def model(folder: Path, device: str = "cpu"):
    """The Whisper model in `folder` on `device` (CAPTION_DEVICE), loaded once per process (loading costs a
    second and its memory)."""
    key = (str(folder), device_of(device))
    with _loading:
        if key not in _models:
            from faster_whisper import WhisperModel  # (heavy: imported where a worker transcribes)

            _models[key] = WhisperModel(key[0], device=key[1], compute_type=COMPUTE[key[1]], cpu_threads=THREADS)
        return _models[key]


def transcribe(
    samples: numpy.ndarray,
    folder: Path,
    offset: float = 0.0,
    language: str | None = None,
    progress: Callable[[float], None] | None = None,
    device: str = "cpu",
) -> Transcript:
    """(Blocking.) What is said in `samples` (the film's sound from `offset` seconds), in `language` if named,
    else the one detected; `progress` is told the share done after each phrase."""
    seconds = len(samples) / RATE
    if seconds == 0:
        return Transcript(language or "", 0.0, (), 0.0)
    segments, info = model(folder, device).transcribe(
        samples,
        language=language,
        word_timestamps=True,
        vad_filter=True,
        condition_on_previous_text=False,
    )
    words: list[Word] = []
    for segment in segments:
        # (numpy's floats, as faster-whisper gives them, made Python's: they go to JSON and the database)
        words += [
            Word(float(offset + w.start), float(offset + w.end), w.word, float(w.probability))
            for w in segment.words or ()
        ]
        if progress:
            progress(min(1.0, float(segment.end) / seconds))
    return Transcript(info.language, round(info.language_probability, 3), tuple(words), seconds)


def language_of(samples: numpy.ndarray, folder: Path, device: str = "cpu") -> str:
    """(Blocking.) The language spoken in `samples` (from up to four 30 s windows of speech: the voice filter
    skips silence and music first), "" when no speech is heard; so that every part of a long film is heard
    in one language."""
    if len(samples) == 0:
        return ""
    whisper = model(folder, device)
    if not whisper.model.is_multilingual:  # an English-only model (tiny.en) hears English
        return "en"
    try:
        language, _, _ = whisper.detect_language(samples, vad_filter=True, language_detection_segments=4)
    except (ValueError, IndexError):  # no speech at all: nothing to detect it from
        return ""
    return language
