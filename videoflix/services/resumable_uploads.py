"""Resumable uploads (tus 1.0: core, creation, termination, expiration) as plain code; views/resumable_uploads.py
speaks the HTTP side.

A client creates an upload with its length and the form's fields (checked at once, so a 4 GiB transfer
never ends in "title missing"), then appends chunks at the offset the server reports; after a dropped
connection it asks for the offset and goes on from there. Each chunk is written and synced to disk before
its new offset commits (see models/upload.py). Memory stays flat: a chunk is copied in 1 MiB pieces from
waitress's spooled request body. With the S3 backend the bytes go on into a multipart upload as soon as a
part's worth (5 MiB) has arrived, so the web host holds at most that plus one chunk, whatever the film's
size. The last chunk turns the upload into a video through VideoService.accept, the same path as the
one-request multipart upload (with S3: FFmpeg probes the finished object through a signed URL, and the
video's source is a server-side copy of it).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from videoflix.core.containers import SNIFF_BYTES
from videoflix.core.media import uploads_dir
from videoflix.core.models import Upload, User, Video
from videoflix.core.storage import STAGED_PREFIX, StorageUnavailable

from ..config import Settings
from ..errors import Conflict, Locked, NotFound, PayloadTooLarge
from ..inspection import check_container
from ..transactions import after_commit, after_failure
from .videos import VideoService

#: an unfinished upload is kept this long after its last chunk; a finished one as long after it ended
EXPIRY = timedelta(hours=24)
PIECE = 1024 * 1024
#: expired uploads removed by each new one (the sweep is spread over creations; no background job needed)
PURGE_BATCH = 10

log = logging.getLogger(__name__)


#: S3's smallest part (but the last): the local file sends a part once it holds this much
PART_MIN = 5 * 1024 * 1024


class ResumableUploadService:
    def __init__(self, dbsession: Session, settings: Settings, transaction_manager=None, storage=None):
        self.db = dbsession
        self.settings = settings
        self.tm = transaction_manager
        self.storage = storage if storage is not None else settings.storage.open(settings.media_root)
        self.remote = self.storage.backend != "local"

    def path(self, upload: Upload) -> Path:
        """The local file: the whole upload (local backend), or the bytes since the last part (S3)."""
        return uploads_dir(self.settings.media_root) / f"tus-{upload.id}.part"

    @staticmethod
    def staged_key(upload: Upload) -> str:
        """S3: the object the upload becomes before it is a video's source."""
        return f"{STAGED_PREFIX}{upload.id}"

    @staticmethod
    def sent(upload: Upload) -> int:
        """Bytes already sent as parts (S3); the local file holds the rest up to `offset`."""
        return sum(size for _, _, size in upload.parts or [])

    def create(self, user: User, length: int, fields: dict[str, Any]) -> Upload:
        """A new, empty upload of `length` bytes with the form's (validated) fields."""
        if length > self.settings.max_upload_size:
            raise PayloadTooLarge(f"The file is larger than the limit of {self.settings.max_upload_size} bytes.")
        upload = Upload(id=uuid.uuid4().hex, user_id=user.id, length=length, fields=fields, expires_at=_expiry())
        self.db.add(upload)
        self.db.flush()
        if self.remote:
            upload.multipart_id = self.storage.begin_multipart(self.staged_key(upload))
            after_failure(self.tm, lambda: self.storage.abort_multipart(self.staged_key(upload), upload.multipart_id))
        upload.parts = []
        path = self.path(upload)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=False)
        after_failure(self.tm, lambda: path.unlink(missing_ok=True))
        self.purge_expired()
        return upload

    def get(self, upload_id: str, user: User, lock: bool = False) -> Upload:
        """The user's live upload; anybody else's, an expired or unknown one is 404 alike. With `lock`, no
        other request may write it at the same time (423 instead of waiting)."""
        query = sa.select(Upload).where(
            Upload.id == upload_id, Upload.user_id == user.id, Upload.expires_at > sa.func.now()
        )
        try:
            upload = self.db.scalar(query.with_for_update(nowait=True) if lock else query)
        except OperationalError as exc:
            if getattr(exc.orig, "pgcode", None) == "55P03":  # lock_not_available
                raise Locked("Another request is writing to this upload; ask for its offset and go on.") from None
            raise
        if upload is None:
            raise NotFound("No such upload (it may have expired).")
        return upload

    def append(self, upload: Upload, offset: int, read: Callable[[int], bytes]) -> int:
        """Write the bytes `read` yields at `offset`, which must be where the upload stands (409 otherwise,
        with nothing written); returns how many. More than the announced length is 413, nothing kept."""
        if offset != upload.offset:
            raise Conflict(f"The upload is at offset {upload.offset}, not {offset}.")
        room = upload.length - upload.offset
        path = self.path(upload)
        if not path.exists():
            raise NotFound("The upload's data is gone; start a new upload.")
        written = 0
        held = upload.offset - self.sent(upload)  # what the local file vouches for
        with path.open("r+b") as sink:
            sink.truncate(held)  # bytes past the committed offset are from a request that failed
            sink.seek(held)
            while piece := read(min(PIECE, room - written + 1)):
                if written + len(piece) > room:
                    sink.truncate(held)
                    raise PayloadTooLarge(f"The chunk goes past the upload's length of {upload.length} bytes.")
                sink.write(piece)
                written += len(piece)
            sink.flush()
            os.fsync(sink.fileno())  # on disk before the offset that vouches for it commits
        if written:
            upload.offset += written
            upload.expires_at = _expiry()
            self.db.flush()
        return written

    def check_head(self, upload: Upload, before: int) -> None:
        """Once the first bytes are in (this chunk brought them), 415 unless they start a video container.
        (They are still in the local file: a part is sent only after this check, and is far larger.)"""
        if before < SNIFF_BYTES and (upload.offset >= SNIFF_BYTES or upload.offset == upload.length):
            with self.path(upload).open("rb") as source:
                check_container(source.read(SNIFF_BYTES))

    def send_part(self, upload: Upload) -> None:
        """S3: the local file's bytes as the next part once they reach PART_MIN, or whatever is left once
        the upload is complete. The part is in the bucket before the row that lists it commits; a request
        that fails after sending it is redone under the same part number, which S3 then replaces."""
        held = upload.offset - self.sent(upload)
        if not self.remote or not held or (held < PART_MIN and upload.offset < upload.length):
            return
        number = len(upload.parts) + 1
        etag = self.storage.put_part(self.staged_key(upload), upload.multipart_id, number, self.path(upload))
        upload.parts = [*upload.parts, [number, etag, held]]
        self.db.flush()

    def finish(self, upload: Upload, videos: VideoService, user: User) -> Video:
        """The complete file becomes a video (the multipart upload's checks and path); 4xx if it cannot."""
        if self.remote:
            return self._finish_remote(upload, videos, user)
        path = self.path(upload)
        with path.open("rb") as source:
            head = source.read(SNIFF_BYTES)
        moved_to: list[Path] = []
        # registered before create()'s own hook (which removes the video's folder): if the transaction fails
        # after the move, the bytes go back where the upload expects them, and the client can try again
        after_failure(self.tm, lambda: moved_to and moved_to[0].exists() and os.replace(moved_to[0], path))
        video = videos.accept(path, head, upload.fields, upload.fields.get("filename", ""), upload.length, user)
        moved_to.append(self.settings.media_root / video.source_path)
        upload.video_id = video.id
        upload.expires_at = _expiry()
        self.db.flush()
        return video

    def _finish_remote(self, upload: Upload, videos: VideoService, user: User) -> Video:
        """S3: the parts become the staged object (once: a retried last chunk finds it made), which FFmpeg
        probes through a signed URL and the video's source copies; the staged object goes after the commit."""
        key = self.staged_key(upload)
        if self.storage.info(key) is None:
            parts = [(number, etag) for number, etag, _ in upload.parts]
            self.storage.complete_multipart(key, upload.multipart_id, parts)
        head = b"".join(self.storage.read(key, 0, SNIFF_BYTES - 1))
        video = videos.accept(key, head, upload.fields, upload.fields.get("filename", ""), upload.length, user)
        path = self.path(upload)
        after_commit(self.tm, lambda: path.unlink(missing_ok=True))
        upload.video_id = video.id
        upload.expires_at = _expiry()
        self.db.flush()
        return video

    def terminate(self, upload: Upload) -> None:
        """Remove an upload and its bytes (the client gave up, or its file was refused): the local file, and
        with S3 the multipart upload or the object it became."""
        path = self.path(upload)
        key, multipart_id, finished = self.staged_key(upload), upload.multipart_id, upload.video_id is not None
        self.db.delete(upload)
        self.db.flush()
        after_commit(self.tm, lambda: path.unlink(missing_ok=True))
        if self.remote and not finished:
            after_commit(self.tm, lambda: self._drop_staged(key, multipart_id))

    def _drop_staged(self, key: str, multipart_id: str | None) -> None:
        """The unfinished multipart upload, or the object it became (a refused file). A store that is down
        now leaves them to the sweep."""
        try:
            if multipart_id:
                self.storage.abort_multipart(key, multipart_id)
            self.storage.delete(key)
        except StorageUnavailable:
            log.warning("upload %s: its staged bytes stay until the sweep (the store is unavailable)", key)

    def purge_expired(self, limit: int = PURGE_BATCH) -> int:
        """Remove up to `limit` expired uploads (rows now, bytes after commit); other requests' are skipped."""
        expired = self.db.scalars(
            sa.select(Upload)
            .where(Upload.expires_at <= sa.func.now())
            .order_by(Upload.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        for upload in expired:
            self.terminate(upload)
        return len(expired)


def _expiry() -> datetime:
    return datetime.now(UTC) + EXPIRY


def expires_header(upload: Upload) -> str:
    """Upload-Expires, as an HTTP date."""
    return upload.expires_at.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
