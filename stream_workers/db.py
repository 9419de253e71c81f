"""The workers' database access: plain synchronous functions, always called in a thread (`in_thread`), so
the event loop (and with it Kafka heartbeats) never waits on PostgreSQL."""

from __future__ import annotations

import asyncio
import functools
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from videoflix.core import events, outbox, transcripts
from videoflix.core.models import Subtitle, Video, VideoPart, VideoStatus
from videoflix.core.models.subtitle import AUTO, SOURCE
from videoflix.core.models.video import PENDING
from videoflix.core.models.viewing import fold_views
from videoflix.core.redaction import redact

from . import ladder_registry, storage
from .app import app
from .records import ENDED, VideoProcessed, VideoProgress

log = logging.getLogger(__name__)

_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="videoflix-db")


async def in_thread(fn, *args, **kw):
    return await asyncio.get_running_loop().run_in_executor(_executor, functools.partial(fn, *args, **kw))


async def until_done(fn, *args, what: str = "database write"):
    """Run `fn` in a thread, retrying while PostgreSQL is unreachable or asks for a retry (a restart must not
    lose an event: the partition waits instead of skipping it). Other errors propagate."""
    delay = 0.5
    while True:
        try:
            return await in_thread(fn, *args)
        except DBAPIError as exc:
            if not (exc.connection_invalidated or isinstance(exc, OperationalError)):
                raise
            log.warning("%s failed (%s); retrying in %.1f s", what, exc.__class__.__name__, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


@functools.cache
def engine() -> sa.Engine:
    return sa.create_engine(app.settings.database_url, pool_pre_ping=True, pool_size=4, max_overflow=2)


def video_status(video_id: int) -> VideoStatus | None:
    with engine().connect() as conn:
        return conn.scalar(sa.select(Video.status).where(Video.id == video_id))


@dataclass(frozen=True)
class ReadyOutput:
    """What the database names of a ready film's output."""

    hls_path: str
    renditions: list[dict]
    duration: float | None


def ready_output(video_id: int) -> ReadyOutput | None:
    """The video's served output, if it is ready."""
    with engine().connect() as conn:
        row = conn.execute(
            sa.select(Video.hls_path, Video.renditions, Video.duration).where(
                Video.id == video_id, Video.status == VideoStatus.READY, Video.hls_path.is_not(None)
            )
        ).first()
    return ReadyOutput(row.hls_path, list(row.renditions or []), row.duration) if row else None


#: the further ladders' runs' advisory lock: pg_try_advisory_lock(LADDERS_LOCK_CLASS, video id), a namespace of
#: our own
LADDERS_LOCK_CLASS = 0x5641  # "VA"


def claim_ladders(video_id: int) -> sa.Connection | None:
    """A connection holding the video's further ladders' lock, or None while another worker holds it: one
    ladder's verdict at a time per film (`ladder_parts.finish`: each reads and writes the film's master).
    Session-level, on a connection of its own outside any transaction: a worker that dies drops its
    connection and with it the lock. `release_claim` ends it."""
    conn = engine().connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        if conn.scalar(sa.select(sa.func.pg_try_advisory_lock(LADDERS_LOCK_CLASS, video_id))):
            return conn
    except BaseException:
        conn.close()
        raise
    conn.close()
    return None


def release_claim(conn: sa.Connection) -> None:
    """End a claim: its connection is closed, not pooled (PostgreSQL then drops the session's locks)."""
    conn.invalidate()
    conn.close()


#: the column's enum type, for values in CASE expressions (PostgreSQL types them text unless cast)
STATUS = Video.__table__.c.status.type


def of_job(event: VideoProgress | VideoProcessed) -> sa.ColumnElement[bool]:
    """The video's current job is the one the event reports on: the event carries the row's `job_token` (a
    video queued before tokens has none, and neither have its events)."""
    return Video.job_token.is_not_distinct_from(event.token or None)


def apply_progress(event: VideoProgress) -> bool:
    with engine().begin() as conn:
        return conn.execute(progress_update(event)).rowcount == 1


def progress_update(event: VideoProgress) -> sa.Update:
    """A job's percentage; `playable` with its output folder once the first segments exist; back to
    `processing` with no output when a job (re)starts. Never moves a finished (ready, failed) video back.
    A ready film's further ladder: `ladder_progress_update`."""
    if event.stage:
        return ladder_progress_update(event)
    values: dict = {
        "progress": max(0.0, min(100.0, event.progress)),
        "attempts": sa.func.greatest(Video.attempts, event.attempt + 1),
        "error": None,
        # a plain progress report keeps a playable video playable
        "status": sa.case(
            (Video.status == VideoStatus.PLAYABLE, sa.cast(VideoStatus.PLAYABLE.value, STATUS)),
            else_=sa.cast(VideoStatus.PROCESSING.value, STATUS),
        ),
    }
    if event.speed is not None or event.rendition_progress:
        values["progress_detail"] = {
            "speed": event.speed,
            "eta_seconds": event.eta_seconds,
            "renditions": event.rendition_progress,
        }
    if event.hls_path:
        values.update(status=VideoStatus.PLAYABLE, hls_path=event.hls_path, renditions=event.renditions)
    elif event.hls_path == "":
        values.update(status=VideoStatus.PROCESSING, hls_path=None, renditions=[], progress_detail={})
    return sa.update(Video).where(Video.id == event.video_id, Video.status.in_(PENDING), of_job(event)).values(**values)


def ladder_progress_update(event: VideoProgress) -> sa.Update:
    """A ready film's further ladder being made (`VideoProgress.stage`: its name): its percentage, FFmpeg's
    speed and the ETA under `progress_detail`'s key of that name (beside another ladder's), the film's status
    and progress left as they are; its end without a verdict (the name + ENDED) clears them. Only while the
    film is ready without that ladder's verdict: the verdict comes as a ready report, on its own topic, and a
    report of the ladder that arrives after it must not show it running again (the ready report clears the
    detail). A stage naming no further ladder changes nothing."""
    name = event.stage.removesuffix(ENDED)
    query = sa.update(Video).where(Video.id == event.video_id, Video.status == VideoStatus.READY, of_job(event))
    if name not in ladder_registry.FURTHER:
        return query.where(sa.false())
    if event.stage.endswith(ENDED):
        return query.where(Video.progress_detail.has_key(name)).values(
            progress_detail=Video.progress_detail.op("-")(name)
        )
    detail = {"progress": max(0.0, min(100.0, event.progress)), "speed": event.speed, "eta_seconds": event.eta_seconds}
    verdict = sa.func.jsonb_path_exists(Video.renditions, sa.cast(sa.literal(f"$[*].{name}"), JSONPATH))
    merged = sa.func.coalesce(Video.progress_detail, sa.literal({}, JSONB)).op("||")(sa.literal({name: detail}, JSONB))
    return query.where(~verdict).values(progress_detail=merged)


def apply_processed(event: VideoProcessed) -> bool:
    """Record a job's end. `ready` switches the served output to the new folder (the atomic step: the folder
    is complete before its name reaches the database); `failed` never overrides a ready video. A result for
    a deleted video removes what the job left. A ready film reported again for the same output (a further
    ladder's verdict) keeps the verdicts of the other ladders and the film's note: two ladders made at once
    report in either order, each from the renditions as it read them."""
    with engine().begin() as conn:
        query = sa.update(Video).where(Video.id == event.video_id, of_job(event))
        if event.status == VideoStatus.READY:
            stored = conn.execute(
                sa.select(Video.status, Video.hls_path, Video.renditions, Video.error)
                .where(Video.id == event.video_id)
                .with_for_update()
            ).first()
            again = stored is not None and stored.status == VideoStatus.READY and stored.hls_path == event.hls_path
            note = redact(event.error) if event.error else (stored.error if again else None)
            values = {
                "status": VideoStatus.READY,
                "progress": 100.0,
                "error": note,  # a ready film's note, if any
                "renditions": with_verdicts(event.renditions, stored.renditions if again else []),
                "hls_path": event.hls_path,
                "progress_detail": {},
                "processed_at": sa.func.now(),
            }
            if event.duration:
                values["duration"] = event.duration
        else:
            query = query.where(Video.status != VideoStatus.READY)
            values = {
                "status": VideoStatus.FAILED,
                "error": redact(event.error or "") or "Processing failed.",  # whoever wrote the event
                "hls_path": None,  # a playable output of the failed job is gone with it
                "progress_detail": {},
                "processed_at": sa.func.now(),
            }
        applied = conn.execute(query.values(**values)).rowcount == 1
        if applied:  # a film's H.264 plan ends with it; a further ladder's with its verdict (ready, again)
            plan = sa.delete(VideoPart).where(VideoPart.video_id == event.video_id)
            if event.status == VideoStatus.READY:
                ended = [VideoPart.FIRST_LADDER, *ladder_registry.with_verdict(event.renditions)]
                plan = plan.where(VideoPart.ladder.in_(ended))
            conn.execute(plan)
        gone = not applied and conn.scalar(sa.select(Video.id).where(Video.id == event.video_id)) is None
    if event.status == VideoStatus.READY:
        if applied:  # older outputs of a re-processed video, once the database points at the new one
            storage.remove_outputs(event.video_id, keep=event.hls_path)
        elif gone:  # deleted after the job's last check; its output must not outlive it (not: another job's)
            storage.remove_video(event.video_id)
        else:
            log.warning("video %s: a ready report not of its current job (stale or forged) changed nothing",
                        event.video_id)  # fmt: skip
    return applied


def with_verdicts(renditions: list[dict], earlier: list[dict]) -> list[dict]:
    """`renditions` with each further ladder's twin that `earlier` (the same output's, as stored) has and they
    lack."""
    twins = {r.get("name"): {k: r[k] for k in ladder_registry.FURTHER if k in r} for r in earlier}
    return [{**twins.get(r.get("name"), {}), **r} for r in renditions]


def record_subtitles(video_id: int, tracks: list[dict]) -> None:
    """The tracks a job extracted from the source and stored (stream_workers/subtitle_tracks.py), as the
    video's: written by the job before it reports the video ready, so they are there when it is. An operator's
    track of the same language stays (the extracted object is then removed). Idempotent."""
    if not tracks:
        return
    try:
        with engine().begin() as conn:
            unused = _upsert_extracted(conn, video_id, tracks)
    except IntegrityError:  # the video was deleted meanwhile: its folder goes with it
        log.info("video %s is gone; its subtitle tracks are not recorded", video_id)
        return
    for key in unused:
        storage.backend().delete(key)


def _upsert_extracted(conn: sa.Connection, video_id: int, tracks: list[dict]) -> list[str]:
    """Upsert the extracted tracks; the keys of those no row names (an operator's track won)."""
    rows = [{"video_id": video_id, "origin": SOURCE, **{k: t[k] for k in ("language", "label", "key", "cues")}}
            for t in tracks]  # fmt: skip
    insert = pg_insert(Subtitle).values(rows)
    named = conn.execute(
        insert.on_conflict_do_update(
            index_elements=[Subtitle.video_id, Subtitle.language],
            set_={"label": insert.excluded.label, "key": insert.excluded.key, "cues": insert.excluded.cues},
            where=Subtitle.origin == SOURCE,
        ).returning(Subtitle.key)
    ).scalars()
    return sorted({row["key"] for row in rows} - set(named))


def wants_captions(video_id: int) -> bool:
    """The video is there and has no automatic track yet (`caption_jobs`: a job run again is skipped)."""
    with engine().connect() as conn:
        exists = conn.scalar(sa.select(sa.func.count()).select_from(Video).where(Video.id == video_id))
        made = conn.scalar(sa.select(sa.func.count()).where(Subtitle.video_id == video_id, Subtitle.origin == AUTO))
    return bool(exists) and not made


def record_captions(video_id: int, track: dict) -> bool:
    """Record the video's automatic track (`caption_jobs`: `track["said"]` its cues) and its transcript,
    unless its language has a track already (an operator's or the source's: never replaced by one made from
    speech); False if not recorded (or the video is gone), and the caller removes the object."""
    row = {"video_id": video_id, "origin": AUTO, **{k: track[k] for k in ("language", "label", "key", "cues")}}
    try:
        with engine().begin() as conn:
            insert = pg_insert(Subtitle).values(row)
            done = conn.execute(
                insert.on_conflict_do_nothing(index_elements=[Subtitle.video_id, Subtitle.language])
            ).rowcount
            # the transcript follows the automatic track; where the language's track is an operator's, the
            # speech is still what search finds, until that operator's track gives the transcript its text
            if done == 1 or transcripts.language_of(conn, video_id) is None:
                transcripts.save(conn, video_id, track["language"], AUTO, track["said"])
    except IntegrityError:  # the video was deleted meanwhile
        return False
    return done == 1


def requeue_stalled(conn: sa.Connection, idle_seconds: float, limit: int = 100) -> list[int]:
    """Queue again (through the outbox) the videos that are still to be processed but saw no activity for
    `idle_seconds`, doubled for each earlier re-queue of the same video (at most 64 times as long).

    The broker is a transport, not the record: tansu forgets everything when it restarts, a consumer may skip
    offsets it believes it has seen, a worker may die with its event lost. PostgreSQL still knows the video
    waits, so the pipeline heals. A video that was only slow gets a duplicate event, which the transcode
    agent skips once the video is ready. A ready film whose further ladder's plan (made in parts) shows no
    activity is queued too: the transcode agent resumes that plan (`ladder_plans.resume`)."""
    backoff = sa.func.power(2, sa.func.least(Video.requeues, 6))
    # a ready film whose further ladder is being made in parts (`ladder_parts`): its plan's rows are the record
    further = sa.exists().where(VideoPart.video_id == Video.id, VideoPart.ladder != VideoPart.FIRST_LADDER)
    stalled = conn.execute(
        sa.select(Video.id, Video.source_path, Video.job_token)
        .where(
            Video.status.in_(PENDING) | ((Video.status == VideoStatus.READY) & further),
            Video.updated_at < sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, idle_seconds * backoff),
        )
        .order_by(Video.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not stalled:
        return []
    ids = [row.id for row in stalled]
    conn.execute(sa.update(Video).where(Video.id.in_(ids)).values(requeues=Video.requeues + 1))
    outbox.enqueue(conn, [(events.UPLOADED, str(row.id), events.uploaded(row.id, row.source_path, token=row.job_token))
                          for row in stalled])  # fmt: skip
    return ids


def fold_views_now() -> int:
    """Counted views into the videos' rows (`videoflix.core.models.viewing.fold_views`), in a transaction of its own."""
    with engine().begin() as conn:
        return fold_views(conn)


def requeue_stalled_now(idle_seconds: float) -> list[int]:
    with engine().begin() as conn:
        return requeue_stalled(conn, idle_seconds)
