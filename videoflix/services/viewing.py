"""Viewers' progress and view counts as plain code (the tables: models/viewing.py).

A player reports its position every few seconds while it plays: `report` is one statement (an upsert, no
read first) that also checks the video and the position, and counts a view when the viewer has been
watching long enough and their player loaded the film's playlist (`playback_started`, which the playlist
views record: progress reports alone, which a script can send, count nothing). A report within
MIN_REPORT_GAP of the last one changes nothing (a player gone wild costs one index lookup a request, never a
stream of row versions).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
import zope.sqlalchemy
from sqlalchemy.orm import Session

from videoflix.core.models.video import WATCHABLE_SQL
from videoflix.core.models.viewing import fold_views

from ..errors import InvalidInput, NotFound
from .accounts import utcnow

#: a report this soon after the viewer's last one for the video is not written
MIN_REPORT_GAP = "1 second"
#: reports further apart than this start a new viewing (the time watched starts again)
VIEWING_GAP = "60 seconds"
#: a view counts once a viewer has been watching this long...
VIEW_AFTER = "10 seconds"
#: ...and at most once per viewer in this long
VIEW_EVERY = "6 hours"
#: watched this far, a video is done: it leaves "continue watching" and shows as completed
COMPLETED_PERCENT = 95.0


def completed_sql(position: str, duration: str) -> str:
    """The SQL condition "watched to its end" (COMPLETED_PERCENT) of the columns `position` and `duration`."""
    return f"{position} >= {duration} * {COMPLETED_PERCENT / 100}"


#: a position may lie this far past the stated duration (containers round it; players overshoot)
END_TOLERANCE = 1.0

#: a player's playlist loads are recorded at most this often per viewer and film
PLAYBACK_MARK_EVERY = "60 seconds"

REPORT = sa.text(
    f"""
    WITH played AS (
        SELECT EXISTS (SELECT 1 FROM playback_starts WHERE user_id = :user AND video_id = :video
                       AND started_at >= CAST(:now AS timestamptz) - interval '{VIEW_EVERY}') AS yes
    ), video AS (
        SELECT id FROM videos
        WHERE id = :video AND status IN ({WATCHABLE_SQL})
          AND (duration IS NULL OR :position <= duration + {END_TOLERANCE})
    ), written AS (
        INSERT INTO watch_progress AS p (user_id, video_id, position, updated_at, watching_since)
        SELECT :user, id, :position, :now, :now FROM video
        ON CONFLICT (user_id, video_id) DO UPDATE SET
            position = excluded.position,
            updated_at = excluded.updated_at,
            watching_since = CASE WHEN p.updated_at < excluded.updated_at - interval '{VIEWING_GAP}'
                                  THEN excluded.updated_at ELSE p.watching_since END,
            counted_at = CASE WHEN p.updated_at >= excluded.updated_at - interval '{VIEWING_GAP}'
                                   AND p.watching_since <= excluded.updated_at - interval '{VIEW_AFTER}'
                                   AND (p.counted_at IS NULL
                                        OR p.counted_at < excluded.updated_at - interval '{VIEW_EVERY}')
                                   AND (SELECT yes FROM played)
                              THEN excluded.updated_at ELSE p.counted_at END
        WHERE p.updated_at < excluded.updated_at - interval '{MIN_REPORT_GAP}'
        RETURNING p.video_id, p.counted_at IS NOT DISTINCT FROM p.updated_at AS counted
    ), viewed AS (
        INSERT INTO video_views (video_id, viewed_at)
        SELECT video_id, :now FROM written WHERE counted RETURNING id
    )
    SELECT (SELECT count(*) FROM video), (SELECT count(*) FROM viewed)
    """  # noqa: S608 - the interpolated values are this module's constants
)


MARK_PLAYBACK = sa.text(
    f"""
    INSERT INTO playback_starts AS s (user_id, video_id, started_at)
    SELECT :user, id, :now FROM videos WHERE id = :video
    ON CONFLICT (user_id, video_id) DO UPDATE SET started_at = excluded.started_at
    WHERE s.started_at < excluded.started_at - interval '{PLAYBACK_MARK_EVERY}'
    """  # noqa: S608 - the interpolated value is this module's constant
)


@dataclass(frozen=True)
class Reported:
    #: a view was counted by this report
    counted: bool


class ViewingService:
    def __init__(self, dbsession: Session):
        self.db = dbsession

    def report(self, user_id: int, video_id: int, position: float, now: datetime | None = None) -> Reported:
        """Where `user_id` is in a watchable video at `now` (the web process's clock: a transaction's own
        time would stand still through a long one); 404 for a video that is not watchable (or not there),
        400 for a position past its end. Negative positions never get here (the schema refuses them)."""
        params = {"user": user_id, "video": video_id, "position": position, "now": now or utcnow()}
        found, counted = self.db.execute(REPORT, params).one()
        if not found:
            duration = self.db.execute(
                sa.text(f"SELECT duration FROM videos WHERE id = :id AND status IN ({WATCHABLE_SQL})"),  # noqa: S608
                {"id": video_id},
            ).first()
            if duration is None:
                raise NotFound("No video with this id.")
            raise InvalidInput.field("position", f"Past the end of the video ({duration[0]:.1f} s).")
        zope.sqlalchemy.mark_changed(self.db)  # (a text statement: the transaction must commit it)
        return Reported(counted=bool(counted))

    def playback_started(self, user_id: int, video_id: int, now: datetime | None = None) -> None:
        """The viewer's player loaded a playlist of the video: the signal that a later view is real playback
        (a script sending progress reports alone counts none). One upsert, skipped within
        PLAYBACK_MARK_EVERY of the last, so a player re-reading a growing film's playlist writes once a minute."""
        self.db.execute(MARK_PLAYBACK, {"user": user_id, "video": video_id, "now": now or utcnow()})
        zope.sqlalchemy.mark_changed(self.db)

    def forget(self, user_id: int, video_id: int) -> None:
        """The viewer's progress in one video, gone (whether or not there was any)."""
        self.db.execute(
            sa.text("DELETE FROM watch_progress WHERE user_id = :user AND video_id = :video"),
            {"user": user_id, "video": video_id},
        )
        zope.sqlalchemy.mark_changed(self.db)

    def fold_views(self) -> int:
        """`models.viewing.fold_views` in this request's transaction (the workers' relay runs it too)."""
        moved = fold_views(self.db)
        zope.sqlalchemy.mark_changed(self.db)
        return moved
