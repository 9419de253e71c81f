"""Fixtures of the worker tests."""

from __future__ import annotations

import pytest

from stream_workers import jobs
from stream_workers.agents import transcode

from .test_transcode_agent import FakeTopic, gone


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
