"""Login sessions behind the refresh cookie: start, rotate (with replay detection), revoke, and the lookup
that turns an access token's claims into the current user."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from videoflix.core.models import AuthSession, User

from ..errors import AuthenticationFailed
from .accounts import utcnow
from .live_sessions import sessions_revoked

#: seconds the refresh token id a refresh rotated out stays good: long enough for a request that raced the
#: rotation with the same cookie, short enough that a stolen copy used later is still caught as a replay
ROTATION_GRACE = 10


class SessionService:
    def __init__(
        self,
        dbsession: Session,
        refresh_ttl: int,
        clock: Callable[[], datetime] = utcnow,
        max_age: int = 30 * 24 * 3600,
    ):
        self.db = dbsession
        self.refresh_ttl = timedelta(seconds=refresh_ttl)
        self.max_age = timedelta(seconds=max_age)
        self.clock = clock

    def start(self, user: User, user_agent: str | None = None, address: str | None = None) -> AuthSession:
        """A new login session; what logged in (`user_agent`, `address`) is kept for operators, cut to fit."""
        now = self.clock()
        session = AuthSession(
            id=uuid.uuid4(),
            user=user,
            refresh_jti=secrets.token_urlsafe(16),
            created_at=now,
            refreshed_at=now,
            expires_at=self._end(now, now),
            user_agent=_printable(user_agent, 200),
            address=_printable(address, 64),
        )
        self.db.add(session)
        self.db.flush()
        return session

    def rotate(self, session_id: str, jti: str) -> AuthSession:
        """Swap the session's refresh token id for a new one, the session's end moving on by the refresh TTL
        but never past `max_age` after the login. The id just rotated out, presented within ROTATION_GRACE
        seconds, gets the current one again (two requests raced with the same cookie; whichever answer the
        browser keeps, it holds the current id). Any other older id means the token was copied and used after
        a rotation: the session is revoked so neither copy works any longer."""
        session = self._get(session_id, lock=True)
        now = self.clock()
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise AuthenticationFailed("Refresh token is invalid or expired.")
        if not secrets.compare_digest(session.refresh_jti, jti):
            raced = session.previous_jti is not None and secrets.compare_digest(session.previous_jti, jti)
            if raced and now - session.refreshed_at <= timedelta(seconds=ROTATION_GRACE):
                return session
            session.revoked_at = now
            sessions_revoked(self.db)
            raise ReplayDetected()
        if not session.user.is_active:
            raise AuthenticationFailed("Refresh token is invalid or expired.")
        session.previous_jti, session.refresh_jti = session.refresh_jti, secrets.token_urlsafe(16)
        session.refreshed_at = now
        session.expires_at = self._end(session.created_at, now)
        return session

    def _end(self, login: datetime, now: datetime) -> datetime:
        """When a session ends: a refresh TTL from now, never past `max_age` after its login."""
        return min(now + self.refresh_ttl, login + self.max_age)

    def revoke(self, session_id: str) -> None:
        session = self._get(session_id, lock=True)
        if session is not None and session.revoked_at is None:
            session.revoked_at = self.clock()
            sessions_revoked(self.db)

    def active_user(self, user_id: str, session_id: str) -> User | None:
        """The user of a live session, in one query: the per-request cost of cookie authentication."""
        if not user_id.isdigit():
            return None
        sid = _uuid(session_id)
        if sid is None:
            return None
        return self.db.scalar(
            sa.select(User)
            .join(AuthSession, AuthSession.user_id == User.id)
            .where(
                User.id == int(user_id),
                User.is_active.is_(True),
                AuthSession.id == sid,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > self.clock(),
            )
        )

    def _get(self, session_id: str, lock: bool = False) -> AuthSession | None:
        sid = _uuid(session_id)
        if sid is None:
            return None
        query = sa.select(AuthSession).where(AuthSession.id == sid)
        return self.db.scalar(query.with_for_update() if lock else query)


class ReplayDetected(AuthenticationFailed):
    """Raised after the session was revoked; the revocation must be committed, not rolled back."""

    detail = "Refresh token was already used; the session has been ended."


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _printable(value: str | None, limit: int) -> str | None:
    """Header text as the database can keep it: printable ASCII (a header may carry anything), at most `limit`."""
    if not value:
        return None
    return "".join(c if " " <= c <= "~" else "?" for c in value[:limit]) or None
