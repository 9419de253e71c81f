"""Which login sessions were recently seen live, so the requests a player makes every few seconds (playlists,
segments) skip the session lookup.

A revocation in this process clears the cache once its transaction commits (not before: a request racing the
revocation could otherwise cache the still-committed old state); one in another process shows here within
LIVE_TTL seconds. The access token itself is still verified on every request.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from cachetools import TTLCache
from sqlalchemy.orm import Session

from videoflix.core.models import AuthSession

from ..caches import LockedCache

#: (user id, session id) pairs seen live within the last LIVE_TTL seconds
LIVE_TTL = 5.0
cache: LockedCache[bool] = LockedCache(TTLCache(maxsize=65536, ttl=LIVE_TTL))
_REVOKED = "videoflix.sessions_revoked"


def sessions_revoked(db: Session) -> None:
    """Mark the transaction: once it commits, no cached live session may outlive it."""
    db.info[_REVOKED] = True


def end_sessions(db: Session, user_id: int, now: datetime) -> int:
    """Revoke every login session of the user still open (a password change, a deactivation): how many."""
    ended = db.execute(
        sa.update(AuthSession)
        .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    sessions_revoked(db)
    return ended.rowcount


@sa.event.listens_for(Session, "after_commit")
def _forget_live_sessions(session: Session) -> None:
    if session.info.pop(_REVOKED, False):
        cache.clear()


@sa.event.listens_for(Session, "after_soft_rollback")
def _keep_live_sessions(session: Session, previous_transaction) -> None:
    if not session.in_transaction():
        session.info.pop(_REVOKED, None)
