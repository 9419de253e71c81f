"""Helpers that do what the frontend does: JSON in, cookies kept, X-CSRFToken echoed from the cookie."""

from __future__ import annotations

import pytest

from ..support.accounts import PASSWORD
from ..support.frontend import Frontend


@pytest.fixture
def frontend(testapp, mailbox) -> Frontend:
    return Frontend(testapp, mailbox)


@pytest.fixture
def operator(frontend, dbsession) -> Frontend:
    """A logged-in staff account (made the way `videoflix user create --staff` makes one)."""
    from videoflix.config import build_settings
    from videoflix.passwords import Hasher
    from videoflix.services.accounts import AccountService

    accounts = AccountService(dbsession, build_settings({}), Hasher())
    accounts.register("operator@example.com", PASSWORD, is_staff=True, active=True)
    dbsession.commit()
    frontend.login("operator@example.com")
    return frontend
