"""The state of transcodes in parts in PostgreSQL (table `video_parts`): plain synchronous functions, called
in a thread like the rest of `db`.

The broker only carries the jobs; this is the record of a plan: which parts are done, which worker runs which
(a claim renewed by each progress report), how often each was tried. Every change to a video's plan, and
the writing of its shared playlists, happens under one advisory lock per video (`locked`), so two workers
finishing the last two parts at once agree on which one assembles, and playlists are written one at a time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa

from videoflix.core.models import VideoPart

from .db import engine
from .film_parts import Part

#: the first key of the advisory locks (pg_advisory_xact_lock(class, video id)): a namespace of our own
LOCK_CLASS = 0x5646  # "VF"
#: a running part whose claim was not renewed for this long is taken to be orphaned (its worker died)
HEARTBEAT_STALE = 30.0
AUDIO_PART = VideoPart.AUDIO_PART
FIRST_LADDER = VideoPart.FIRST_LADDER

part_table = VideoPart.__table__


class Withdrawn(Exception):
    """The job's claim is gone: its plan was abandoned or replaced, its video deleted, or another worker
    took over the part after this one's claim went stale."""


@contextlib.contextmanager
def locked(video_id: int) -> Iterator[sa.Connection]:
    """A transaction holding the video's plan lock until it ends."""
    with engine().begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(LOCK_CLASS, video_id)))
        yield conn


def rows(conn: sa.Connection, video_id: int, ladder: str = FIRST_LADDER) -> list[sa.Row]:
    """The video's plan for `ladder` (its parts, audio first)."""
    where = (part_table.c.video_id == video_id) & (part_table.c.ladder == ladder)
    return list(conn.execute(sa.select(part_table).where(where).order_by("part")))


def current(video_id: int, ladder: str = FIRST_LADDER) -> list[sa.Row]:
    """The video's plan for `ladder` (its parts, audio first), or [] when it has none."""
    with engine().connect() as conn:
        return rows(conn, video_id, ladder)


def create(video_id: int, output: str, parts: list[Part], audio: bool) -> list[sa.Row]:
    """A new plan for `output`, replacing any earlier one of the video."""
    with locked(video_id) as conn:
        conn.execute(sa.delete(part_table).where(part_table.c.video_id == video_id))
        values = [{"part": c.index, "start": c.start, "length": c.length} for c in parts]
        if audio:
            values.insert(0, {"part": AUDIO_PART, "start": 0.0, "length": sum(c.length for c in parts)})
        conn.execute(sa.insert(part_table), [{"video_id": video_id, "output": output, **v} for v in values])
        return rows(conn, video_id)


def create_ladder(video_id: int, output: str, ladder: str, parts: list[Part]) -> list[sa.Row]:
    """The plan of a further ladder of a ready film (its parts: the same cut as the first plan's), replacing
    an earlier one of that ladder. Its rows start with a heartbeat: the watchdog resumes a plan that shows
    no activity (`db.requeue_stalled`)."""
    with locked(video_id) as conn:
        where = (part_table.c.video_id == video_id) & (part_table.c.ladder == ladder)
        conn.execute(sa.delete(part_table).where(where))
        values = [
            {"video_id": video_id, "ladder": ladder, "output": output, "part": c.index, "start": c.start,
             "length": c.length, "heartbeat": sa.func.now()}
            for c in parts
        ]  # fmt: skip
        conn.execute(sa.insert(part_table).values(values))  # (one multi-row VALUES: now() is SQL)
        return rows(conn, video_id, ladder)


def unfinished(video_id: int, ladder: str = FIRST_LADDER) -> list[sa.Row]:
    """The parts of the video's plan for `ladder` that no live worker runs and that are not done: what to
    queue again when the plan resumes (the broker may have lost their jobs)."""
    with engine().connect() as conn:
        orphaned = (part_table.c.state == "running") & ~_fresh()
        query = sa.select(part_table).where(
            part_table.c.video_id == video_id,
            part_table.c.ladder == ladder,
            (part_table.c.state == "queued") | orphaned,
        )
        return list(conn.execute(query.order_by("part")))


def _fresh() -> sa.ColumnElement[bool]:
    """The claim was renewed within HEARTBEAT_STALE."""
    return part_table.c.heartbeat > sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, HEARTBEAT_STALE)


