"""Fixtures of the service tests: the account services over the test's session, with a clock the tests move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from videoflix.config import build_settings
from videoflix.passwords import Hasher
from videoflix.services.accounts import AccountService
from videoflix.services.sessions import SessionService


class Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


@pytest.fixture(scope="session")
def hasher():
    return Hasher()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def accounts(dbsession, hasher, clock):
    settings = build_settings({"videoflix.secret_key": "s" * 40, "videoflix.activation_token_ttl": "3600"})
    return AccountService(dbsession, settings, hasher, clock)


@pytest.fixture
def sessions(dbsession, clock):
    return SessionService(dbsession, refresh_ttl=600, clock=clock)
