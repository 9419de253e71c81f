"""Rate limiting: fixed-window counters in PostgreSQL, shared by every web process.

One statement per hit (an upsert that starts a new window once the old one has ended), so concurrent
requests count exactly. Each hit also deletes a few expired counters, which keeps the table as small as the
set of keys seen within one window, even under a spray of made-up emails.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from videoflix.core.models import RateLimitCounter

from ..config import Limit
from ..errors import TooManyRequests
from .accounts import utcnow


def _hit(key: str, now: datetime, window: int) -> sa.Insert:
    """Count a hit, starting a new window if the old one has ended; returns (hits, expires_at). An ORM
    statement, so zope.sqlalchemy sees the write and commits it (it rolls back sessions that only ran text)."""
    insert = postgresql.insert(RateLimitCounter).values(key=key, hits=1, expires_at=now + timedelta(seconds=window))
    ended = RateLimitCounter.expires_at <= now
    return insert.on_conflict_do_update(
        index_elements=[RateLimitCounter.key],
        set_={
            "hits": sa.case((ended, 1), else_=RateLimitCounter.hits + 1),
            "expires_at": sa.case((ended, insert.excluded.expires_at), else_=RateLimitCounter.expires_at),
        },
    ).returning(RateLimitCounter.hits, RateLimitCounter.expires_at)


def _purge(now: datetime) -> sa.Delete:
    expired = (
        sa.select(RateLimitCounter.key)
        .where(RateLimitCounter.expires_at <= now)
        .limit(10)
        .with_for_update(skip_locked=True)
    )
    return sa.delete(RateLimitCounter).where(RateLimitCounter.key.in_(expired.scalar_subquery()))


class Throttle:
    def __init__(self, dbsession: Session, clock: Callable[[], datetime] = utcnow):
        self.db = dbsession
        self.clock = clock

    def hit(self, key: str, limit: Limit) -> None:
        """Count one hit on `key`; TooManyRequests if that makes more than the limit allows."""
        if not limit.count:
            return
        now = self.clock()
        self.db.execute(_purge(now), execution_options={"synchronize_session": False})
        hits, expires_at = self.db.execute(_hit(key, now, limit.seconds)).one()
        if hits > limit.count:
            raise TooManyRequests(retry_after=_seconds_until(expires_at, now))

    def check(self, key: str, limit: Limit) -> None:
        """TooManyRequests if `key` has used up its limit; counts nothing."""
        if not limit.count:
            return
        now = self.clock()
        row = self.db.execute(
            sa.select(RateLimitCounter.hits, RateLimitCounter.expires_at).where(
                RateLimitCounter.key == key, RateLimitCounter.expires_at > now
            )
        ).one_or_none()
        if row is not None and row.hits >= limit.count:
            raise TooManyRequests(retry_after=_seconds_until(row.expires_at, now))


def _seconds_until(moment: datetime, now: datetime) -> int:
    return max(1, math.ceil((moment - now).total_seconds()))
