"""Fixtures of the functional tests: the frontend helper, a logged-in operator, one real HLS output."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from stream_workers import hls
from videoflix.media import ffmpeg_exe, ladder_for, probe

from ..support.accounts import PASSWORD
from ..support.frontend import Frontend
from ..support.media import OUTPUT
from ..support.tus import Tus


@pytest.fixture
def media_root(app_settings) -> Path:
    return Path(app_settings["videoflix.media_root"])


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


@pytest.fixture(scope="session")
def hls_output(app_settings, clips) -> Path:
    """A 640x360 2 s clip transcoded as the workers do: one 480p rendition at 360 lines (no upscaling)."""
    out = Path(app_settings["videoflix.media_root"]) / OUTPUT
    out.mkdir(parents=True)
    facts = probe(clips["clip"])
    rungs = ladder_for(facts.height)
    asyncio.run(hls.run_ffmpeg(hls.build_command(ffmpeg_exe(), clips["clip"], out, facts, rungs)))
    hls.check_output(out, rungs)
    return out


@pytest.fixture
def tus(operator) -> Tus:
    return Tus(operator)
