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


def scrape(conn: sa.Connection) -> bytes:
    """This process's counters, then the database's view (a fresh registry per scrape)."""
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
    return generate_latest(REGISTRY) + generate_latest(state)
