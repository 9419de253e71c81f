"""A film's keys as its jobs use them (`videoflix.core.hls_keys`): made once when its encode is planned with
HLS_ENCRYPTION on, then read by every job of the film on any worker, so all of them seal its segments alike.
A film that has keys is sealed from then on (its outputs made again, its further ladders), whatever the
setting says later: a film is never half sealed by workers that disagree."""

from __future__ import annotations

import sqlalchemy as sa
from cachetools import LRUCache
from sqlalchemy.dialects.postgresql import insert as pg_insert

from videoflix.core.hls_keys import FilmKeys
from videoflix.core.models import VideoKey
from videoflix.core.storage import video_key

from . import db, storage
from .app import app

#: keys never change once made: read once per film and process
_known: LRUCache[int, FilmKeys] = LRUCache(maxsize=256)


def read(video_id: int) -> FilmKeys | None:
    """(In a thread.) The film's keys, if it has any."""
    if (keys := _known.get(video_id)) is not None:
        return keys
    with db.engine().connect() as conn:
        row = conn.execute(sa.select(VideoKey.seed, VideoKey.rotation).where(VideoKey.video_id == video_id)).first()
    if row is None:
        return None
    keys = _known[video_id] = FilmKeys(bytes(row.seed), row.rotation)
    return keys


def planned(video_id: int) -> FilmKeys | None:
    """(In a thread, when a film's encode is planned.) Its keys: those it has, or, with HLS_ENCRYPTION on, new
    ones (two planners at once keep the first's)."""
    if not app.settings.hls_encryption:
        return read(video_id)
    with db.engine().begin() as conn:
        keep(conn, video_id, FilmKeys.new(app.settings.hls_key_rotation))
    return read(video_id)


def keep(conn: sa.Connection, video_id: int, keys: FilmKeys) -> bool:
    """Make `keys` the film's, unless it has keys already (which stay); whether they are its keys now."""
    made = conn.execute(
        pg_insert(VideoKey)
        .values(video_id=video_id, seed=keys.seed, rotation=keys.rotation)
        .on_conflict_do_nothing(index_elements=[VideoKey.video_id])
        .returning(VideoKey.video_id)
    )
    return made.first() is not None


def video_of(relative: str) -> int:
    """The film whose output folder is `relative` (`videos/<id>/hls-…`)."""
    number = relative.split("/")[1]
    if not number.isdigit() or not relative.startswith(video_key(int(number))):
        raise ValueError(f"not a film's output: {relative}")
    return int(number)


def output(relative: str) -> storage.Output:
    """(In a thread.) The film's output `relative` as its jobs share it, sealed with the film's keys if any."""
    return storage.Output(relative, read(video_of(relative)))
