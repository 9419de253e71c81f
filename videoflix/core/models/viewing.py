"""What viewers did with videos: where each stopped (resume, continue watching), and the views counted.

A player reports its position every few seconds, so a report is one upsert into `watch_progress` (no read);
the same statement decides whether a view is counted and, if so, appends it to `video_views`. Nothing per
view touches the video's row (which every catalog read wants): the log is folded into `videos.views` in
batches (`fold_views`: the workers' outbox relay, every few seconds), and readers add what is not folded yet.
Only models and SQLAlchemy here, so the workers import it without the web tier's services.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import BigInteger, DateTime, Float, ForeignKey, Index, func
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Session, mapped_column

from .meta import Base


class WatchProgress(Base):
    __tablename__ = "watch_progress"
    __table_args__ = (
        Index("ix_watch_progress_user_updated", "user_id", "updated_at"),
        Index("ix_watch_progress_video", "video_id"),  # for deleting a video's rows with it
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    #: seconds into the video
    position: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: since when the viewer has been reporting without a long pause: how long they have watched this time
    watching_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: when this viewer's last view of the video was counted
    counted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class PlaybackStart(Base):
    """When a viewer's player last loaded a film's playlist (the master or a rendition's), written at most once
    a minute per viewer and film: a view is counted only for playback that did (services/viewing.py)."""

    __tablename__ = "playback_starts"
    __table_args__ = (Index("ix_playback_starts_video", "video_id"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class VideoView(Base):
    """One counted view, until `fold_views` adds it to `videos.views` and removes it."""

    __tablename__ = "video_views"
    __table_args__ = (Index("ix_video_views_video", "video_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    viewed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


FOLD = sa.text(
    """
    WITH taken AS (
        DELETE FROM video_views WHERE id IN (SELECT id FROM video_views ORDER BY id LIMIT :batch
                                             FOR UPDATE SKIP LOCKED)
        RETURNING video_id
    ), counts AS (SELECT video_id, count(*) AS n FROM taken GROUP BY video_id)
    UPDATE videos SET views = views + counts.n FROM counts WHERE videos.id = counts.video_id
    RETURNING counts.n
    """
)


def fold_views(db: Session | Connection, batch: int = 10_000) -> int:
    """Move up to `batch` counted views into `videos.views`, in the caller's transaction: one UPDATE per video
    touched, whatever its number of views. How many were moved. Safe to run in several processes at once
    (rows another is folding are skipped)."""
    return sum(n for (n,) in db.execute(FOLD, {"batch": batch}))
