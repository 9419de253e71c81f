"""What operators do to accounts (the console's accounts panel and `videoflix user ...`): find them, see their
login sessions, deactivate and reactivate them, make and unmake operators, each change kept in the audit log.

Two rules hold whatever the caller: a deactivated account stays off until an operator lifts it (its sessions,
playback and mail links end with the deactivation; `AccountService` gives it no new ones), and the service keeps
at least one active operator (the last one cannot be deactivated or demoted, or nobody could undo it but SQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from videoflix.core.models import AccountAudit, AuthSession, User

from ..errors import Conflict, NotFound
from .accounts import expire_links, utcnow
from .live_sessions import end_sessions


class LastOperator(Conflict):
    detail = "This is the last active operator account: make another account an operator first."


@dataclass(frozen=True)
class Actor:
    """Who acts: an operator's account, or the command line (`user_id` None)."""

    label: str
    user_id: int | None = None

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.email, user.id)


@dataclass(frozen=True)
class AccountSummary:
    user: User
    #: login sessions not revoked nor expired
    sessions: int
    #: the latest login or token refresh (an access token lives minutes, so a browser in use refreshes often)
    last_active: datetime | None


class AccountAdmin:
    def __init__(self, dbsession: Session, clock: Callable[[], datetime] = utcnow):
        self.db = dbsession
        self.clock = clock

    # -- reading ----------------------------------------------------------------------------------------
    def search(self, query: str | None, limit: int | None, offset: int) -> tuple[list[AccountSummary], int]:
        """Accounts whose address contains `query` (every account without one), newest first, and how many."""
        now = self.clock()
        live = (
            sa.select(
                AuthSession.user_id,
                sa.func.count().filter(AuthSession.revoked_at.is_(None), AuthSession.expires_at > now).label("n"),
                sa.func.max(AuthSession.refreshed_at).label("refreshed"),
            )
            .group_by(AuthSession.user_id)
            .subquery()
        )
        where = sa.true() if not query else User.email.contains(query.strip().lower(), autoescape=True)
        total = self.db.scalar(sa.select(sa.func.count()).select_from(User).where(where)) or 0
        rows = self.db.execute(
            sa.select(User, sa.func.coalesce(live.c.n, 0), live.c.refreshed)
            .outerjoin(live, live.c.user_id == User.id)
            .where(where)
            .order_by(User.id.desc())
            .limit(limit)
            .offset(offset)
        ).all()
        return [AccountSummary(user, n, _latest(user.last_login_at, refreshed)) for user, n, refreshed in rows], total

    def get(self, user_id: int) -> User:
        user = self.db.get(User, user_id)
        if user is None:
            raise NotFound("No such account.")
        return user

    def by_email(self, email: str) -> User:
        user = self.db.scalar(sa.select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise NotFound(f"No account has the address {email.strip().lower()}.")
        return user

    def summary(self, user: User, sessions: Sequence[AuthSession] | None = None) -> AccountSummary:
        """The account as the list shows it; `sessions`: its open sessions, if the caller has read them."""
        sessions = self.sessions(user) if sessions is None else sessions
        refreshed = max((s.refreshed_at for s in sessions), default=None)
        return AccountSummary(user, len(sessions), _latest(user.last_login_at, refreshed))

    def sessions(self, user: User) -> Sequence[AuthSession]:
        """The account's open login sessions, the most recently active first."""
        return self.db.scalars(
            sa.select(AuthSession)
            .where(
                AuthSession.user_id == user.id,
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > self.clock(),
            )
            .order_by(AuthSession.refreshed_at.desc())
        ).all()

    def audit(self, limit: int | None, offset: int, user: User | None = None) -> tuple[Sequence[AccountAudit], int]:
        """The audit log, newest first (of one account's changes, or all), and its length."""
        where = sa.true() if user is None else AccountAudit.user_id == user.id
        total = self.db.scalar(sa.select(sa.func.count()).select_from(AccountAudit).where(where)) or 0
        query = sa.select(AccountAudit).where(where).order_by(AccountAudit.id.desc()).limit(limit).offset(offset)
        return self.db.scalars(query).all(), total

    # -- changes ----------------------------------------------------------------------------------------
    def deactivate(self, user: User, actor: Actor) -> bool:
        """Switch the account off: every login session ends (and with it every playback the app serves), every
        mailed link dies. False when it was off already (nothing changes, nothing is logged)."""
        if user.deactivated_at is not None:
            return False
        self._keep_an_operator(user)
        now = self.clock()
        user.is_active = False
        user.deactivated_at = now
        end_sessions(self.db, user.id, now)
        expire_links(self.db, user.id, now)
        self._log(actor, "deactivate", user)
        return True

    def activate(self, user: User, actor: Actor) -> bool:
        """Lift a deactivation, or activate an account whose owner never did. False when already active."""
        if user.is_active:
            return False
        now = self.clock()
        user.is_active = True
        user.deactivated_at = None
        user.activated_at = user.activated_at or now
        self._log(actor, "activate", user)
        return True

    def set_staff(self, user: User, staff: bool, actor: Actor) -> bool:
        """Make or unmake an operator. False when the account already is what was asked."""
        if user.is_staff == staff:
            return False
        if not staff:
            self._keep_an_operator(user)
        user.is_staff = staff
        self._log(actor, "staff" if staff else "unstaff", user)
        return True

    def _keep_an_operator(self, user: User) -> None:
        """Refuse to take away the last active operator. The active operators' rows are locked first, so two
        operators demoting each other at once cannot both succeed."""
        operators = self.db.scalars(
            sa.select(User.id).where(User.is_staff.is_(True), User.is_active.is_(True)).with_for_update()
        ).all()
        if user.is_staff and user.is_active and set(operators) <= {user.id}:
            raise LastOperator()

    def _log(self, actor: Actor, action: str, user: User) -> None:
        self.db.add(
            AccountAudit(
                at=self.clock(), actor_id=actor.user_id, actor=actor.label[:320], action=action, user_id=user.id,
                email=user.email,
            )
        )  # fmt: skip
        self.db.flush()


def _latest(*moments: datetime | None) -> datetime | None:
    return max((m for m in moments if m is not None), default=None)


def session_label(session_id: uuid.UUID) -> str:
    """A login session as operators see it: enough of its id to tell sessions apart, not enough to use."""
    return str(session_id)[:8]
