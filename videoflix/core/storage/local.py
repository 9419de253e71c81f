"""The local backend: objects are files under a root folder (MEDIA_ROOT)."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import shutil
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from . import ObjectInfo, Opened
from .keys import check_key

CHUNK = 1024 * 1024


class LocalStorage:
    backend = "local"

    def __init__(self, root: Path):
        self.root = Path(root).absolute()

    def path(self, key: str) -> Path:
        """The file that holds `key` (which must be clean: `check_key`)."""
        return self.root / check_key(key)

    def _write(self, key: str, fill) -> None:
        """Write through a temporary name and rename: a reader sees the whole object or none."""
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
        try:
            fill(partial)
            os.replace(partial, target)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None:
        self._write(key, lambda partial: shutil.copyfile(path, partial))

    def prepare(self) -> bool:
        """Create the root folder if it is missing; whether it was created."""
        existed = self.root.is_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        return not existed

    def adopt(self, key: str, source: Path | str) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        # uploads/ and videos/ are both under MEDIA_ROOT: one filesystem, a rename
        os.replace(self.path(source) if isinstance(source, str) else source, target)

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._write(key, lambda partial: partial.write_bytes(data))

    def info(self, key: str):
        """The facts of a regular file; a symlink is no object (it is not followed: `_open`)."""
        try:
            st = self.path(key).lstat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return _facts(key, st) if stat.S_ISREG(st.st_mode) else None

    def _open(self, key: str) -> tuple[BinaryIO, os.stat_result] | None:
        """The file of `key` open for reading and its facts, never through a symlink (O_NOFOLLOW), or None."""
        try:
            fd = os.open(self.path(key), os.O_RDONLY | os.O_NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        except OSError as exc:
            if exc.errno == errno.ELOOP:  # a symlink
                return None
            raise
        f, st = os.fdopen(fd, "rb"), os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            f.close()
            return None
        return f, st

    def open(self, key: str) -> Opened | None:
        if (opened := self._open(key)) is None:
            return None
        f, st = opened
        return Opened(_facts(key, st), iter(lambda: f.read(CHUNK), b""), f.close)

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if (opened := self._open(key)) is None:
            raise FileNotFoundError(key)
        f, _ = opened
        with f:
            f.seek(start)
            remaining = None if end is None else end - start + 1
            while remaining is None or remaining > 0:
                chunk = f.read(CHUNK if remaining is None else min(CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def download(self, key: str, path: Path) -> None:
        shutil.copyfile(self.path(key), path)

    def keys(self, prefix: str) -> Iterator[str]:
        for info in self.objects(prefix):
            yield info.key

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """Files under `prefix` (files being written, `*.part`, are not objects yet)."""
        folder = self.root / check_key(prefix, folder=True) if prefix else self.root
        for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
            if path.is_file() and not path.name.endswith(".part"):
                info = self.info(path.relative_to(self.root).as_posix())
                if info is not None:
                    yield info

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(key).unlink()

    def delete_prefix(self, prefix: str) -> int:
        folder = self.root / check_key(prefix, folder=True)
        count = sum(1 for path in folder.rglob("*") if path.is_file()) if folder.is_dir() else 0
        shutil.rmtree(folder, ignore_errors=True)
        return count

    def presigned_url(self, key: str, expires: int) -> str | None:
        return None

    def browser_url(self, key: str, expires: int) -> str | None:
        return None

    def multipart_uploads(self, prefix: str) -> Iterator[tuple[str, str, float]]:
        return iter(())  # files are written whole through a temporary name: nothing is ever left half-sent

    def abort_multipart(self, key: str, upload_id: str) -> None:
        pass


def _facts(key: str, st: os.stat_result) -> ObjectInfo:
    """An object's facts from its file's; the ETag changes whenever the file is replaced or rewritten."""
    tag = hashlib.blake2b(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}".encode(), digest_size=8).hexdigest()
    return ObjectInfo(key=key, size=st.st_size, etag=f'"{tag}"', modified=st.st_mtime)
