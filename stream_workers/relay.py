"""The outbox relay: publishes every committed, unpublished outbox row to Kafka, then stamps it.

It runs in each worker; a PostgreSQL advisory lock makes exactly one of them the publisher at a time (the
lock dies with its connection, so another worker takes over within a second). The web tier's `NOTIFY outbox`
wakes it right after an upload commits; a poll every second catches the rest: events whose publication
failed (broker down), or those committed while no relay was running. A crash between publishing and
stamping publishes an event twice, which the idempotent agents absorb: at least once, never zero times.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from concurrent.futures import ThreadPoolExecutor

import psycopg2

from videoflix.core.outbox import CHANNEL as OUTBOX_CHANNEL

from .app import app

log = logging.getLogger(__name__)

LOCK_KEY = 0x56464F58  # "VFOX"
BATCH = 100
POLL_SECONDS = 1.0


def libpq_dsn(url: str) -> str:
    return url.replace("postgresql+psycopg2://", "postgresql://", 1)


class Outbox:
    """The relay's own connection (autocommit; holds the advisory lock). Used from one thread only."""

    def __init__(self, url: str):
        self.dsn = libpq_dsn(url)
        self.conn = None

    def _cursor(self):
        if self.conn is None or self.conn.closed:
            self.conn = psycopg2.connect(self.dsn)
            self.conn.autocommit = True
        return self.conn.cursor()

    def lead(self) -> bool:
        """True while this relay holds the lock (re-asking while holding it is harmless and cheap)."""
        with self._cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
            return cur.fetchone()[0]

    def pending(self, limit: int = BATCH) -> list[tuple[int, str, str, dict]]:
        with self._cursor() as cur:
            cur.execute(
                "SELECT id, topic, key, payload FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT %s", (limit,)
            )
            return cur.fetchall()

    def published(self, ids: list[int]) -> None:
        with self._cursor() as cur:
            cur.execute("UPDATE outbox SET published_at = now() WHERE id = ANY(%s)", (ids,))

    def failed(self, event_id: int, error: str) -> None:
        with self._cursor() as cur:
            cur.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = %s WHERE id = %s", (error[:1000], event_id)
            )

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


class Wakeup:
    """LISTEN on the outbox channel on a second connection, watched by the event loop (non-blocking poll)."""

    def __init__(self, url: str, event: asyncio.Event):
        self.dsn = libpq_dsn(url)
        self.event = event
        self.conn = None

    def connect(self) -> None:
        self.conn = psycopg2.connect(self.dsn)
        self.conn.autocommit = True
        with self.conn.cursor() as cur:
            cur.execute(f"LISTEN {OUTBOX_CHANNEL}")

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.add_reader(self.conn.fileno(), self._readable, loop)

    def _readable(self, loop) -> None:
        try:
            self.conn.poll()
        except psycopg2.Error:
            self.detach(loop)
            return
        if self.conn.notifies:
            self.conn.notifies.clear()
            self.event.set()

    def detach(self, loop) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                loop.remove_reader(self.conn.fileno())
            with contextlib.suppress(Exception):
                self.conn.close()
            self.conn = None


async def publish_pending(outbox: Outbox, run) -> int:
    """One round: publish what is pending, in order; stop at the first failure (order per video matters)."""
    sent = 0
    while rows := await run(outbox.pending):
        done = []
        try:
            for event_id, topic, key, payload in rows:
                await app.producer.send_and_wait(
                    topic, key.encode(), json.dumps(payload).encode(), partition=None, timestamp=None, headers=None
                )
                done.append(event_id)
        except Exception as exc:
            log.warning("outbox: publishing event %s failed (%s); will retry", rows[len(done)][0], exc)
            await run(outbox.failed, rows[len(done)][0], repr(exc))
            raise
        finally:
            if done:
                await run(outbox.published, done)
                sent += len(done)
        if len(rows) < BATCH:
            break
    return sent


@app.task
async def relay() -> None:
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="videoflix-outbox")

    async def run(fn, *args):
        return await loop.run_in_executor(executor, fn, *args)

    outbox = Outbox(app.settings.database_url)
    woken = asyncio.Event()
    wakeup = Wakeup(app.settings.database_url, woken)
    delay = POLL_SECONDS
    while True:
        try:
            if wakeup.conn is None:
                await run(wakeup.connect)
                wakeup.attach(loop)
            if await run(outbox.lead):
                sent = await publish_pending(outbox, run)
                if sent:
                    log.info("outbox: published %d event(s)", sent)
            delay = POLL_SECONDS
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("outbox relay: %s; retrying in %.0f s", exc, delay)
            await run(outbox.close)
            wakeup.detach(loop)
            delay = min(delay * 2, 15.0)
        woken.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(woken.wait(), delay)
