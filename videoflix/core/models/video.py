"""Videos and the transactional outbox of events about them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Computed,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class VideoStatus(enum.StrEnum):
    UPLOADED = "uploaded"
    PROCESSING = "processing"
    #: still transcoding, but its first segments exist: served as growing EVENT playlists
    PLAYABLE = "playable"
    READY = "ready"
    FAILED = "failed"


#: states whose output may be streamed
WATCHABLE = (VideoStatus.PLAYABLE, VideoStatus.READY)
#: the same, for queries written in SQL: `status IN ({WATCHABLE_SQL})`
WATCHABLE_SQL = ", ".join(f"'{status.value}'" for status in WATCHABLE)
#: states in which a job is still to finish (the watchdog's concern)
PENDING = (VideoStatus.UPLOADED, VideoStatus.PROCESSING, VideoStatus.PLAYABLE)


#: 'simple': no stemming, so words of any language match by their prefix ("adv" finds "Adventure")
SEARCH_DOCUMENT = (
    "setweight(to_tsvector('simple', videoflix_unaccent(title)), 'A')"
    " || setweight(to_tsvector('simple', videoflix_unaccent(coalesce(category, ''))), 'B')"
    " || setweight(to_tsvector('simple', videoflix_unaccent(coalesce(description, ''))), 'C')"
    " || setweight(coalesce(speech, ''::tsvector), 'D')"
)


class Video(Base):
    __tablename__ = "videos"
    __table_args__ = (
        Index("ix_videos_status_created_at", "status", "created_at"),
        Index("ix_videos_search", "search", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="", server_default="")
    category: Mapped[str] = mapped_column(String(100), default="", server_default="")
    status: Mapped[VideoStatus] = mapped_column(
        Enum(VideoStatus, name="video_status", values_callable=lambda e: [m.value for m in e]),
        default=VideoStatus.UPLOADED,
        server_default=VideoStatus.UPLOADED.value,
    )
    #: 0-100 while processing
    progress: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    #: while a job runs: {"speed": FFmpeg's speed (x realtime), "eta_seconds": ..., "renditions": {name:
    #: {"seconds": media seconds published, "percent": ...}}}; while a ready film's AV1 ladder is made:
    #: {"av1": {"progress": ..., "speed": ..., "eta_seconds": ...}}; empty otherwise
    progress_detail: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'"))
    #: why processing failed, in words an operator can act on
    error: Mapped[str | None] = mapped_column(Text)
    #: paths are relative to MEDIA_ROOT, so the media volume can move
    source_path: Mapped[str] = mapped_column(String(500))
    source_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    source_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    duration: Mapped[float | None] = mapped_column(Float)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    #: [{"name": "480p", "width": 854, "height": 480, "bandwidth": 1182143}, ...]
    renditions: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list, server_default=text("'[]'"))
    #: the folder holding master.m3u8, <rendition>/index.m3u8 and the thumbnail of the current output
    hls_path: Mapped[str | None] = mapped_column(String(500))
    #: the current job's token, carried by its events: the workers' reports change the video only with it
    #: (a forged or stale event changes nothing; migration 0020); NULL for a video queued before tokens
    job_token: Mapped[str | None] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: times the relay's watchdog queued the video again because nothing happened to it for a while
    requeues: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: views counted and folded in (models/viewing.py); those not folded yet are rows of video_views
    views: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    #: the film's bytes in the store (source, outputs, subtitles), as the storage sweep last measured them
    stored_bytes: Mapped[int | None] = mapped_column(BigInteger)
    #: the words said in the film (its transcript's, accents removed: videoflix/core/transcripts.py), which
    #: search reaches after title, category and description (migration 0026)
    speech: Mapped[Any] = mapped_column(TSVECTOR, nullable=True, deferred=True)
    #: what catalog search matches (migrations 0015, 0026): title, category, description, speech, accents removed
    search: Mapped[Any] = mapped_column(TSVECTOR, Computed(SEARCH_DOCUMENT, persisted=True), deferred=True)


class VideoPart(Base):
    """One job of a transcode in parts (stream_workers/part_jobs.py): a time range of the film in every
    rendition of one ladder, or (`part` AUDIO_PART) the whole film's audio. The plan's state lives here, not in
    the broker: which jobs are done, who runs which (a claim with a heartbeat), how often each was tried. The rows go
    with the plan: when the video is ready or failed, or deleted."""

    __tablename__ = "video_parts"

    AUDIO_PART = -1
    #: the ladder of a film's first plan: the one that makes it playable and ready (with its sound)
    FIRST_LADDER = "h264"
    #: the "ladder" of a ready film's speech plan: its parts heard for its automatic captions
    #: (stream_workers/caption_jobs.py)
    CAPTIONS = "captions"

    video_id: Mapped[int] = mapped_column(ForeignKey("videos.id", ondelete="CASCADE"), primary_key=True)
    #: the ladder the part makes (stream_workers/ladders.py): "h264", the film's first plan, with its sound
    #: (AUDIO_PART); then, once the film is ready, every further ladder's parts (migration 0021)
    ladder: Mapped[str] = mapped_column(String(16), primary_key=True, default=FIRST_LADDER, server_default=FIRST_LADDER)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the output (its key prefix in the store, relative to MEDIA_ROOT) the plan writes: a job for another plan is stale
    output: Mapped[str] = mapped_column(String(500))
    start: Mapped[float] = mapped_column(Float)
    length: Mapped[float] = mapped_column(Float)
    #: queued | running | done
    state: Mapped[str] = mapped_column(String(16), default="queued", server_default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: media seconds encoded so far, and FFmpeg's speed while running
    seconds: Mapped[float] = mapped_column(Float, default=0.0, server_default="0")
    speed: Mapped[float | None] = mapped_column(Float)
    #: the claim of the worker running it, renewed with each progress report
    worker: Mapped[str | None] = mapped_column(String(64))
    heartbeat: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error: Mapped[str | None] = mapped_column(Text)
    #: the part's segments served so far, per rendition, in order: [EXTINF line, segment name, bytes]. The
    #: film's playlists are written from these rows, so a worker needs no other worker's files
    #: (stream_workers/film_parts.py); kept when another worker takes the part over
    served: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'"))


class CatalogState(Base):
    """One row: the catalog's version, moved by a trigger on `videos` (migration 0017) whenever a change that
    catalog items show commits; the catalog's page cache is keyed by it."""

    __tablename__ = "catalog_state"

    id: Mapped[bool] = mapped_column(primary_key=True, default=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class OutboxEvent(Base):
    """An event written in the same transaction as the change it announces; the relay publishes it to Kafka
    after commit and stamps `published_at`. The broker forgets (tansu keeps nothing on disk); this does not."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    topic: Mapped[str] = mapped_column(String(200))
    key: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
