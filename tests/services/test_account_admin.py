"""AccountAdmin as plain code over a real session: deactivation sticks until an operator lifts it, the last
active operator stays, every change is audited once, search and sessions as operators see them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from videoflix.core.models import AccountAudit, AccountToken, TokenPurpose, User
from videoflix.errors import InvalidToken
from videoflix.services.account_admin import AccountAdmin, Actor, LastOperator
from videoflix.services.accounts import InvalidCredentials

from ..support.accounts import PASSWORD, active_user

ROOT = Actor("videoflix user (command line, root@host)")


@pytest.fixture
def admin(dbsession, clock):
    return AccountAdmin(dbsession, clock)


@pytest.fixture
def operator(accounts):
    mail = accounts.register("boss@example.com", PASSWORD, is_staff=True, active=True)
    return mail.user


def test_deactivation_ends_sessions_and_links_and_sticks(accounts, sessions, admin, dbsession, operator):
    user = active_user(accounts)
    first, second = sessions.start(user), sessions.start(user)
    reset = accounts.request_password_reset(user.email)
    assert admin.deactivate(user, Actor.of(operator)) is True
    assert not user.is_active and user.deactivated_at is not None
    assert sessions.active_user(str(user.id), str(first.id)) is None
    assert sessions.active_user(str(user.id), str(second.id)) is None
    with pytest.raises(InvalidToken):  # the reset link mailed before is dead
        accounts.confirm_password_reset(reset.uidb64, reset.token, "Another-long-pass-77")
    hash_before = user.password_hash
    tokens_before = dbsession.scalar(sa.select(sa.func.count()).select_from(AccountToken))
    # registering the address again changes nothing and mails nothing; no reset, no login
    assert accounts.sign_up(user.email, "A-new-password-for-it-9") is None
    assert user.password_hash == hash_before and not user.is_active
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(AccountToken)) == tokens_before
    assert accounts.request_password_reset(user.email) is None
    with pytest.raises(InvalidCredentials):
        accounts.authenticate(user.email, PASSWORD)
    assert admin.deactivate(user, Actor.of(operator)) is False  # already off: no second audit entry
    assert [e.action for e in admin.audit(None, 0, user)[0]] == ["deactivate"]


def test_an_activation_link_of_a_deactivated_account_is_dead(accounts, admin, operator):
    """An account never activated, deactivated by an operator: the link its owner was mailed no longer works."""
    mail = accounts.register("pending@example.com", PASSWORD)
    admin.deactivate(mail.user, ROOT)
    with pytest.raises(InvalidToken):
        accounts.activate(mail.uidb64, mail.token)
    assert not mail.user.is_active


def test_reactivation_lets_the_owner_in_again(accounts, sessions, admin, operator, clock):
    user = active_user(accounts)
    admin.deactivate(user, ROOT)
    clock.advance(minutes=5)
    assert admin.activate(user, Actor.of(operator)) is True
    assert user.is_active and user.deactivated_at is None
    assert accounts.authenticate(user.email, PASSWORD) is user
    assert accounts.sign_up(user.email, PASSWORD).purpose == TokenPurpose.PASSWORD_RESET  # as for any active one
    assert admin.activate(user, ROOT) is False
    entries, total = admin.audit(None, 0, user)
    assert total == 2
    assert [(e.action, e.actor, e.actor_id) for e in entries] == [
        ("activate", "boss@example.com", operator.id),
        ("deactivate", ROOT.label, None),
    ]
    assert entries[0].at - entries[1].at == clock.now - entries[1].at


def test_the_last_active_operator_stays(accounts, admin, operator, dbsession):
    # the only active operator (in the test's transaction: the shared database may hold others committed)
    dbsession.execute(sa.update(User).where(User.id != operator.id).values(is_staff=False))
    with pytest.raises(LastOperator):
        admin.deactivate(operator, ROOT)
    with pytest.raises(LastOperator):
        admin.set_staff(operator, False, ROOT)
    assert operator.is_active and operator.is_staff
    second = active_user(accounts, "second@example.com")
    assert admin.set_staff(second, True, ROOT) is True
    admin.deactivate(second, ROOT)  # a deactivated operator is no operator: the first is the last again
    with pytest.raises(LastOperator):
        admin.set_staff(operator, False, ROOT)
    admin.activate(second, ROOT)
    assert admin.set_staff(operator, False, Actor.of(second)) is True
    assert not operator.is_staff
    assert admin.set_staff(operator, False, ROOT) is False
    entries, total = admin.audit(None, 0)
    assert [e.action for e in entries] == ["unstaff", "activate", "deactivate", "staff"] and total == 4  # no refusal


def test_search_counts_open_sessions_and_last_activity(accounts, sessions, admin, clock, dbsession):
    ann = active_user(accounts, "ann@example.com")
    bob = active_user(accounts, "bob_1@example.com")
    kept = sessions.start(ann, "Mozilla/5.0 (X11; Linux) \x00\u00e9", "203.0.113.7")
    ended = sessions.start(ann)
    sessions.revoke(str(ended.id))
    clock.advance(minutes=3)
    sessions.rotate(str(kept.id), kept.refresh_jti)
    found, total = admin.search("ANN@", None, 0)
    assert total == 1 and [s.user.email for s in found] == ["ann@example.com"]
    assert found[0].sessions == 1 and found[0].last_active == clock.now
    assert [s.user.email for s in admin.search("_", None, 0)[0]] == ["bob_1@example.com"]  # _ is literal
    everyone, total = admin.search(None, 1, 0)
    assert total >= 2 and [s.user.email for s in everyone] == ["bob_1@example.com"]  # newest first, paged
    assert admin.search("bob", None, 0)[0][0].sessions == 0
    (open_session,) = admin.sessions(ann)
    assert (open_session.user_agent, open_session.address) == ("Mozilla/5.0 (X11; Linux) ??", "203.0.113.7")
    assert bob.id != ann.id


def test_audit_outlives_the_accounts(accounts, admin, dbsession, operator):
    user = active_user(accounts, "gone@example.com")
    admin.set_staff(user, True, Actor.of(operator))
    dbsession.delete(user)
    dbsession.flush()
    entry = dbsession.scalar(sa.select(AccountAudit).where(AccountAudit.email == "gone@example.com"))
    dbsession.refresh(entry)
    assert (entry.action, entry.user_id, entry.actor) == ("staff", None, "boss@example.com")
    assert dbsession.scalar(sa.select(sa.func.count()).select_from(User).where(User.email == "gone@example.com")) == 0
