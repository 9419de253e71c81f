"""The census: every CENSUS_SECONDS each worker renews its row in `workers` (videoflix.core.models.Worker) with
the jobs it runs and the Kafka view it took (the pipeline's consumer group: its state and members; each topic's
backlog: the events published and not yet processed), and says so when it stops cleanly.

The operators' service panel reads it from PostgreSQL (the web tier never speaks Kafka: it holds no broker
credentials). Every worker takes the view, so it stays current while any worker runs; with none, the rows
age and the panel says they are gone, and uploads wait in the outbox, which the panel counts itself.

Kafka's own answers: the group's members from DescribeGroups (the admin API), the backlog from each partition's
end offset less the group's committed offset (the start of the log where the group committed none: a new
group reads from the earliest, `consumer_auto_offset_reset`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Iterable

import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import REGISTRY
from sqlalchemy.dialects.postgresql import insert

from videoflix.core import events
from videoflix.core.models import Worker
from videoflix.core.models.worker import CENSUS_SECONDS, FORGOTTEN_AFTER

from .app import app
from .db import engine, in_thread

log = logging.getLogger(__name__)

#: the longest a round waits for Kafka's answers (the row is renewed either way, well within GONE_AFTER)
KAFKA_WAIT = CENSUS_SECONDS / 2
#: the topics the workers consume (the dead letters are kept for people, not processed)
CONSUMED = (events.UPLOADED, events.PARTS, events.LADDER_PARTS, events.CAPTIONS, events.PROGRESS, events.PROCESSED)


def worker_name() -> str:
    """This process's name in the census: unique while it lives (a container's host name is its id)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class KafkaView:
    """The consumer group and its backlog as Kafka reports them; the clients are kept from one round to the next
    (made again after a failure)."""

    def __init__(self, bootstrap_servers: str, group: str, options: dict):
        self.bootstrap_servers, self.group, self.options = bootstrap_servers, group, options
        self.admin: AIOKafkaAdminClient | None = None
        self.consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        if self.admin is None:
            admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap_servers, **self.options)
            await admin.start()
            self.admin = admin
        if self.consumer is None:
            # the group's id, to read its committed offsets; never subscribed, so it never joins the group
            consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap_servers, group_id=self.group,
                                        enable_auto_commit=False, **self.options)  # fmt: skip
            await consumer.start()
            self.consumer = consumer

    async def close(self) -> None:
        admin, consumer, self.admin, self.consumer = self.admin, self.consumer, None, None
        for client in (consumer, admin):
            if client is not None:
                try:
                    await (client.stop() if isinstance(client, AIOKafkaConsumer) else client.close())
                except Exception as exc:  # closing a broken client: nothing more to do
                    log.debug("census: closing a Kafka client: %s", exc)

    async def take(self, topics: Iterable[str]) -> dict:
        """{"group": {"state", "members"}, "topics": {name: {"end", "done", "lag"}}}: Kafka's answers now."""
        await self.start()
        described = await self.admin.describe_consumer_groups([self.group])
        state, members = "Dead", 0
        for group in described[0].groups:
            state, members = group[2] or "Dead", len(group[5])
        backlog = {}
        existing = await self.consumer.topics()
        for topic in topics:
            partitions = sorted(self.consumer.partitions_for_topic(topic) or ()) if topic in existing else []
            tps = [TopicPartition(topic, p) for p in partitions]
            if not tps:
                backlog[topic] = {"end": 0, "done": 0, "lag": 0}
                continue
            ends = await self.consumer.end_offsets(tps)
            starts = await self.consumer.beginning_offsets(tps)
            done = {}
            for tp in tps:
                committed = await self.consumer.committed(tp)
                done[tp] = starts[tp] if committed is None else committed
            backlog[topic] = {
                "end": sum(ends.values()),
                "done": sum(done.values()),
                "lag": sum(max(0, ends[tp] - done[tp]) for tp in tps),
            }
        return {"group": {"state": state, "members": members}, "topics": backlog}


def report(name: str, host: str, jobs: int, kafka: dict) -> None:
    """This worker's row, renewed (made on its first round); rows unseen for FORGOTTEN_AFTER go."""
    values = {"name": name, "host": host, "jobs": jobs, "kafka": kafka, "seen_at": sa.func.now(), "stopped_at": None}
    upsert = insert(Worker).values(values)
    renewed = {key: upsert.excluded[key] for key in ("jobs", "kafka", "seen_at", "stopped_at")}
    with engine().begin() as conn:
        conn.execute(upsert.on_conflict_do_update(index_elements=[Worker.name], set_=renewed))
        forgotten = sa.func.now() - sa.text(f"interval '{int(FORGOTTEN_AFTER)} seconds'")
        conn.execute(sa.delete(Worker).where(Worker.seen_at < forgotten))


def stopped(name: str) -> None:
    """Say that this worker stopped cleanly (the panel shows it stopped at once, not gone after a while)."""
    with engine().begin() as conn:
        conn.execute(sa.update(Worker).where(Worker.name == name).values(stopped_at=sa.func.now(), jobs=0))


def jobs_running() -> int:
    """The jobs this worker runs now (its `videoflix_jobs_in_flight` gauge)."""
    return int(REGISTRY.get_sample_value("videoflix_jobs_in_flight") or 0)


_view: KafkaView | None = None


def view() -> KafkaView:
    global _view
    if _view is None:
        settings = app.settings
        _view = KafkaView(settings.kafka_bootstrap_servers, app.conf.id, settings.kafka_auth.client_options())
    return _view


async def take_census() -> None:
    """One round: the Kafka view (or why it could not be taken), then this worker's row."""
    try:
        # bounded: a broker that hangs must not keep this worker's row from being renewed (it would show gone)
        kafka = await asyncio.wait_for(view().take(CONSUMED), KAFKA_WAIT)
    except Exception as exc:  # the broker away: the row still says this worker lives, and what failed
        log.warning("census: Kafka did not answer: %s", exc or type(exc).__name__)
        await view().close()
        kafka = {"error": f"Kafka did not answer ({type(exc).__name__})"}
    await in_thread(report, worker_name(), socket.gethostname(), jobs_running(), kafka)


@app.task
async def census() -> None:
    """A round at once (the panel shows a new worker within seconds), then every CENSUS_SECONDS."""
    while True:
        try:
            await take_census()
        except Exception as exc:  # the database away: the next round tries again
            log.warning("census: %s; trying again in %.0f s", exc, CENSUS_SECONDS)
        await asyncio.sleep(CENSUS_SECONDS)


@app.on_before_shutdown.connect
async def leaving(app, **kwargs) -> None:
    try:
        await in_thread(stopped, worker_name())
    except Exception as exc:  # the database away: the row ages instead, and shows the worker gone
        log.warning("census: could not record this worker's stop: %s", exc)
    await view().close()
