"""The workers' census on a real broker (tansu) and the test database: the Kafka view (the group's members,
each topic's backlog from end and committed offsets), and each worker's row as the service panel reads it."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from stream_workers import census
from videoflix.core.models import Worker
from videoflix.devservices import free_port

pytestmark = pytest.mark.integration


async def published(servers: str, topic: str, counts: list[int]) -> None:
    """A topic of len(counts) partitions holding counts[p] events on partition p."""
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, len(counts), 1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        for partition, count in enumerate(counts):
            for _ in range(count):
                await producer.send_and_wait(topic, b"{}", partition=partition)
    finally:
        await producer.stop()


def test_the_view_counts_each_topics_backlog_and_the_groups_members(broker):
    servers = broker.bootstrap_servers

    async def scenario():
        await published(servers, "census.jobs", [4, 2])
        await published(servers, "census.idle", [0])
        member = AIOKafkaConsumer("census.jobs", bootstrap_servers=servers, group_id="census-group",
                                  enable_auto_commit=False, auto_offset_reset="earliest",
                                  session_timeout_ms=6000, heartbeat_interval_ms=2000)  # fmt: skip
        await member.start()
        view = census.KafkaView(servers, "census-group", {})
        try:
            before = await view.take(["census.jobs", "census.idle", "census.never-made"])
            await member.getmany(timeout_ms=8000)
            await member.commit({TopicPartition("census.jobs", 0): 3, TopicPartition("census.jobs", 1): 2})
            after = await view.take(["census.jobs"])
        finally:
            await view.close()
            await member.stop()
        return before, after

    before, after = asyncio.run(scenario())
    assert before["group"] == {"state": "Stable", "members": 1}
    # nothing committed yet: the group reads from the start, so every event waits
    assert before["topics"] == {
        "census.jobs": {"end": 6, "done": 0, "lag": 6},
        "census.idle": {"end": 0, "done": 0, "lag": 0},
        "census.never-made": {"end": 0, "done": 0, "lag": 0},
    }
    assert after["topics"]["census.jobs"] == {"end": 6, "done": 5, "lag": 1}


def test_an_unreachable_broker_is_said_and_the_worker_still_reports(engine, monkeypatch):
    monkeypatch.setattr(census, "engine", lambda: engine)
    view = census.KafkaView(f"127.0.0.1:{free_port()}", "census-group", {"request_timeout_ms": 2000})
    monkeypatch.setattr(census, "_view", view)
    monkeypatch.setattr(census, "worker_name", lambda: "census-test:1")
    try:
        asyncio.run(census.take_census())
        with engine.connect() as conn:
            row = conn.execute(sa.select(Worker).where(Worker.name == "census-test:1")).one()
        assert row.kafka == {"error": "Kafka did not answer (KafkaConnectionError)"}
        assert row.stopped_at is None and row.host
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(Worker).where(Worker.name == "census-test:1"))


def test_a_broker_that_never_answers_does_not_keep_the_row_from_being_renewed(engine, monkeypatch):
    """A broker that accepts connections and says nothing: the round gives up after KAFKA_WAIT and the row is
    renewed, saying so (else the worker would show gone while it runs)."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    monkeypatch.setattr(census, "engine", lambda: engine)
    monkeypatch.setattr(census, "_view", census.KafkaView(f"127.0.0.1:{silent.getsockname()[1]}", "g", {}))
    monkeypatch.setattr(census, "worker_name", lambda: "census-silent:1")
    try:
        started = time.monotonic()
        asyncio.run(census.take_census())
        took = time.monotonic() - started
        with engine.connect() as conn:
            row = conn.execute(sa.select(Worker).where(Worker.name == "census-silent:1")).one()
        assert row.kafka == {"error": "Kafka did not answer (TimeoutError)"}
        assert census.KAFKA_WAIT <= took < census.KAFKA_WAIT + 3
    finally:
        silent.close()
        with engine.begin() as conn:
            conn.execute(sa.delete(Worker).where(Worker.name == "census-silent:1"))


def test_a_workers_row_is_renewed_says_when_it_stopped_and_is_forgotten_a_day_later(engine, monkeypatch):
    monkeypatch.setattr(census, "engine", lambda: engine)
    names = ["census-a:1", "census-b:2"]
    try:
        census.report("census-a:1", "a", 2, {"group": {"state": "Stable", "members": 1}})
        with engine.begin() as conn:
            first = conn.execute(sa.select(Worker).where(Worker.name == "census-a:1")).one()
            # another worker, last seen over a day ago
            conn.execute(sa.insert(Worker).values(name="census-b:2", host="b",
                                                  seen_at=sa.func.now() - sa.text("interval '25 hours'")))  # fmt: skip
        census.stopped("census-a:1")
        census.report("census-a:1", "a", 1, {"group": {"state": "Stable", "members": 2}})
        with engine.connect() as conn:
            rows = {row.name: row for row in conn.execute(sa.select(Worker).where(Worker.name.in_(names)))}
        assert set(rows) == {"census-a:1"}  # the worker gone a day is forgotten
        again = rows["census-a:1"]
        assert again.started_at == first.started_at and again.seen_at >= first.seen_at
        assert again.jobs == 1 and again.kafka["group"]["members"] == 2
        assert again.stopped_at is None  # a worker that reports again runs (a restart under the same name)
        census.stopped("census-a:1")
        with engine.connect() as conn:
            gone = conn.execute(sa.select(Worker).where(Worker.name == "census-a:1")).one()
        assert gone.stopped_at is not None and gone.jobs == 0
    finally:
        with engine.begin() as conn:
            conn.execute(sa.delete(Worker).where(Worker.name.in_(names)))
