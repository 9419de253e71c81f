"""The watchdog: every WATCHDOG_SECONDS, queue again the videos still waiting that saw no activity for
REQUEUE_AFTER (the broker is a transport, not the record: `db.requeue_stalled`), and fold the views counted
since into the videos' rows (`db.fold_views_now`).

It runs on every worker: both steps skip rows another worker holds (FOR UPDATE SKIP LOCKED), so two at once
do the work once, and the pipeline heals while any worker is alive. (It once rode on the outbox relay's
leadership, in relay.py, which made "relay" name two jobs.)
"""

from __future__ import annotations

import logging

from .app import app
from .db import fold_views_now, in_thread, requeue_stalled_now

log = logging.getLogger(__name__)

WATCHDOG_SECONDS = 10.0


@app.timer(WATCHDOG_SECONDS)
async def watchdog() -> None:
    try:
        if requeued := await in_thread(requeue_stalled_now, app.settings.requeue_after):
            log.warning("watchdog: queued stalled video(s) %s again", requeued)
        await in_thread(fold_views_now)
    except Exception as exc:  # the database away: the next round tries again
        log.warning("watchdog: %s; trying again in %.0f s", exc, WATCHDOG_SECONDS)
