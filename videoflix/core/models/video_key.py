"""A film's encryption keys (`videoflix.core.hls_keys`): one random seed from which each of its AES-128 keys
is derived, and how many segments each key seals. Its own table, so the key material is read only where a key
is made or served, never with a film's row."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, func
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class VideoKey(Base):
    __tablename__ = "video_keys"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    seed: Mapped[bytes] = mapped_column(LargeBinary(32))
    rotation: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
