"""Playback sessions: one login session watching one film, from its first playlist on.

What decides whether a player may go on fetching a film: every serving mode checks the playback session (the
app on each request, nginx through the app's check, which it caches for a few seconds), and it is live only
while its login session is (logout, a password change or a deactivation end it), its film exists (deleting the
film deletes it), and the player keeps renewing it (`seen_at`). The live playback sessions of an account,
counted once per login session, are its screens.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class PlaybackSession(Base):
    __tablename__ = "playback_sessions"
    __table_args__ = (
        UniqueConstraint("auth_session_id", "video_id"),
        Index("ix_playback_sessions_user_seen", "user_id", "seen_at"),
        Index("ix_playback_sessions_video", "video_id"),  # for deleting a film's rows with it
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    auth_session_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"))
    #: the client's address when it started (checked on every renewal when PLAYBACK_BIND_ADDRESS is on)
    address: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: its last renewal: a playback not renewed for PLAYBACK_IDLE seconds no longer counts as a screen
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    #: the film's output it began on, which serves it to the end (playlists and segments alike), so a player
    #: never mixes the playlists of one output with the segments of another (a film sealed, or made again,
    #: while it is watched); the storage sweep keeps an output while a playback names it
    output: Mapped[str | None] = mapped_column(String(500))
