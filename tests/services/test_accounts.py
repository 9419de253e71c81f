"""AccountService and SessionService as plain code over a real session, with a clock the tests move."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from videoflix.config import build_settings
from videoflix.core.models import AccountToken, AuthSession, TokenPurpose, User
from videoflix.errors import AuthenticationFailed, InvalidInput, InvalidToken
from videoflix.passwords import Hasher
from videoflix.services.accounts import AccountService, InvalidCredentials, encode_uid
from videoflix.services.sessions import ROTATION_GRACE, ReplayDetected, SessionService

from ..support.accounts import PASSWORD, active_user


def test_tokens_are_stored_only_as_digests(accounts, dbsession):
    mail = accounts.register("digest@example.com", PASSWORD)
    stored = dbsession.scalars(sa.select(AccountToken.token_hash)).all()
    assert mail.token not in stored and len(stored) == 1 and len(stored[0]) == 64


def test_activation_token_expires(accounts, clock):
    mail = accounts.register("expire@example.com", PASSWORD)
    clock.advance(seconds=3601)
    with pytest.raises(InvalidToken):
        accounts.activate(mail.uidb64, mail.token)


def test_activation_token_just_before_expiry_works(accounts, clock):
    mail = accounts.register("in-time@example.com", PASSWORD)
    clock.advance(seconds=3599)
    assert accounts.activate(mail.uidb64, mail.token).is_active


def test_activation_token_is_for_activation_only(accounts):
    user = active_user(accounts, "purpose@example.com")
    reset = accounts.request_password_reset(user.email)
    with pytest.raises(InvalidToken):
        accounts.activate(reset.uidb64, reset.token)


def test_duplicate_registration_raises_field_error(accounts):
    accounts.register("twice@example.com", PASSWORD)
    with pytest.raises(InvalidInput) as caught:
        accounts.register(" Twice@Example.com ", PASSWORD)
    assert caught.value.errors == {"email": ["A user with this email already exists."]}


def test_authenticate_checks_password_and_activation(accounts, clock):
    mail = accounts.register("auth@example.com", PASSWORD)
    with pytest.raises(InvalidCredentials):
        accounts.authenticate("auth@example.com", PASSWORD)  # not active yet
    accounts.activate(mail.uidb64, mail.token)
    with pytest.raises(InvalidCredentials):
        accounts.authenticate("auth@example.com", "wrong-password")
    user = accounts.authenticate("AUTH@example.com", PASSWORD)
    assert user.last_login_at == clock.now


def test_reset_for_unknown_or_inactive_account_is_none(accounts):
    accounts.register("inactive@example.com", PASSWORD)
    assert accounts.request_password_reset("inactive@example.com") is None
    assert accounts.request_password_reset("nobody@example.com") is None


def test_password_change_kills_reset_links_and_sessions(accounts, sessions, clock):
    user = active_user(accounts, "change@example.com")
    session = sessions.start(user)
    first = accounts.request_password_reset(user.email)
    second = accounts.request_password_reset(user.email)

    accounts.confirm_password_reset(first.uidb64, first.token, "N3w-password-ok")

    with pytest.raises(InvalidToken):
        accounts.confirm_password_reset(second.uidb64, second.token, "Other-passw0rd")
    assert sessions.active_user(str(user.id), str(session.id)) is None
    assert accounts.authenticate(user.email, "N3w-password-ok") == user


def test_token_for_another_uid_is_rejected(accounts):
    one = accounts.register("one@example.com", PASSWORD)
    two = accounts.register("two@example.com", PASSWORD)
    with pytest.raises(InvalidToken):
        accounts.activate(two.uidb64, one.token)
    with pytest.raises(InvalidToken):
        accounts.activate(encode_uid(one.user.id + 1000), one.token)


def test_session_rotation_and_replay(accounts, sessions, dbsession, clock):
    user = active_user(accounts, "rotate@example.com")
    session = sessions.start(user)
    first_jti = session.refresh_jti

    rotated = sessions.rotate(str(session.id), first_jti)
    assert rotated.refresh_jti != first_jti

    clock.advance(seconds=ROTATION_GRACE + 1)  # past the grace of a racing request
    with pytest.raises(ReplayDetected):
        sessions.rotate(str(session.id), first_jti)
    assert dbsession.get(AuthSession, session.id).revoked_at is not None
    with pytest.raises(AuthenticationFailed):
        sessions.rotate(str(session.id), rotated.refresh_jti)  # the thief's copy and ours both die


def test_two_refreshes_racing_with_one_cookie_keep_the_session(accounts, sessions, dbsession, clock):
    """The console's polling and a tus retry refresh with the same cookie: the loser of the race is within the
    grace and gets the current token id, so whichever answer the browser keeps, the next refresh works."""
    user = active_user(accounts, "race@example.com")
    session = sessions.start(user)
    cookie = session.refresh_jti
    winner = sessions.rotate(str(session.id), cookie).refresh_jti

    clock.advance(seconds=ROTATION_GRACE - 1)
    loser = sessions.rotate(str(session.id), cookie).refresh_jti

    assert loser == winner and dbsession.get(AuthSession, session.id).revoked_at is None
    assert sessions.rotate(str(session.id), winner).refresh_jti not in (cookie, winner)  # and the session goes on


def test_only_the_id_just_rotated_out_has_a_grace(accounts, sessions, dbsession):
    user = active_user(accounts, "older@example.com")
    session = sessions.start(user)
    first = session.refresh_jti
    second = sessions.rotate(str(session.id), first).refresh_jti
    sessions.rotate(str(session.id), second)

    with pytest.raises(ReplayDetected):
        sessions.rotate(str(session.id), first)  # two rotations old: a copy, not a race
    assert dbsession.get(AuthSession, session.id).revoked_at is not None


def test_a_session_ends_at_its_absolute_lifetime_however_often_refreshed(accounts, dbsession, clock):
    sessions = SessionService(dbsession, refresh_ttl=600, clock=clock, max_age=1500)
    user = active_user(accounts, "forever@example.com")
    session = sessions.start(user)
    for _ in range(2):
        clock.advance(seconds=500)
        sessions.rotate(str(session.id), session.refresh_jti)
    assert session.expires_at == session.created_at + timedelta(seconds=1500)  # not now + 600

    clock.advance(seconds=501)
    assert sessions.active_user(str(user.id), str(session.id)) is None
    with pytest.raises(AuthenticationFailed):
        sessions.rotate(str(session.id), session.refresh_jti)


def test_session_expires_without_refresh(accounts, sessions, clock):
    user = active_user(accounts, "idle@example.com")
    session = sessions.start(user)
    clock.advance(seconds=601)
    assert sessions.active_user(str(user.id), str(session.id)) is None
    with pytest.raises(AuthenticationFailed):
        sessions.rotate(str(session.id), session.refresh_jti)


def test_refresh_extends_the_session(accounts, sessions, clock):
    user = active_user(accounts, "extend@example.com")
    session = sessions.start(user)
    clock.advance(seconds=500)
    sessions.rotate(str(session.id), session.refresh_jti)
    clock.advance(seconds=500)
    assert sessions.active_user(str(user.id), str(session.id)) == user


def test_deactivated_user_loses_the_session(accounts, sessions, dbsession):
    user = active_user(accounts, "banned@example.com")
    session = sessions.start(user)
    dbsession.execute(sa.update(User).where(User.id == user.id).values(is_active=False))
    dbsession.expire_all()
    assert sessions.active_user(str(user.id), str(session.id)) is None
    with pytest.raises(AuthenticationFailed):
        sessions.rotate(str(session.id), session.refresh_jti)


@pytest.mark.parametrize(("user_id", "session_id"), [("x", "y"), ("1", "not-a-uuid"), ("", "")])
def test_malformed_claims_are_anonymous(sessions, user_id, session_id):
    assert sessions.active_user(user_id, session_id) is None


class CountingHasher(Hasher):
    """Counts argon2 verifications, real or dummy: the work a login failure costs."""

    def __init__(self):
        super().__init__()
        self.verifications = 0

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifications += 1
        return super().verify(password_hash, password)


@pytest.mark.parametrize("case", ["unknown email", "wrong password", "inactive account"])
def test_every_login_failure_costs_one_argon2_verification(dbsession, clock, case):
    """What keeps login timing from telling whether an account exists: each path verifies exactly once."""
    hasher = CountingHasher()
    settings = build_settings({"videoflix.secret_key": "s" * 40})
    accounts = AccountService(dbsession, settings, hasher, clock)
    mail = accounts.register("timing@example.com", PASSWORD)
    if case != "inactive account":
        accounts.activate(mail.uidb64, mail.token)
    hasher.verifications = 0
    email = "someone-else@example.com" if case == "unknown email" else "timing@example.com"
    password = "Wrong-password-1" if case == "wrong password" else PASSWORD

    with pytest.raises(InvalidCredentials):
        accounts.authenticate(email, password)

    assert hasher.verifications == 1


class HashCountingHasher(Hasher):
    def __init__(self):
        super().__init__()
        self.hashes = 0

    def hash(self, password: str) -> str:
        self.hashes += 1
        return super().hash(password)


@pytest.mark.parametrize("case", ["new address", "never activated", "active account"])
def test_every_sign_up_costs_one_hash_and_one_mail_token(dbsession, clock, case):
    """What keeps registration timing from telling whether an address has an account: every path hashes the
    password once and issues one token (one mail)."""
    hasher = HashCountingHasher()
    accounts = AccountService(dbsession, build_settings({"videoflix.secret_key": "s" * 40}), hasher, clock)
    if case != "new address":
        accounts.register("taken@example.com", PASSWORD, active=case == "active account")
    hasher.hashes = 0
    tokens = dbsession.scalar(sa.select(sa.func.count()).select_from(AccountToken))

    accounts.sign_up("taken@example.com", "Other-pass-word-2")

    assert hasher.hashes == 1
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(AccountToken)) == tokens + 1


def test_a_squatted_address_is_activated_by_its_owners_link_with_its_owners_password(accounts):
    """An address registered by someone who cannot read its mail is not lost to its owner: the owner's own
    registration mails a link that activates the owner's password; the squatter's link dies with it."""
    squatter = accounts.sign_up("squatted@example.com", "Squatters-pass-1")
    owner = accounts.sign_up(" Squatted@Example.com ", PASSWORD)

    assert owner.user.id == squatter.user.id and owner.purpose == TokenPurpose.ACTIVATION and owner.again
    accounts.activate(owner.uidb64, owner.token)
    assert accounts.authenticate("squatted@example.com", PASSWORD).id == owner.user.id
    with pytest.raises(InvalidCredentials):
        accounts.authenticate("squatted@example.com", "Squatters-pass-1")
    with pytest.raises(InvalidToken):
        accounts.activate(squatter.uidb64, squatter.token)
    assert accounts.authenticate("squatted@example.com", PASSWORD).id == owner.user.id  # still the owner's


def test_a_registration_after_the_owners_does_not_take_the_owners_click(accounts):
    """The attack: the victim registers, the attacker registers the victim's pending address with their own
    password, the victim clicks the link of their own registration. It activates the victim's password (before:
    the account had taken the attacker's, and the victim's link was dead), and the attacker's link is dead."""
    victim = accounts.sign_up("pending@example.com", PASSWORD)
    attacker = accounts.sign_up("pending@example.com", "Attackers-pass-1")

    accounts.activate(victim.uidb64, victim.token)

    assert accounts.authenticate("pending@example.com", PASSWORD).id == victim.user.id
    with pytest.raises(InvalidCredentials):
        accounts.authenticate("pending@example.com", "Attackers-pass-1")
    with pytest.raises(InvalidToken):
        accounts.activate(attacker.uidb64, attacker.token)


def test_signing_up_with_an_active_accounts_address_changes_nothing_but_offers_a_reset(accounts):
    account = accounts.register("owner@example.com", PASSWORD, active=True).user

    attempt = accounts.sign_up("owner@example.com", "Intruders-pass-1")

    assert attempt.purpose == TokenPurpose.PASSWORD_RESET and attempt.user.id == account.id
    assert accounts.authenticate("owner@example.com", PASSWORD).is_active  # password and state unchanged
    with pytest.raises(InvalidCredentials):
        accounts.authenticate("owner@example.com", "Intruders-pass-1")
    accounts.confirm_password_reset(attempt.uidb64, attempt.token, "Fresh-start-pass-3")  # the mailed link works
    assert accounts.authenticate("owner@example.com", "Fresh-start-pass-3").id == account.id


def test_a_new_address_signs_up_inactive(accounts):
    mail = accounts.sign_up("fresh@example.com", PASSWORD)
    assert mail.purpose == TokenPurpose.ACTIVATION and not mail.user.is_active
    with pytest.raises(InvalidCredentials):
        accounts.authenticate("fresh@example.com", PASSWORD)
    accounts.activate(mail.uidb64, mail.token)
    assert accounts.authenticate("fresh@example.com", PASSWORD).is_active
