"""Prometheus metrics of the web tier, scraped at GET /metrics (text format, prometheus_client).

Counters live in this process (Prometheus adds up the web instances); the catalog's state, videos by status
and the outbox backlog, is read from PostgreSQL at scrape time, so every instance reports the same truth.
/metrics is for the internal network: deploy/nginx.conf refuses it from outside.
"""

from __future__ import annotations

import sqlalchemy as sa
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, generate_latest

from videoflix.core.models import VideoStatus

UPLOADS = Counter("videoflix_uploads", "Upload requests by outcome (accepted: committed with its event)", ["outcome"])
UPLOAD_BYTES = Counter("videoflix_upload_bytes", "Bytes of accepted uploads")
#: what deciding who watches costs the app: nginx's playback checks (by answer) and the keys of sealed films
PLAYBACK_CHECKS = Counter("videoflix_playback_checks", "Playback checks asked by nginx, by answer", ["answer"])
KEYS_SERVED = Counter("videoflix_keys_served", "Keys of sealed films given to players")


def count_upload(transaction, size: int) -> None:
    """Count an upload as accepted once its transaction commits (rejected if the commit fails)."""

    def count(committed: bool) -> None:
        UPLOADS.labels("accepted" if committed else "rejected").inc()
        if committed:
            UPLOAD_BYTES.inc(size)

    transaction.addAfterCommitHook(count)


STATE = sa.text(
    "SELECT 'video' AS kind, status::text AS name, count(*) FROM videos GROUP BY status"
    " UNION ALL SELECT 'outbox', 'unpublished', count(*) FROM outbox WHERE published_at IS NULL"
    " UNION ALL SELECT 'mail', 'queued', count(*) FROM mail_outbox"
)


def scrape(conn: sa.Connection, panel=None) -> bytes:
    """This process's counters, then the database's view (a fresh registry per scrape); with the service panel
    (`services.service_panel.ServicePanel` on the same connection): the workers by state, the backlog per topic
    and the store's use (`service_state`)."""
    state = CollectorRegistry()
    videos = Gauge("videoflix_videos", "Videos by status", ["status"], registry=state)
    backlog = Gauge("videoflix_outbox_unpublished", "Pipeline events not yet published to Kafka", registry=state)
    mails = Gauge("videoflix_mail_queued", "Account mails waiting for delivery", registry=state)
    for status in VideoStatus:
        videos.labels(status).set(0)
    for kind, name, count in conn.execute(STATE):
        if kind == "video":
            videos.labels(name).set(count)
        elif kind == "outbox":
            backlog.set(count)
        else:
            mails.set(count)
    if panel is not None:
        service_state(state, panel)
    return generate_latest(REGISTRY) + generate_latest(state)


def service_state(state: CollectorRegistry, panel) -> None:
    """What the service panel shows, as gauges for Prometheus' alerts and the Grafana dashboard: read here, so
    they hold while every worker is down (a worker's own gauges go with it)."""
    workers = Gauge("videoflix_workers", "Workers by state in the census (online, stopped, gone)", ["state"],
                    registry=state)  # fmt: skip
    for name in ("online", "stopped", "gone"):
        workers.labels(name).set(0)
    listed = panel.workers()
    for worker in listed:
        workers.labels(worker["state"]).inc()
    backlog = Gauge("videoflix_backlog_events", "Events waiting per topic: in the outbox, or in Kafka (its lag)",
                    ["topic", "place"], registry=state)  # fmt: skip
    for topic in panel.backlog(listed):
        backlog.labels(topic["topic"], "outbox").set(topic["outbox"])
        if topic["lag"] is not None:
            backlog.labels(topic["topic"], "kafka").set(topic["lag"])
    storage = panel.storage()
    Gauge("videoflix_storage_used_bytes", "Bytes the films take in the store (as the storage sweep measured them)",
          registry=state).set(storage["used_bytes"])  # fmt: skip
    if storage["capacity_bytes"] is not None:
        Gauge("videoflix_storage_capacity_bytes", "The store's capacity (STORAGE_QUOTA_BYTES, or MEDIA_ROOT's disk)",
              registry=state).set(storage["capacity_bytes"])  # fmt: skip
        Gauge("videoflix_storage_free_bytes", "Bytes free in the store", registry=state).set(storage["free_bytes"])
