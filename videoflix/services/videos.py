"""Videos as plain code: accept an upload (row + outbox event in one transaction), report status.

Files and rows must agree: the source becomes the object `videos/<id>/source.<ext>` in the store inside the
transaction, and if the transaction fails after that, the video's objects are removed again
(videoflix/transactions.py); deleting a video removes them once the deletion has committed.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cachetools import LRUCache, TTLCache
from sqlalchemy.orm import Session

from videoflix.core import events, outbox
from videoflix.core.containers import ObjectURL
from videoflix.core.media import MediaInfo
from videoflix.core.models import User, Video, VideoStatus
from videoflix.core.models.video import WATCHABLE
from videoflix.core.storage import Storage, StorageUnavailable, video_key

from ..caches import LockedCache
from ..config import Settings
from ..errors import Conflict, NotFound
from ..inspection import inspect_video
from ..transactions import after_commit, after_failure
from .catalog_queries import (
    CATALOG_DETAIL,
    CATALOG_QUERY,
    CATALOG_SEARCH,
    CATALOG_VERSION,
    CONTINUE_QUERY,
    WATCHABLE_QUERY,
    WATCHABLE_SEARCH,
)

log = logging.getLogger(__name__)

#: how long FFmpeg may take to probe a stored upload through its signed URL
PROBE_URL_SECONDS = 600


class VideoService:
    def __init__(
        self, dbsession: Session, settings: Settings, transaction_manager=None, storage: Storage | None = None
    ):
        self.db = dbsession
        self.settings = settings
        self.tm = transaction_manager
        self.storage = storage if storage is not None else settings.storage.open(settings.media_root)

    def accept(
        self,
        source: Path | str,
        head: bytes,
        fields: dict[str, str],
        source_name: str,
        size: int,
        uploaded_by: User | None,
    ) -> Video:
        """A received file becomes a video, for both upload paths (one request, tus): the one check of what the
        file is (`inspection.inspect_video`: a 4xx saying why it cannot become one), then `create`. `source`
        is a local file, or an object of the store (a key: a finished resumable upload on S3, which FFmpeg
        reads through a short-lived signed URL of that object alone). `fields` are the upload form's,
        validated (title, description, category); `head` its first bytes."""
        readable = (
            ObjectURL(self.storage.presigned_url(source, PROBE_URL_SECONDS)) if isinstance(source, str) else source
        )
        extension, info = inspect_video(readable, head, self.settings.ffmpeg_binary, self.settings.media_limits)
        return self.create(
            title=fields["title"],
            description=fields["description"],
            category=fields["category"],
            source=source,
            source_name=source_name,
            source_size=size,
            extension=extension,
            info=info,
            uploaded_by=uploaded_by,
        )

    def create(
        self,
        *,
        title: str,
        description: str,
        category: str,
        source: Path | str,
        source_name: str,
        source_size: int,
        extension: str,
        info: MediaInfo,
        uploaded_by: User | None,
    ) -> Video:
        """Store an uploaded file as a new video and queue its `videos.uploaded` event (outbox)."""
        video = Video(
            title=title,
            description=description,
            category=category,
            status=VideoStatus.UPLOADED,
            source_path="",
            source_name=source_name,
            source_size=source_size,
            duration=info.duration,
            width=info.width,
            height=info.height,
            uploaded_by_id=uploaded_by.id if uploaded_by else None,
        )
        self.db.add(video)
        self.db.flush()

        folder = video_key(video.id)
        video.source_path = f"{folder}source{extension}"
        # local: a rename; S3: an upload or a server-side copy, the source kept until the commit
        self.storage.adopt(video.source_path, source)
        after_failure(self.tm, lambda: self.storage.delete_prefix(folder))
        if isinstance(source, str):
            after_commit(self.tm, lambda: self.storage.delete(source))  # (a missing object: no error)
        else:
            after_commit(self.tm, lambda: source.unlink(missing_ok=True))

        video.job_token = events.new_job_token()
        self.publish(events.UPLOADED, video.id, events.uploaded(video.id, video.source_path, token=video.job_token))
        return video

    def publish(self, topic: str, video_id: int, payload: dict[str, Any]) -> None:
        """Queue an event in the outbox; the relay sends it once this transaction has committed."""
        outbox.enqueue(self.db, [(topic, str(video_id), payload)])

    def catalog_item_json(self, base_url: str, video_id: int, viewer: int | None = None) -> str:
        """One watchable (ready or playable) video as JSON, the shape of a catalog item with `viewer`'s
        progress; else 404 (no hints)."""
        item = self.db.execute(CATALOG_DETAIL, {"base": base_url, "id": video_id, "viewer": viewer}).scalar()
        if item is None:
            raise NotFound("No video with this id.")
        return item

    def continue_json(self, base_url: str, viewer: int, limit: int = 100) -> str:
        """`viewer`'s started and unfinished watchable videos as catalog items, most recently watched first."""
        return self.db.execute(CONTINUE_QUERY, {"base": base_url, "viewer": viewer, "limit": limit}).scalar()

    def catalog_json(
        self,
        base_url: str,
        category: str | None = None,
        limit: int | None = None,
        offset: int = 0,
        playable: bool = False,
        viewer: int | None = None,
        query: str | None = None,
    ) -> tuple[str, int]:
        """Ready videos (with `playable`, also those still transcoding whose first segments exist), newest
        first, as the JSON array the frontend reads, and how many match in all.

        PostgreSQL builds the JSON itself (one query over the status/created_at index), so a catalog of
        10 000 videos never becomes 10 000 Python objects. `base_url` is the absolute URL of /api/video/;
        each thumbnail_url is `<base_url><id>/thumbnail.jpg`.
        """
        params = {
            "base": base_url,
            "category": (category or "").strip().lower(),
            "limit": limit,
            "offset": offset,
            "viewer": viewer,
            "q": query or "",
        }
        version = tuple(self.db.execute(CATALOG_VERSION, {"viewer": viewer}).one())
        key = (version, playable, *params.values())
        cached = _catalog_cache.get(key)
        if cached is None:
            if query:
                statement = WATCHABLE_SEARCH if playable else CATALOG_SEARCH
            else:
                statement = WATCHABLE_QUERY if playable else CATALOG_QUERY
            row = self.db.execute(statement, params).one()
            cached = _catalog_cache.put(key, (row[0], row[1]))
        return cached

    def output_folder(self, video_id: int) -> str:
        """The current output folder of a watchable (ready or playable) video, relative to MEDIA_ROOT, else
        NotFound. This runs for every playlist and segment request, so answers are kept for FOLDER_TTL
        seconds (a playable video keeps its folder when it becomes ready)."""
        folder = _folder_cache.get(video_id)
        if folder is None:
            folder = self.db.execute(
                sa.select(Video.hls_path).where(Video.id == video_id, Video.status.in_(WATCHABLE))
            ).scalar()
            if not folder:
                raise NotFound("No video with this id.")
            _folder_cache.put(video_id, folder)
        return folder

    def duration(self, video_id: int) -> float | None:
        """The length of a watchable video (NotFound if it is not), as its source was probed."""
        self.output_folder(video_id)
        return self.db.scalar(sa.select(Video.duration).where(Video.id == video_id))

    def admin_list(
        self, status: str | None, title: str | None, limit: int | None, offset: int
    ) -> tuple[list[Video], int]:
        """Videos in any state, newest first, optionally of one status and with `title` in the title; and how
        many match in all."""
        where = []
        if status:
            where.append(Video.status == VideoStatus(status))
        if title:
            where.append(Video.title.icontains(title, autoescape=True))
        total = self.db.scalar(sa.select(sa.func.count()).select_from(Video).where(*where))
        query = sa.select(Video).where(*where).order_by(Video.created_at.desc(), Video.id.desc()).offset(offset)
        videos = self.db.scalars(query.limit(limit) if limit is not None else query).all()
        return list(videos), total

    def edit(self, video_id: int, changes: dict[str, str]) -> Video:
        """Change title, description or category (already validated); the catalog shows it at once (its
        cache key moves with every row version)."""
        video = self.get(video_id)
        for field in ("title", "description", "category"):
            if field in changes:
                setattr(video, field, changes[field])
        self.db.flush()
        return video

    def delete(self, video_id: int) -> bool:
        """Remove a video: its row now, its folder (source, outputs, thumbnail) once that has committed.
        Idempotent: an unknown id only removes any files left under its folder. A job running for it is not
        stopped from here: the worker notices the row is gone and discards its output (see stream_workers).
        Returns whether a row was deleted."""
        video = self.db.get(Video, video_id)
        if video is not None:
            self.db.delete(video)
            self.db.flush()
        after_commit(self.tm, lambda: (_folder_cache.pop(video_id), self.remove_objects(video_id)))
        return video is not None

    def remove_objects(self, video_id: int) -> None:
        """Everything stored under the video's folder. After the commit: a store that is down now leaves
        objects no row owns, which the sweep removes later; the deletion itself stands."""
        try:
            self.storage.delete_prefix(video_key(video_id))
        except StorageUnavailable:
            log.warning("video %s: its objects stay until the sweep (the store is unavailable)", video_id)

    def retry(self, video_id: int) -> Video:
        """Queue a failed video again through the outbox, as if just uploaded (its source is kept)."""
        video = self.db.get(Video, video_id, with_for_update=True)
        if video is None:
            raise NotFound("No video with this id.")
        if video.status != VideoStatus.FAILED:
            raise Conflict(f"Only a failed video can be retried; this one is {video.status.value}.")
        video.status = VideoStatus.UPLOADED
        video.progress = 0.0
        video.error = None
        video.attempts = 0
        video.requeues = 0
        video.processed_at = None
        video.job_token = events.new_job_token()  # the failed attempt's reports, late or forged, change nothing
        self.db.flush()
        self.publish(events.UPLOADED, video.id, events.uploaded(video.id, video.source_path, token=video.job_token))
        return video

    def queue_positions(self, videos: list[Video]) -> dict[int, int]:
        """For each of `videos` still waiting for a worker (`uploaded`), its place among all waiting videos,
        oldest first (1: the next to start when a worker is free; with several workers, several start at
        once). One query for a whole page."""
        waiting = [v.id for v in videos if v.status == VideoStatus.UPLOADED]
        if not waiting:
            return {}
        ranked = (
            sa.select(Video.id, sa.func.row_number().over(order_by=(Video.created_at, Video.id)).label("place"))
            .where(Video.status == VideoStatus.UPLOADED)
            .subquery()
        )
        return dict(self.db.execute(sa.select(ranked.c.id, ranked.c.place).where(ranked.c.id.in_(waiting))).all())

    def get(self, video_id: int) -> Video:
        video = self.db.get(Video, video_id)
        if video is None:
            raise NotFound("No video with this id.")
        return video


#: catalog pages; keys carry the catalog version, so an entry is never stale: after a change the next request
#: asks for a new key, and old ones age out
_catalog_cache: LockedCache[tuple[str, int]] = LockedCache(LRUCache(maxsize=256))  # (pages x viewers)
#: video id -> current output folder of a ready video, for the playlist and segment requests (a player fetches
#: one every few seconds). A folder may lag a change by FOLDER_TTL seconds; files are still checked on disk,
#: so a deleted or replaced output answers 404, never stale bytes from elsewhere.
FOLDER_TTL = 5.0
_folder_cache: LockedCache[str] = LockedCache(TTLCache(maxsize=4096, ttl=FOLDER_TTL))
