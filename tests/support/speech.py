"""Films of real recorded speech (bench/corpus.py's recordings: a voice actor's prompts, with the text she
read), as an operator would upload them; the recordings come from Debian's packages."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import corpus
from bench.speech import film_of


def speech_film(name: str, folder: Path) -> tuple[Path, str]:
    """The film of recording `name` in `folder`, and the text said in it (skipped without apt-get)."""
    recording = {r.name: r for r in corpus.RECORDINGS}[name]
    if shutil.which("apt-get") is None and not recording.path.exists():
        pytest.skip("the recordings come from Debian's packages (apt-get)")
    sound, text = corpus.fetch_recording(recording)
    return film_of(sound, folder / f"{name}.mp4"), text
