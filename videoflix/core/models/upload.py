"""Resumable uploads in progress (the tus protocol): what has arrived so far, and for whom.

Local backend: the bytes are in `MEDIA_ROOT/uploads/tus-<id>.part`. S3: they stream into a multipart upload
of the object `uploads/tus-<id>`; the parts sent are listed here, and only the bytes since the last part (less
than a part, S3's minimum of 5 MiB, plus one chunk) wait in that local file. Either way `offset` is the
authority on how many bytes are safe: a request writes and syncs its bytes (and sends its part) before it
commits the new offset, so after a crash the local file may hold more than `offset` says (those bytes are
dropped by the next request), never less.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class Upload(Base):
    __tablename__ = "uploads"

    #: random (uuid4 hex): the upload URL is the only handle a client has, so it must not be guessable
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    length: Mapped[int] = mapped_column(BigInteger)
    offset: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: the upload form's fields, validated at creation: title, description, category, filename
    fields: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: unfinished uploads are removed after this; each accepted chunk moves it on
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    #: S3: the multipart upload it streams into, and its parts sent so far: [[number, etag, size], ...]
    multipart_id: Mapped[str | None] = mapped_column(String(1024))
    parts: Mapped[list[Any]] = mapped_column(JSONB, default=list, server_default="[]")
    #: the video made from it once complete (kept until expiry so a client that lost the last answer can ask)
    video_id: Mapped[int | None] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
