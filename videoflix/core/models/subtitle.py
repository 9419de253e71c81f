"""Subtitle tracks of a video: one per language, each a WebVTT object in the store.

A track comes from an operator's upload (`origin` 'upload'), from a subtitle stream of the source that the
workers extracted ('source'), or from the film's speech ('auto'); an operator's track of a language is never
replaced by an extracted one, and an automatic track never replaces either. The
objects live under the video's folder but outside its outputs, so a new encode keeps them and deleting the
video removes them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

#: where a track came from
UPLOAD = "upload"
SOURCE = "source"
#: made from the film's speech by the workers (stream_workers/caption_jobs.py)
AUTO = "auto"
#: a track whose cues an operator corrected in the console (an automatic one, most often)
OPERATOR = "operator"


class Subtitle(Base):
    __tablename__ = "subtitles"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    #: a standard BCP 47 tag ("en", "pt-BR")
    language: Mapped[str] = mapped_column(String(35), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    #: the WebVTT object (a new key each time a track is replaced, so a failed replacement leaves the old one)
    key: Mapped[str] = mapped_column(String(500))
    origin: Mapped[str] = mapped_column(String(16), default=UPLOAD, server_default=UPLOAD)
    cues: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
