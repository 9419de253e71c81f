"""Sealing the films made before HLS_ENCRYPTION was on (`videoflix.core.hls_keys`), in the background and without
downtime.

With HLS_ENCRYPTION on, one worker at a time (a PostgreSQL advisory lock) takes the ready films that have no
keys, oldest first, and for each: new keys; a sealed copy of its output under a new folder (every segment
sealed, every media playlist keyed, everything else as it is); then, in one transaction, the keys and the
film's row naming the copy. Nothing changes for a viewer mid-film: their playback began on the old output
and plays on from it (`models.playback`), which the storage sweep keeps while a playback names it; whoever
starts after plays the sealed one. A film whose further ladders are being made (its ladders' claim, or a
plan in parts) waits for the next round; one whose output changed while it was copied (made again) is left
as it is now, its copy removed.
"""

from __future__ import annotations

import asyncio
import logging
import uuid

import sqlalchemy as sa

from videoflix.core.hls_keys import FilmKeys, sealed_name
from videoflix.core.models import Video, VideoKey, VideoPart, VideoStatus
from videoflix.core.storage import video_key

from . import db, film_keys, storage
from .app import app
from .db import in_thread

log = logging.getLogger(__name__)

SEAL_LOCK = 0x56465345  # "VFSE"


class _Moved(Exception):
    """The film's output is no longer the one copied."""


def candidates(conn: sa.Connection, limit: int) -> list[tuple[int, str]]:
    """Ready films without keys and with no plan in progress, oldest first: (id, output)."""
    query = (
        sa.select(Video.id, Video.hls_path)
        .where(
            Video.status == VideoStatus.READY,
            Video.hls_path.is_not(None),
            ~sa.exists().where(VideoKey.video_id == Video.id),
            ~sa.exists().where(VideoPart.video_id == Video.id),
        )
        .order_by(Video.id)
        .limit(limit)
    )
    return [(row.id, row.hls_path) for row in conn.execute(query)]


def sealed_copy(old: str, new: str, keys: FilmKeys) -> int:
    """Copy the output `old` to `new`, sealed; how many segments were sealed."""
    backend, prefix = storage.backend(), old.rstrip("/") + "/"
    sealed = 0
    for key in list(backend.keys(prefix)):
        name = key[len(prefix) :]
        data = b"".join(backend.read(key))
        if name.endswith(".m3u8"):
            data = keys.keyed_named(name, data.decode("utf-8")).encode("utf-8")
        elif sealed_name(name):
            data = keys.seal_named(name, data)
            sealed += 1
        backend.put_bytes(f"{new}/{name}", data, storage.content_type_of(name))
    return sealed


def seal_film(video_id: int, old: str) -> bool:
    """(In a thread.) Seal one film's output as the module says; whether its row now names a sealed output."""
    claim = db.claim_ladders(video_id)
    if claim is None:  # its further ladders are being made in one pass: the next round
        return False
    new = f"{video_key(video_id)}hls-{uuid.uuid4().hex[:12]}"
    try:
        keys = FilmKeys.new(app.settings.hls_key_rotation)
        count = sealed_copy(old, new, keys)
        try:
            with db.engine().begin() as conn:
                switch = sa.update(Video).where(
                    Video.id == video_id, Video.hls_path == old, Video.status == VideoStatus.READY
                )
                if not film_keys.keep(conn, video_id, keys) or not conn.execute(switch.values(hls_path=new)).rowcount:
                    raise _Moved  # (the keys' row goes with the transaction)
        except _Moved:  # made again (or sealed by its own planner) meanwhile: as it is now
            storage.backend().delete_prefix(new + "/")
            return False
        log.info("video %s sealed: %d segments, its output now %s (%s kept while played)", video_id, count, new, old)
        return True
    except BaseException:
        storage.backend().delete_prefix(new + "/")
        raise
    finally:
        db.release_claim(claim)


def seal_existing(limit: int = 10) -> int:
    """(In a thread.) One round, if no other worker is sealing: up to `limit` films; how many were sealed."""
    with db.engine().connect() as lock:
        if not lock.scalar(sa.select(sa.func.pg_try_advisory_lock(SEAL_LOCK))):
            return 0
        try:
            with db.engine().connect() as conn:
                films = candidates(conn, limit)
            return sum(seal_film(video_id, output) for video_id, output in films)
        finally:
            lock.execute(sa.select(sa.func.pg_advisory_unlock(SEAL_LOCK)))
            lock.commit()


@app.task
async def sealer() -> None:
    """With HLS_ENCRYPTION on, a round every SEAL_INTERVAL seconds (at once again while films remain); a failed
    round is logged and tried again at the next."""
    while True:
        await asyncio.sleep(app.settings.seal_interval)
        if not app.settings.hls_encryption:
            continue
        try:
            while await in_thread(seal_existing):
                pass
        except Exception as exc:  # the store or the database is away: the next round catches up
            log.warning("sealing existing films failed: %s", exc)
