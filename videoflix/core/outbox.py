"""Queuing events in the transactional outbox: the rows and the NOTIFY that wakes the relay, in the caller's
transaction. The one way to enqueue, for the web tier (an upload, a retry) and the workers (the watchdog's
requeue); the relay (stream_workers/relay.py) LISTENs on CHANNEL and publishes the rows to Kafka. Only models
and SQLAlchemy here, so the workers import it without the web tier's services."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .models import OutboxEvent

#: the PostgreSQL channel the relay listens on; a NOTIFY is delivered only when its transaction commits
CHANNEL = "outbox"


def enqueue(db: Session | Connection, events: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
    """Queue (topic, key, payload) events in this transaction; the relay sends them once it has committed."""
    rows = [{"topic": topic, "key": key, "payload": payload} for topic, key, payload in events]
    if rows:
        db.execute(sa.insert(OutboxEvent), rows)
        db.execute(sa.text(f"NOTIFY {CHANNEL}"))
