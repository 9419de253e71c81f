"""Where sources and HLS outputs live: one interface, two backends.

- `LocalStorage`: a folder (MEDIA_ROOT), the embedded default; nginx can serve it directly.
- `S3Storage`: a bucket on any S3-compatible endpoint (SeaweedFS in development and tests, or AWS, MinIO,
  …), so that web processes and workers on different machines share nothing but PostgreSQL, Kafka and it.

Keys are relative POSIX paths (`videos/12/source.mp4`, `videos/12/hls-ab12/720p/003.ts`); a key that
could leave its root (`..`, an absolute path, a backslash, NUL) is refused by both backends alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .keys import BadKey, check_key

__all__ = ["STAGED_PREFIX", "BadKey", "ObjectInfo", "Opened", "Storage", "StorageUnavailable", "check_key", "video_key"]

#: where a resumable upload is staged on S3 (its multipart upload, then its object) before it is a video's
#: source: the only multipart uploads this service starts and leaves open, so the only ones its sweep aborts
STAGED_PREFIX = "uploads/tus-"


def video_key(video_id: int) -> str:
    """The folder of everything a video owns (its source, outputs, thumbnail), in every backend."""
    return f"videos/{int(video_id)}/"


class StorageUnavailable(Exception):
    """The store could not be reached or refused us (not: the object is missing). A web request answers it
    with 503; a worker counts it as a passing fault and retries."""


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str  # quoted, as HTTP sends it
    modified: float  # seconds since the epoch


class Opened:
    """An object opened for reading in one request: its facts, and its bytes to iterate once. Close it when
    done, also when not read to the end (the connection or file goes back)."""

    def __init__(self, info: ObjectInfo, chunks: Iterator[bytes], close: Callable[[], None]):
        self.info = info
        self._chunks = chunks
        self.close = close

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks


class Storage(Protocol):
    """What the web tier and the workers need of a store; both backends pass the same contract tests."""

    backend: str

    def prepare(self) -> bool:
        """Make the store usable (create the bucket or the folder if missing); whether anything was made."""
        ...

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> None: ...

    def put_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None: ...

    def adopt(self, key: str, source: Path | str) -> None:
        """Make a local file (a Path) or another object of this store (a key) the object `key`: a rename for
        the local backend (the source is gone after), an upload or a server-side copy for S3 (the source
        stays; the caller removes it once it no longer needs it)."""
        ...

    def info(self, key: str) -> ObjectInfo | None: ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The object's bytes from `start` to `end` (inclusive, as in HTTP ranges), in chunks."""
        ...

    def open(self, key: str) -> Opened | None:
        """The whole object, its facts coming with its bytes (one request to the store, where `info` then
        `read` are two); None when it is missing."""
        ...

    def download(self, key: str, path: Path) -> None: ...

    def keys(self, prefix: str) -> Iterator[str]: ...

    def objects(self, prefix: str) -> Iterator[ObjectInfo]:
        """The objects under `prefix` with their size and age (one listing, no request per object)."""
        ...

    def delete(self, key: str) -> None: ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under `prefix` (a folder: it must end with `/`); how many were removed."""
        ...

    def multipart_uploads(self, prefix: str) -> Iterator[tuple[str, str, float]]:
        """(key, upload id, started) of the multipart uploads under `prefix` nobody completed or aborted."""
        ...

    def abort_multipart(self, key: str, upload_id: str) -> None: ...

    def presigned_url(self, key: str, expires: int) -> str | None:
        """A URL that lets anyone GET the object for `expires` seconds, or None where the backend has none;
        for the service's own readers (FFmpeg in the workers, the upload probe)."""
        ...

    def browser_url(self, key: str, expires: int) -> str | None:
        """The same for browsers: signed for the endpoint as they reach it (S3_PUBLIC_URL)."""
        ...
