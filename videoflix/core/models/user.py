"""Accounts and what hangs off them: one-time tokens (activation, password reset), login sessions, and the
audit log of what operators did to them."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Enum, ForeignKey, String, false, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .meta import Base


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-cased, so uniqueness is case-insensitive
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    is_staff: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: when an operator deactivated the account (None: never, or lifted since). Apart from an account never
    #: activated, whose owner may still activate it by mail: a deactivated one stays off until an operator
    #: lifts it (no registration, mail link or password reset turns it back on)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email!r}>"


class TokenPurpose(enum.StrEnum):
    ACTIVATION = "activation"
    PASSWORD_RESET = "password_reset"  # noqa: S105 - a purpose name, not a password


class AccountToken(Base):
    """A single-use, expiring secret mailed to the user. Only its SHA-256 is stored: a database leak
    does not hand out working links."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(
        Enum(TokenPurpose, name="token_purpose", values_callable=lambda e: [m.value for m in e])
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: an activation token's: the password of the registration it was mailed for, which activating it sets
    #: (another registration of the same pending address has its own link and its own password)
    password_hash: Mapped[str | None] = mapped_column(String(255))

    user: Mapped[User] = relationship()


class AuthSession(Base):
    """One login. The refresh cookie names the session and its current token id (`refresh_jti`); a refresh
    rotates the id, so presenting an older one is a replay and revokes the whole session. Access tokens
    carry the session id too, so logout or a password change ends them at once, not at their expiry. A session
    ends `SESSION_MAX_AGE` after its login however often it is refreshed."""

    __tablename__ = "auth_sessions"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    refresh_jti: Mapped[str] = mapped_column(String(64))
    #: the id rotated out by the last refresh (at `refreshed_at`): still good for ROTATION_GRACE seconds, so two
    #: refreshes racing with the same cookie (the console's polling and a tus retry) do not end the session
    previous_jti: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    refreshed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: what logged in, for operators telling an account's sessions apart: the browser's User-Agent (cut) and
    #: the client's address (as the server saw it, behind a trusted proxy its X-Forwarded-For)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class AccountAudit(Base):
    """One thing an operator did to an account (deactivate, activate, staff, unstaff), kept when either account
    is deleted: who (`actor`: their email, or the command line's `videoflix user ... (os user@host)`), to whom
    (the address at the time), and when."""

    __tablename__ = "account_audit"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    email: Mapped[str] = mapped_column(String(254))
