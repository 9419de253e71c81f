"""A film's transcript (videoflix/core/transcripts.py): its speech as timed paragraphs, for the transcript a
viewer reads and the times a search inside the film returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class Transcript(Base):
    __tablename__ = "transcripts"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    #: the spoken language (BCP 47): the subtitle track of this language is the one it follows
    language: Mapped[str] = mapped_column(String(35))
    #: as the track's: 'auto' (made from speech) or 'upload' (an operator's track replaced it)
    origin: Mapped[str] = mapped_column(String(16))
    #: [{"start": s, "end": s, "lines": [[start, end, text], ...]}, ...], in time order
    paragraphs: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'"))
    words: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
