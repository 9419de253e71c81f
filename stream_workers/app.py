"""The Faust application, configured from the same environment variables as the web tier.

Only the App lives here (Faust's recommended layout): records, topics and agents have their own modules,
listed in `autodiscover`, so importing this module never pulls in the rest.
"""

from __future__ import annotations

import os
from pathlib import Path

import faust

from .settings import settings


def broker_url(bootstrap_servers: str) -> str:
    """`host1:9092,host2:9092` (Kafka's form) -> `kafka://host1:9092;host2:9092` (Faust's form)."""
    hosts = [h.strip() for h in bootstrap_servers.replace(";", ",").split(",") if h.strip()]
    return "kafka://" + ";".join(hosts)


def datadir() -> str:
    """FAUST_DATADIR (default `var/faust`, beside the working folder), its parent folders made: Faust creates
    only the last one, so a fresh checkout without `var/` would not start."""
    folder = Path(os.environ.get("FAUST_DATADIR") or Path("var", "faust"))
    folder.parent.mkdir(parents=True, exist_ok=True)
    return str(folder)


#: a job may take this long; Kafka must not think the worker is gone meanwhile (its poll loop is free,
#: FFmpeg runs as a subprocess, but Faust also checks the time spent on one event)
LONGEST_JOB = settings.job_timeout + 600

app = faust.App(
    "videoflix-workers",
    broker=broker_url(settings.kafka_bootstrap_servers),
    datadir=datadir(),
    web_host=os.environ.get("FAUST_WEB_HOST", "127.0.0.1"),
    web_bind=os.environ.get("FAUST_WEB_HOST", "127.0.0.1"),  # Faust would bind 0.0.0.0 whatever the host
    web_port=int(os.environ.get("FAUST_WEB_PORT", "6066")),
    autodiscover=[
        "stream_workers.agents.transcode",
        "stream_workers.agents.chunks",
        "stream_workers.agents.results",
        "stream_workers.relay",
        "stream_workers.health",
    ],
    topic_partitions=settings.topic_partitions,
    consumer_auto_offset_reset="earliest",  # a new group must not skip events published before it joined
    broker_max_poll_interval=LONGEST_JOB,
    # a killed worker's partitions (and its unacknowledged job) move to the others after this long; tansu
    # also holds a new member's first join for half of it. Heartbeats come from the consumer's own thread
    # (FFmpeg is a subprocess), at a third of it as Kafka advises, so a busy worker keeps its partitions.
    broker_session_timeout=settings.session_timeout,
    broker_heartbeat_interval=settings.session_timeout / 3,
    stream_processing_timeout=LONGEST_JOB,
    producer_acks=-1,
)
