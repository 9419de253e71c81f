"""Fixtures of the worker tests."""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa
from cachetools import LRUCache

from stream_workers import caption_stage, db, film_keys, jobs, plans, seeking, topics
from stream_workers.agents import transcode
from stream_workers.app import app
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import probe
from videoflix.core.models import Video

from ..support.fakes import FakeTopic, gone
from ..support.footage import real_title


@pytest.fixture(scope="session")
def cockatoo():
    """The real corpus' hand-held cockatoo (14 s, 720p20; its keyframes do not decode cleanly from a seek) and
    what the workers find in it."""
    source = real_title("cockatoo")
    return source, seeking.check(ffmpeg_exe(), source, probe(source))


@pytest.fixture(autouse=True)
def nothing_just_transcoded(monkeypatch):
    """Each test's own memory of the films this worker has just transcoded (`transcode._recently_done`): a
    video id another test used (the database's ids repeat across tests' rows) must not read as a duplicate."""
    monkeypatch.setattr(transcode, "_recently_done", LRUCache(maxsize=64))


@pytest.fixture(autouse=True)
def unsealed(monkeypatch):
    """Films without keys, as with HLS_ENCRYPTION off, and no database asked (a test of sealed films patches
    `film_keys` itself)."""
    monkeypatch.setattr(film_keys, "read", lambda video_id: None)
    monkeypatch.setattr(film_keys, "planned", lambda video_id: None)


@pytest.fixture(autouse=True)
def unaimed(monkeypatch):
    """Each further ladder at its own CRF, as with RATE_AIM off: the probes would add seconds to every film these
    tests make (a test of the aim turns it on: tests/workers/test_rate_aim.py). And no best H.264 ladder
    (AVC_LADDER off), which would add a run of x264 slow to every film: its tests turn it on
    (tests/workers/test_avc_ladder.py)."""
    monkeypatch.setattr(app, "settings", dataclasses.replace(app.settings, rate_aim=0.0, avc_ladder=False))


@pytest.fixture(autouse=True)
def captions_kept(monkeypatch) -> FakeTopic:
    """The captions' jobs a ready film asks for are kept, not sent: these tests run the agents in-process,
    without a broker (the stage itself runs through the real pipeline: tests/integration/test_captions.py)."""
    fake = FakeTopic()
    monkeypatch.setattr(topics, "captions", fake)
    return fake


@pytest.fixture
def agent_topics(monkeypatch) -> dict[str, FakeTopic]:
    """The transcode agent run in-process: its topics faked (what it sends is kept), every video still there
    and waiting to be processed, as the database would say."""
    fakes = {name: FakeTopic() for name in ("uploaded", "progress", "processed", "dead_letter")}
    for name, fake in fakes.items():
        monkeypatch.setattr(transcode.topics, name, fake)
    monkeypatch.setattr(jobs, "deleted", gone({}))

    async def status(*args, **kw):
        return "uploaded"

    monkeypatch.setattr(transcode, "until_done", status)
    return fakes


@pytest.fixture
def plan_db(engine, monkeypatch):
    """The workers' database functions on the test database; a committed video row, removed afterwards."""
    monkeypatch.setattr(db, "engine", lambda: engine)
    monkeypatch.setattr(plans, "engine", lambda: engine)
    monkeypatch.setattr(caption_stage, "engine", lambda: engine)
    with engine.begin() as conn:
        video_id = conn.scalar(
            sa.insert(Video).values(title="Plan", source_path="videos/x/source.mp4").returning(Video.id)
        )
    yield video_id
    with engine.begin() as conn:
        conn.execute(sa.delete(Video).where(Video.id == video_id))  # the plan goes with it (ON DELETE CASCADE)


@pytest.fixture
def fake_topics(monkeypatch) -> dict[str, FakeTopic]:
    """Every topic the workers send to, faked (what is sent is kept): the agents run in-process."""
    names = ("uploaded", "progress", "processed", "dead_letter", "parts", "ladder_parts")
    fakes = {name: FakeTopic() for name in names}
    for name, fake in fakes.items():
        monkeypatch.setattr(topics, name, fake)
    return fakes
