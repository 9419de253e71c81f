"""The storage sweep: what no row owns goes, so that faults never leave the store growing.

Objects are written before the row that names them commits (an upload's source, a job's output), and
removed after the row that owned them is gone, so a crash or a store that was down at the wrong moment can
leave objects behind: a video folder whose row is gone, an output a re-processed video no longer serves, a
subtitle file no track names (replaced or removed while the store was down), a staged resumable upload
nobody finishes, a multipart upload nobody completes or aborts. An output a film no longer serves stays while
a playback began on it names it (`models.playback`: a viewer mid-film when it was sealed, or made again, plays
on from it; the playback's row goes a day after its last renewal). Every SWEEP_INTERVAL
one worker (a PostgreSQL advisory lock) removes those older than SWEEP_GRACE, so nothing in flight is
touched: an object is only ever ownerless for the moments before its row commits.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict

import sqlalchemy as sa

from videoflix.core.models import PlaybackSession, Subtitle, Upload, Video, VideoStatus
from videoflix.core.storage import STAGED_PREFIX, ObjectInfo, video_key

from . import storage
from .app import app
from .db import engine, in_thread

log = logging.getLogger(__name__)

SWEEP_LOCK = 0x56465357  # "VFSW"
BATCH = 1000


def sweep(grace: float) -> dict[str, int]:
    """One pass (if no other worker is sweeping); how many of each kind were removed."""
    backend = storage.backend()
    cutoff = time.time() - grace
    removed = {"videos": 0, "outputs": 0, "subtitles": 0, "staged": 0, "multipart": 0}
    with engine().begin() as conn:
        if not conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(SWEEP_LOCK))):
            return removed
        folders: dict[int, list[ObjectInfo]] = defaultdict(list)
        for info in backend.objects("videos/"):
            parts = info.key.split("/")
            if len(parts) >= 3 and parts[1].isdigit():
                folders[int(parts[1])].append(info)
        rows = {}
        named: set[str] = set()  # the subtitle files tracks name
        watched: set[str] = set()  # the outputs playbacks began on
        ids = list(folders)
        for start in range(0, len(ids), BATCH):
            batch = ids[start : start + BATCH]
            query = sa.select(Video.id, Video.status, Video.hls_path, Video.stored_bytes).where(Video.id.in_(batch))
            rows.update({row.id: row for row in conn.execute(query)})
            named.update(conn.scalars(sa.select(Subtitle.key).where(Subtitle.video_id.in_(batch))))
            watched.update(
                output.rstrip("/")
                for output in conn.scalars(
                    sa.select(PlaybackSession.output).where(PlaybackSession.video_id.in_(batch)).distinct()
                )
                if output
            )
        measure(conn, folders, rows)
        for video_id, objects in folders.items():
            if video_id not in rows:
                if max(info.modified for info in objects) < cutoff:
                    backend.delete_prefix(video_key(video_id))
                    removed["videos"] += 1
                continue
            for info in objects:
                if info.key.split("/")[2] == "subtitles" and info.key not in named and info.modified < cutoff:
                    backend.delete(info.key)
                    removed["subtitles"] += 1
            row = rows[video_id]
            if row.status != VideoStatus.READY or not row.hls_path:
                continue  # a job may be writing its outputs: only a ready video's extra outputs are stale
            serving = row.hls_path.rstrip("/").rsplit("/", 1)[-1]
            newest: dict[str, float] = {}
            for info in objects:
                name = info.key.split("/")[2]
                if name.startswith("hls-") and name != serving:
                    newest[name] = max(newest.get(name, 0.0), info.modified)
            for name, modified in newest.items():
                if modified < cutoff and f"{video_key(video_id)}{name}" not in watched:
                    backend.delete_prefix(f"{video_key(video_id)}{name}/")
                    removed["outputs"] += 1
        live = set(conn.scalars(sa.select(Upload.id).where(Upload.expires_at > sa.func.now())))
        for info in backend.objects("uploads/"):
            if info.key.removeprefix(STAGED_PREFIX) not in live and info.modified < cutoff:
                backend.delete(info.key)
                removed["staged"] += 1
        for key, upload_id, started in backend.multipart_uploads(STAGED_PREFIX):  # ours alone: a bucket can be shared
            if key.removeprefix(STAGED_PREFIX) not in live and started < cutoff:
                backend.abort_multipart(key, upload_id)
                removed["multipart"] += 1
    return removed


def measure(conn: sa.Connection, folders: dict[int, list[ObjectInfo]], rows: dict) -> None:
    """Each film's bytes in the store (its folder: source, outputs, subtitles), as this pass listed them, into
    `videos.stored_bytes` where they changed (the console's size, the service panel's and the metrics' storage
    used). Counted before the pass removes anything: what it removes is measured gone at the next."""
    changed = [
        {"video": video_id, "size": total}
        for video_id, objects in folders.items()
        if video_id in rows and rows[video_id].stored_bytes != (total := sum(info.size for info in objects))
    ]
    if changed:
        update = sa.update(Video.__table__).where(Video.__table__.c.id == sa.bindparam("video"))
        conn.execute(update.values(stored_bytes=sa.bindparam("size")), changed)


def measure_film(video_id: int) -> None:
    """One film's bytes in the store, measured now (its folder listed): when a report changes what it holds (ready,
    a further ladder joined), so the console shows its size at once rather than at the next sweep."""
    size = sum(info.size for info in storage.backend().objects(video_key(video_id)))
    with engine().begin() as conn:
        conn.execute(sa.update(Video).where(Video.id == video_id).values(stored_bytes=size))


#: the first pass comes this soon after a worker starts (at most), so a new deployment shows its storage
FIRST_PASS_SECONDS = 60.0


@app.task
async def sweeper() -> None:
    """Sweep every SWEEP_INTERVAL seconds (the first pass within FIRST_PASS_SECONDS); a failed pass is logged
    and tried again at the next."""
    wait = min(app.settings.sweep_interval, FIRST_PASS_SECONDS)
    while True:
        await asyncio.sleep(wait)
        wait = app.settings.sweep_interval
        try:
            removed = await in_thread(sweep, app.settings.sweep_grace)
        except Exception as exc:  # the store or the database is away: the next pass catches up
            log.warning("storage sweep failed: %s", exc)
            continue
        if any(removed.values()):
            log.info("storage sweep removed %s", removed)
