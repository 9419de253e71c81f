"""Resumable uploads (tus 1.0: core, creation, termination, expiration) as plain code; views/resumable_uploads.py
speaks the HTTP side.

A client creates an upload with its length and the form's fields (checked at once, so a 4 GiB transfer
never ends in "title missing"), then appends chunks at the offset the server reports; after a dropped
connection it asks for the offset and goes on from there. Each chunk is written and synced to disk before
its new offset commits (see models/upload.py). Memory stays flat: a chunk is copied in 1 MiB pieces from
waitress's spooled request body. The last chunk turns the upload into a video through VideoService.create,
the same path as the one-request multipart upload.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from ..config import Settings
from ..errors import Conflict, Locked, NotFound, PayloadTooLarge
from ..inspection import check_container
from ..media import SNIFF_BYTES, uploads_dir
from ..models import Upload, User, Video
from ..transactions import after_commit, after_failure
from .videos import VideoService

#: an unfinished upload is kept this long after its last chunk; a finished one as long after it ended
EXPIRY = timedelta(hours=24)
PIECE = 1024 * 1024
#: expired uploads removed by each new one (the sweep is spread over creations; no background job needed)
PURGE_BATCH = 10


class ResumableUploadService:
    def __init__(self, dbsession: Session, settings: Settings, transaction_manager=None):
        self.db = dbsession
        self.settings = settings
        self.tm = transaction_manager

    def path(self, upload: Upload) -> Path:
        return uploads_dir(self.settings.media_root) / f"tus-{upload.id}.part"

    def create(self, user: User, length: int, fields: dict[str, Any]) -> Upload:
        """A new, empty upload of `length` bytes with the form's (validated) fields."""
        if length > self.settings.max_upload_size:
            raise PayloadTooLarge(f"The file is larger than the limit of {self.settings.max_upload_size} bytes.")
        upload = Upload(id=uuid.uuid4().hex, user_id=user.id, length=length, fields=fields, expires_at=_expiry())
        self.db.add(upload)
        self.db.flush()
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
        with path.open("r+b") as sink:
            sink.truncate(upload.offset)  # bytes past the committed offset are from a request that failed
            sink.seek(upload.offset)
            while piece := read(min(PIECE, room - written + 1)):
                if written + len(piece) > room:
                    sink.truncate(upload.offset)
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
        """Once the first bytes are in (this chunk brought them), 415 unless they start a video container."""
        if before < SNIFF_BYTES <= upload.offset or (before < upload.offset == upload.length):
            with self.path(upload).open("rb") as source:
                check_container(source.read(SNIFF_BYTES))

    def finish(self, upload: Upload, videos: VideoService, user: User) -> Video:
        """The complete file becomes a video (the multipart upload's checks and path); 4xx if it cannot."""
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

    def terminate(self, upload: Upload) -> None:
        """Remove an upload and its bytes (the client gave up, or its file was refused)."""
        path = self.path(upload)
        self.db.delete(upload)
        self.db.flush()
        after_commit(self.tm, lambda: path.unlink(missing_ok=True))

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
