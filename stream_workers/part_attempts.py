"""What every claimed part does alike, whatever its ladder: run a step of it (a worker that is stopping gives
the part back, so the worker taking over runs it at once), and after a failure stop quietly (the film was
deleted; the part was withdrawn: re-processed, failed or given up elsewhere), run the part again alone (a
passing fault), or end for good (`end`: for the H.264 ladder the film fails, for a further one that ladder
ends and the film stays ready). `part_jobs` and `ladder_parts` differ only in that end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import sqlalchemy as sa

from . import ffmpeg_run, jobs, plans
from .app import app
from .db import in_thread, until_done
from .metrics import FAILURES, JOBS_IN_FLIGHT
from .part_run import send
from .records import PartJob
from .reports import failure_cause

log = logging.getLogger(__name__)

#: what a part's failure ends in once it is for good: given the error and the attempts made
End = Callable[[Exception, int], Awaitable[None]]


def named(job: PartJob) -> str:
    """How the logs name a part: `video 7 part 3`, a further ladder's `video 7 av1 part 3`."""
    ladder = "" if job.ladder == plans.FIRST_LADDER else f"{job.ladder} "
    return f"video {job.video_id} {ladder}part {job.part}"


async def attempt(
    job: PartJob,
    token: str,
    attempts: int,
    step: Callable[[], Awaitable[None]],
    drop_workspace: Callable[[], None],
    end: End,
    withdrawn: Callable[[], Awaitable[None]] | None = None,
) -> bool:
    """Run one step of a claimed part; whether it went through (a failure is handled: `failed`, after the
    part's local workspace is dropped)."""
    try:
        with JOBS_IN_FLIGHT.track_inprogress():
            await step()
        return True
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            release = in_thread(plans.release, job.video_id, job.part, token, job.ladder)
            await asyncio.wait_for(asyncio.shield(release), 5)
        raise
    except Exception as exc:
        await in_thread(drop_workspace)
        await failed(job, token, attempts, exc, end, withdrawn)
        return False


async def failed(
    job: PartJob,
    token: str,
    attempts: int,
    exc: Exception,
    end: End,
    withdrawn: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """A part ended without its output: the film deleted (its files go), withdrawn (`withdrawn`, then stop
    quietly), run again alone (a passing fault, up to MAX_ATTEMPTS), or `end` (the encoder refused the
    picture, or the attempts ran out)."""
    if await jobs.deleted(job.video_id):
        await jobs.discard(job.video_id)
        return
    if isinstance(exc, plans.Withdrawn) or not await holds(job, token):
        log.info("%s was withdrawn: %s", named(job), exc.__class__.__name__)
        if withdrawn is not None:
            await withdrawn()
        return
    FAILURES.labels(failure_cause(exc)).inc()
    if not isinstance(exc, ffmpeg_run.TranscodeError) and attempts < app.settings.max_attempts:
        log.error("%s: attempt %d failed", named(job), attempts, exc_info=exc)
        await until_done(plans.requeue, job.video_id, job.part, token, str(exc), job.ladder, what="re-queuing a part")
        await asyncio.sleep(app.settings.retry_delay * attempts)
        await send(job)
        return
    await end(exc, attempts)


async def holds(job: PartJob, token: str) -> bool:
    """Whether this worker still holds the part (while PostgreSQL is unreachable, assume it does)."""
    try:
        return await in_thread(plans.holds, job.video_id, job.part, token, job.ladder)
    except sa.exc.DBAPIError:
        return True
