"""Account life cycle as a plain service over a session: sign up, activate, authenticate, reset password.

No HTTP here: the views translate requests into these calls, and the domain errors raised here into
responses. Mails are not sent here either; callers get back the token that belongs in the mail.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from videoflix.core.models import AccountToken, TokenPurpose, User

from ..config import Settings
from ..errors import InvalidInput, InvalidToken, VideoflixError
from ..passwords import Hasher, email_problem
from .live_sessions import end_sessions


def utcnow() -> datetime:
    return datetime.now(UTC)


def encode_uid(user_id: int) -> str:
    """The `uidb64` of mail links: URL-safe base64 of the decimal id, unpadded (the Django original's form)."""
    return base64.urlsafe_b64encode(str(user_id).encode()).decode().rstrip("=")


def decode_uid(uidb64: str) -> int | None:
    try:
        raw = base64.urlsafe_b64decode(uidb64 + "=" * (-len(uidb64) % 4)).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class InvalidCredentials(VideoflixError):
    """Same status and text for an unknown email, a wrong password and an inactive account."""

    status = 400
    detail = "Invalid email or password, or the account is not activated yet."


@dataclass(frozen=True)
class MailToken:
    """What a mail link carries: whom it is for and the secret (which is stored only as a digest)."""

    user: User
    uidb64: str
    token: str
    purpose: TokenPurpose = TokenPurpose.ACTIVATION
    #: an activation for an address that already had one outstanding (another registration of it)
    again: bool = False


class AccountService:
    def __init__(
        self,
        dbsession: Session,
        settings: Settings,
        hasher: Hasher,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.db = dbsession
        self.settings = settings
        self.hasher = hasher
        self.clock = clock

    # -- lookups ----------------------------------------------------------------------------------------
    def by_email(self, email: str) -> User | None:
        return self.db.scalar(sa.select(User).where(User.email == email.strip().lower()))

    # -- registration -----------------------------------------------------------------------------------
    def register(self, email: str, password: str, *, is_staff: bool = False, active: bool = False) -> MailToken:
        """Create an account (inactive unless `active`) and its activation token; an existing email is a field
        error. For operators and set-up (`videoflix user create`); the public endpoint uses `sign_up`."""
        email = email.strip().lower()
        if self.by_email(email) is not None:
            raise InvalidInput.field("email", "A user with this email already exists.")
        user = User(email=email, password_hash=self.hasher.hash(password), is_active=active, is_staff=is_staff)
        if active:
            user.activated_at = self.clock()
        try:
            with self.db.begin_nested():  # a concurrent registration of the same email loses here, cleanly
                self.db.add(user)
                self.db.flush()
        except IntegrityError:
            raise InvalidInput.field("email", "A user with this email already exists.") from None
        return self._issue(user, TokenPurpose.ACTIVATION, self.settings.activation_token_ttl, user.password_hash)

    def sign_up(self, email: str, password: str) -> MailToken | None:
        """A registration from the public endpoint, which must tell nobody whether the address has an account
        and must not let anyone squat an address they cannot read mail for. Every case hashes the password once
        and issues one mail token, so the answer and its timing are the same:
        - a new address: an inactive account and its activation link;
        - an account never activated: a fresh activation link of this registration, carrying its password;
          earlier links stay good, each for its own registration and password, until one is used (so whoever
          registered the address first cannot keep its owner out, and whoever registers it after its owner
          cannot have the owner's click activate their password);
        - an active account: nothing changes; its owner gets a reset link (purpose PASSWORD_RESET) with a
          notice that someone tried to register the address;
        - an account an operator deactivated: nothing changes and nothing is mailed (None); only an operator
          brings it back."""
        email = email.strip().lower()
        password_hash = self.hasher.hash(password)
        locked = sa.select(User).where(User.email == email).with_for_update()
        user = self.db.scalar(locked)
        if user is None:
            user = User(email=email, password_hash=password_hash, is_active=False)
            try:
                with self.db.begin_nested():
                    self.db.add(user)
                    self.db.flush()
            except IntegrityError:  # a concurrent sign-up of the same address created it first
                user = self.db.scalar(locked)
            else:
                return self._issue(user, TokenPurpose.ACTIVATION, self.settings.activation_token_ttl, password_hash)
        if user.deactivated_at is not None:
            return None
        if user.is_active:
            return self._issue(user, TokenPurpose.PASSWORD_RESET, self.settings.password_reset_token_ttl)
        mail = self._issue(user, TokenPurpose.ACTIVATION, self.settings.activation_token_ttl, password_hash)
        return replace(mail, again=True)

    def activate(self, uidb64: str, token: str) -> User:
        """Activate the registration the link was mailed for, with its password; every other link of the
        account dies."""
        token_row = self._consume(uidb64, token, TokenPurpose.ACTIVATION)
        user = token_row.user
        if token_row.password_hash is not None:  # (a link issued before migration 0019 keeps the account's)
            user.password_hash = token_row.password_hash
        user.is_active = True
        user.activated_at = self.clock()
        self._expire_outstanding(user, TokenPurpose.ACTIVATION)
        return user

    # -- login ------------------------------------------------------------------------------------------
    def authenticate(self, email: str, password: str) -> User:
        """The active user with these credentials. Every failure costs one argon2 verification, so the
        response time does not tell whether the email exists."""
        user = self.by_email(email)
        if user is None:
            self.hasher.dummy_verify(password)
            raise InvalidCredentials()
        if not self.hasher.verify(user.password_hash, password) or not user.is_active:
            raise InvalidCredentials()
        if self.hasher.needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
        user.last_login_at = self.clock()
        return user

    # -- password reset ---------------------------------------------------------------------------------
    def request_password_reset(self, email: str) -> MailToken | None:
        """A reset token for an active account, or None; callers answer the same way in both cases."""
        user = self.by_email(email)
        if user is None or not user.is_active:
            return None
        return self._issue(user, TokenPurpose.PASSWORD_RESET, self.settings.password_reset_token_ttl)

    def confirm_password_reset(self, uidb64: str, token: str, new_password: str) -> User:
        """The form of the reset link has no email field: the rule against a password made of the email is
        checked here, with the account's. A refused password raises, so the transaction (and the link's use)
        is rolled back: the link still works."""
        token_row = self._consume(uidb64, token, TokenPurpose.PASSWORD_RESET)
        user = token_row.user
        if problem := email_problem(new_password, user.email):
            raise InvalidInput.field("new_password", problem)
        self.set_password(user, new_password)
        return user

    def set_password(self, user: User, new_password: str) -> None:
        """Change the password; every outstanding reset link and every login session of the user dies."""
        user.password_hash = self.hasher.hash(new_password)
        user.password_changed_at = now = self.clock()
        self._expire_outstanding(user, TokenPurpose.PASSWORD_RESET)
        end_sessions(self.db, user.id, now)

    # -- tokens -----------------------------------------------------------------------------------------
    def _issue(self, user: User, purpose: TokenPurpose, ttl: int, password_hash: str | None = None) -> MailToken:
        token = secrets.token_urlsafe(32)
        now = self.clock()
        self.db.add(
            AccountToken(
                user=user,
                purpose=purpose,
                token_hash=token_digest(token),
                created_at=now,
                expires_at=now + timedelta(seconds=ttl),
                password_hash=password_hash,
            )
        )
        self.db.flush()
        return MailToken(user=user, uidb64=encode_uid(user.id), token=token, purpose=purpose)

    def _consume(self, uidb64: str, token: str, purpose: TokenPurpose) -> AccountToken:
        """Mark a valid token used and return it. The row lock makes two simultaneous uses of one link
        end with exactly one success."""
        user_id = decode_uid(uidb64)
        if user_id is None or not token or len(token) > 256:
            raise InvalidToken()
        row = self.db.scalar(
            sa.select(AccountToken)
            .where(
                AccountToken.token_hash == token_digest(token),
                AccountToken.purpose == purpose,
                AccountToken.user_id == user_id,
            )
            .with_for_update()
        )
        now = self.clock()
        if row is None or row.used_at is not None or row.expires_at <= now or row.user.deactivated_at is not None:
            raise InvalidToken()
        row.used_at = now
        return row

    def _expire_outstanding(self, user: User, purpose: TokenPurpose) -> None:
        expire_links(self.db, user.id, self.clock(), purpose)


def expire_links(db: Session, user_id: int, now: datetime, purpose: TokenPurpose | None = None) -> None:
    """Every mailed link of the user not yet used (of one purpose, or all) dies now."""
    query = sa.update(AccountToken).where(AccountToken.user_id == user_id, AccountToken.used_at.is_(None))
    if purpose is not None:
        query = query.where(AccountToken.purpose == purpose)
    db.execute(query.values(used_at=now))