def claim(video_id: int, part: int, output: str, token: str, ladder: str = FIRST_LADDER) -> tuple[str, int]:
    """Take a part to run it: ("claimed", attempts including this one); or ("done", n) when it is finished;
    ("busy", n) when a live worker runs it; ("gone", 0) when its plan no longer exists."""
    with locked(video_id) as conn:
        where = _part(video_id, ladder, part) & (part_table.c.output == output)
        row = conn.execute(sa.select(part_table.c.state, part_table.c.attempts, _fresh()).where(where)).first()
        if row is None:
            return "gone", 0
        state, attempts, fresh = row
        if state == "done" or (state == "running" and fresh):
            return ("done" if state == "done" else "busy"), attempts
        values = {"state": "running", "worker": token, "heartbeat": sa.func.now(), "attempts": attempts + 1}
        conn.execute(sa.update(part_table).where(where).values(**values, seconds=0.0, speed=None))
        return "claimed", attempts + 1


def _part(video_id: int, ladder: str, part: int) -> sa.ColumnElement[bool]:
    return (part_table.c.video_id == video_id) & (part_table.c.ladder == ladder) & (part_table.c.part == part)


def _held(video_id: int, part: int, token: str, ladder: str = FIRST_LADDER) -> sa.ColumnElement[bool]:
    return _part(video_id, ladder, part) & (part_table.c.worker == token) & (part_table.c.state == "running")


def beat(
    conn: sa.Connection,
    video_id: int,
    part: int,
    token: str,
    seconds: float,
    speed: float | None,
    served=None,
    ladder: str = FIRST_LADDER,
) -> None:
    """Renew the claim with the part's progress (and its segments served so far, when given); Withdrawn when
    the claim is gone."""
    update = sa.update(part_table).where(_held(video_id, part, token, ladder))
    values = {"seconds": seconds, "speed": speed, "heartbeat": sa.func.now()} | ({"served": served} if served else {})
    if conn.execute(update.values(**values)).rowcount != 1:
        raise Withdrawn


def complete(
    conn: sa.Connection, video_id: int, part: int, token: str, served=None, ladder: str = FIRST_LADDER
) -> None:
    """The part is done (with every segment served: `served`, for a video part)."""
    update = sa.update(part_table).where(_held(video_id, part, token, ladder))
    values = {"state": "done", "seconds": part_table.c.length, "speed": None, "worker": None, "error": None}
    values |= {"served": served} if served else {}
    if conn.execute(update.values(**values)).rowcount != 1:
        raise Withdrawn


def served(video_id: int, part: int, ladder: str = FIRST_LADDER) -> dict:
    """The part's segments served so far (by this or an earlier attempt): what a new attempt need not serve."""
    with engine().connect() as conn:
        return conn.scalar(sa.select(part_table.c.served).where(_part(video_id, ladder, part))) or {}


def holds(video_id: int, part: int, token: str, ladder: str = FIRST_LADDER) -> bool:
    with engine().connect() as conn:
        return conn.scalar(sa.select(sa.func.count()).where(_held(video_id, part, token, ladder))) == 1


def requeue(video_id: int, part: int, token: str, error: str, ladder: str = FIRST_LADDER) -> None:
    """A part failed for a reason that may pass: it waits to run again (alone; the rest of the plan stands)."""
    with locked(video_id) as conn:
        update = sa.update(part_table).where(_held(video_id, part, token, ladder))
        conn.execute(update.values(state="queued", worker=None, speed=None, error=error[:2000]))


def release(video_id: int, part: int, token: str, ladder: str = FIRST_LADDER) -> None:
    """Give a part back unfinished (the worker is stopping), so the worker taking over runs it at once."""
    with locked(video_id) as conn:
        update = sa.update(part_table).where(_held(video_id, part, token, ladder))
        conn.execute(update.values(state="queued", worker=None, speed=None, attempts=part_table.c.attempts - 1))


def abandon(video_id: int, output: str | None = None, ladder: str | None = None) -> bool:
    """Drop the video's plan (only the plan for `output` when given; only `ladder`'s when given, else every
    ladder's); whether there was one to drop. The first worker to give up on a plan is the one that reports
    it."""
    with locked(video_id) as conn:
        query = sa.delete(part_table).where(part_table.c.video_id == video_id)
        if output is not None:
            query = query.where(part_table.c.output == output)
        if ladder is not None:
            query = query.where(part_table.c.ladder == ladder)
        return conn.execute(query).rowcount > 0
