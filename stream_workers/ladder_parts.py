"""A ready film's further ladders (`ladder_registry.FURTHER`) made in its parts over every worker, whether its
H.264 ladder was made in one pass or in parts: planned when the film is ready (`ladder_plans.start`), each
part is one job on the further-ladders topic (`agents/further_ladders.py`), claimed in PostgreSQL (`plans`,
keyed by ladder), encoded and joined with the film's sound (`fmp4_parts`, on the H.264 renditions' clock) by
whichever worker takes it, and the worker that finishes the last one writes the ladder's playlists, scores it
against the H.264 renditions and lists it where it is as good in fewer bytes (`ladder_verdict.choose_listed`);
the film is then reported ready again, with the verdict. Meanwhile the film plays with H.264, and its status
shows the ladder's progress (`VideoProgress.stage`).

A part that fails for a passing reason runs again alone; one that fails for good (the encoder refuses the
picture) ends the ladder, not the film: the film stays ready with H.264 alone. A worker that dies mid-part
leaves its claim to go stale; the watchdog queues the film again (`db.requeue_stalled`) and the transcode agent
resumes the plan (`ladder_plans.resume`), keeping the finished parts.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import math
import shutil
import time
import uuid

import sqlalchemy as sa

from videoflix.core import events
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.ladders import FAST_MASTER
from videoflix.core.media import MediaInfo, ladder_for
from videoflix.core.models.video import PENDING

from . import (
    ffmpeg_run,
    film_keys,
    fmp4_parts,
    jobs,
    ladder_registry,
    ladder_verdict,
    part_attempts,
    plans,
    quality,
    rate_aim,
    storage,
)
from .app import app
from .db import ReadyOutput, claim_ladders, in_thread, ready_output, release_claim, until_done, video_status
from .film_parts import Part, last_part
from .film_steps import FilmSteps
from .hls import PARTS_CLOCK
from .ladders import Ladder
from .part_playlists import PARTS
from .records import ENDED, PartJob
from .reports import progress, readable, report_ready

log = logging.getLogger(__name__)

#: seconds between the renewals of a part's claim while its rate is aimed (well within plans.HEARTBEAT_STALE)
AIM_BEAT = 5.0
#: how many seconds the last part's worker waits for the film's own ready report (planned before it, a short
#: film's ladder may be done first); after that the watchdog's re-queue finishes the ladder
READY_WAIT = 30


async def run_payload(payload) -> None:
    """One job of the further-ladders topic (`agents/further_ladders.py`)."""
    if (job := await readable(PartJob, payload, events.LADDER_PARTS)) is not None:
        await run_job(job)


async def run_job(job: PartJob) -> None:
    """Run one part of a further ladder, in the worker's further-ladder slot (not the FFmpeg slot the fast
    ladder's jobs take: `jobs.LADDER_SLOT`); the last part done finishes the ladder."""
    async with jobs.LADDER_SLOT:
        token = uuid.uuid4().hex
        outcome, attempts = await until_done(
            plans.claim, job.video_id, job.part, job.output, token, job.ladder, what="claiming a part"
        )
        if outcome != "claimed":
            log.info("video %s %s part %s is %s; job skipped", job.video_id, job.ladder, job.part, outcome)
            if outcome == "done":
                await finish(job)  # a redelivered job whose worker died before it finished the ladder
            return
        part = LadderPart(job, token, await until_done(film_keys.output, job.output, what="reading the keys"))
        drop = functools.partial(part.output.drop_workspace, part.workspace_name)
        if not await part_attempts.attempt(job, token, attempts, part.run, drop, functools.partial(end_ladder, job)):
            return
    if part.last_done:
        await finish(job)


class LadderPart:
    """One claimed part of a further ladder on this worker: its FFmpeg run (picture only, every rung), then
    its join with the film's sound, delivered to the store and recorded in its plan row."""

    def __init__(self, job: PartJob, token: str, output: storage.Output):
        self.job, self.token = job, token
        self.ladder = ladder_registry.ladder(job.ladder, app.settings)
        self.info = MediaInfo(**job.media)
        self.rungs = ladder_for(self.info.short_side)
        self.output = output  # (`film_keys.output`: sealed with the film's keys, if it has any)
        self.workspace_name = f"{job.ladder}-{job.part}"
        self.folder = self.output.workspace(self.workspace_name)
        self.part = Part(job.part, job.start, job.length)
        self.ffmpeg = ffmpeg_exe(app.settings.ffmpeg_binary)
        self.last_done = False

    async def run(self) -> None:
        job, settings = self.job, app.settings
        source = (await in_thread(storage.Source, job.source)).path
        await in_thread(fmp4_parts.make_folders, self.folder, self.ladder, self.rungs)
        aims = await self.aimed(source)
        clock = PARTS_CLOCK if job.clock is None else job.clock
        steps = FilmSteps(self.info, self.rungs, self.ladder, rates=rate_aim.rates(aims), zones=rate_aim.zones(aims),
                          clock=clock)  # fmt: skip
        argv = steps.picture_part(self.ffmpeg, source, self.folder, self.part)
        last_sent = time.monotonic()

        async def on_progress(parser: ffmpeg_run.ProgressParser) -> None:
            nonlocal last_sent
            if time.monotonic() - last_sent >= settings.progress_interval:
                last_sent = time.monotonic()
                if await jobs.deleted(job.video_id):
                    raise jobs.VideoDeleted
                await self.report(parser.out_seconds, parser.speed or None)

        started = time.monotonic()
        await ffmpeg_run.run_ffmpeg(
            argv, on_progress, settings.job_timeout, settings.stall_timeout, self.ladder.niceness
        )
        last = last_part(self.part, self.info)
        served = await in_thread(
            fmp4_parts.join_part, self.ffmpeg, self.folder, self.ladder, self.rungs, self.part, last,
            lambda name: self.output.fetch(self.folder, name), self.info.has_audio,
        )  # fmt: skip
        await in_thread(self.deliver, served)
        if aims:  # (kept with the part's record: the verdict shows the CRFs the parts were aimed at)
            served = {**served, rate_aim.AIMED: rate_aim.crfs_of(aims)}
        await self.report(job.length, None, served)
        log.info(
            "video %s %s part %s encoded in %.1f s", job.video_id, job.ladder, job.part, time.monotonic() - started
        )
        await in_thread(self.output.drop_workspace, self.workspace_name)

    async def aimed(self, source) -> dict[str, rate_aim.RungAim]:
        """The part's rungs aimed on its own scenes (`rate_aim.rates_for`), its claim renewed meanwhile: the
        probes of a minute of 1080p take longer than a claim stays fresh (HEARTBEAT_STALE), and a claim left
        to go stale would hand the part to another worker while this one still makes it."""
        end = min(self.part.start + self.part.length, self.info.duration or math.inf)
        stretch = (self.part.start, max(0.1, end - self.part.start))
        aiming = asyncio.ensure_future(in_thread(rate_aim.rates_for, app.settings, self.ffmpeg, source, self.info,
                                                 self.ladder, self.rungs, stretch))  # fmt: skip
        while not aiming.done():
            await asyncio.wait({aiming}, timeout=max(0.05, min(app.settings.progress_interval, AIM_BEAT)))
            if not aiming.done():
                await self.report(0.0, None)
        return aiming.result()

    def deliver(self, served: fmp4_parts.Served) -> None:
        """(In a thread.) The part's files to the store (nothing to do on the local backend)."""
        for rung in self.rungs:
            for name in fmp4_parts.files_of(served, rung):
                self.output.deliver(self.folder, f"{self.ladder.folder}/{rung.name}/{name}")

    async def report(self, seconds: float, speed: float | None, served: fmp4_parts.Served | None = None) -> None:
        """Renew the claim with the part's progress, or (`served`) mark it done; report the ladder's progress
        from its whole plan. While PostgreSQL is unreachable a progress report is skipped; the end waits."""
        job = self.job

        def tick() -> list:
            with plans.locked(job.video_id) as conn:
                if served is None:
                    plans.beat(conn, job.video_id, job.part, self.token, seconds, speed, ladder=job.ladder)
                else:
                    plans.complete(conn, job.video_id, job.part, self.token, served, ladder=job.ladder)
                return plans.rows(conn, job.video_id, job.ladder)

        try:
            rows = await (in_thread(tick) if served is None else until_done(tick, what="recording a part"))
        except sa.exc.DBAPIError as exc:
            log.warning("video %s %s part %s: progress not recorded (%s)", job.video_id, job.ladder, job.part,
                        type(exc).__name__)  # fmt: skip
            return
        self.last_done = served is not None and all(row.state == "done" for row in rows)
        await report_progress(job, self.info, rows)


async def report_progress(job: PartJob, info: MediaInfo, rows) -> None:
    """The ladder's progress over its whole plan, as a ready film's stage: the share encoded, the speed of
    every worker on it together, and the time left at that speed."""
    duration = info.duration or 1.0
    encoded = sum(row.length if row.state == "done" else row.seconds for row in rows)
    speed = round(sum(row.speed or 0.0 for row in rows if row.state == "running"), 2) or None
    eta = round(max(0.0, duration - encoded) / speed, 1) if speed else None
    await progress(job, min(99.0, 100.0 * encoded / duration), stage=job.ladder, speed=speed, eta_seconds=eta)


async def end_ladder(job: PartJob, exc: Exception, attempts: int) -> None:
    """A part failed for good (the encoder refused the picture, or its attempts ran out): the ladder ends,
    not the film, which stays ready with H.264 alone (`part_attempts.failed` decides when)."""
    if await until_done(plans.abandon, job.video_id, job.output, job.ladder, what="abandoning a plan"):
        log.warning("video %s: no %s ladder after %d attempts (%s); H.264 alone", job.video_id, job.ladder,
                    attempts, exc)  # fmt: skip
        await in_thread(film_keys.output(job.output).remove, ladder_registry.FURTHER[job.ladder].folder)
        await progress(job, 0.0, stage=job.ladder + ENDED)


async def finish(job: PartJob) -> None:
    """Once every part of the ladder is done: its playlists written from the rows, scored against the H.264
    renditions (their scores as reported), listed where as good in fewer bytes, and the film reported ready
    again with the verdict. Idempotent: a film that has the verdict, or another output, is left alone."""
    ladder, info = ladder_registry.ladder(job.ladder, app.settings), MediaInfo(**job.media)
    rungs, output = ladder_for(info.short_side), await until_done(film_keys.output, job.output, what="the keys")
    crfs: dict[str, list[float]] = {}  # (the CRFs each rung's parts were aimed at, read with the rows)

    def assemble() -> ReadyOutput | None:
        with plans.locked(job.video_id) as conn:
            rows = plans.rows(conn, job.video_id, ladder.name)
            if not rows or rows[0].output != job.output or any(row.state != "done" for row in rows):
                return None
            ready = ready_output(job.video_id)
            if (
                ready is None
                or ready.hls_path != job.output
                or ladder.name in ladder_registry.with_verdict(ready.renditions)
            ):
                return None
            for name, text in fmp4_parts.ladder_playlists(ladder, rungs, [row.served for row in rows]).items():
                output.write_text(name, text)
            crfs.clear()
            for row in rows:
                for name, crf in row.served.get(rate_aim.AIMED, {}).items():  # (a part's, or its scenes')
                    crfs.setdefault(name, []).extend(crf if isinstance(crf, list) else [crf])
            return ready

    try:
        for _ in range(READY_WAIT):
            ready = await until_done(assemble, what="assembling a ladder")
            if ready is not None or await in_thread(video_status, job.video_id) not in PENDING:
                break
            await asyncio.sleep(1.0)  # the film's ready report is still on its way
    except (ValueError, OSError, storage.StorageUnavailable) as exc:
        log.warning("video %s: its %s ladder not assembled (%s)", job.video_id, ladder.name, exc)
        return
    if ready is None:
        return
    # one ladder's verdict at a time per film (another ladder's parts may end together): each reads the master
    # the other wrote; the database keeps both verdicts whichever report lands first (`db.with_verdicts`)
    while (claim := await until_done(claim_ladders, job.video_id, what="claiming the film's master")) is None:
        await asyncio.sleep(1.0)
    try:
        renditions = rate_aim.with_crfs(await in_thread(verdict, job, ladder, info, rungs, ready), ladder, crfs)
    finally:
        await in_thread(release_claim, claim)
    log.info("video %s: its %s ladder made in parts, %s", job.video_id, ladder.name,
             "listed" if any(r[ladder.name]["listed"] for r in renditions) else "not listed")  # fmt: skip
    if await jobs.deleted(job.video_id):
        raise jobs.VideoDeleted
    await report_ready(job, job.output, renditions, ready.duration)


def verdict(job: PartJob, ladder: Ladder, info: MediaInfo, rungs, ready: ReadyOutput) -> list[dict]:
    """(In a thread.) Score the ladder in the H.264 renditions' windows and list it in the film's master where
    it holds their quality in fewer bytes (`ladder_verdict.choose_listed`, on a local copy: the output itself on
    the local backend; on S3 a workspace, the master written back and the unlisted renditions removed)."""
    settings, output = app.settings, film_keys.output(job.output)
    folder = output.workspace(f"{ladder.name}-verdict")
    local = lambda name: output.fetch(folder, name)  # noqa: E731
    try:
        source = storage.Source(job.source).path
        twins = quality.measured(
            ffmpeg_exe(settings.ffmpeg_binary), source, info, local, rungs, settings.quality_samples,
            ladder_verdict.twins(ladder, rungs), False,
        )  # fmt: skip
        for name in ("master.m3u8", f"{ladder.folder}/master.m3u8"):
            local(name)
        if output.staged and (fast := output.read_text(FAST_MASTER)):  # (a replacing ladder listed)
            (folder / FAST_MASTER).write_text(fast, "utf-8")
        renditions, listed = ladder_verdict.choose_listed(
            ladder, folder, rungs, ready.renditions, {**quality.recorded(ready.renditions), **twins},
            settings.vmaf_floor, settings.quality_samples > 0,
        )  # fmt: skip
        if output.staged:
            if (folder / FAST_MASTER).is_file():  # (before the master that no longer lists it)
                output.write_text(FAST_MASTER, (folder / FAST_MASTER).read_text("utf-8"))
            output.write_text("master.m3u8", (folder / "master.m3u8").read_text("utf-8"))
            storage.backend().delete(f"{output.prefix}{ladder.folder}/master.m3u8")
            for name in ladder.folders(rungs):
                if name not in listed:
                    output.remove(name)
        shutil.rmtree(folder / PARTS / ladder.folder, ignore_errors=True)
        with contextlib.suppress(OSError):
            (folder / PARTS).rmdir()
        return renditions
    finally:
        output.drop_workspace(f"{ladder.name}-verdict")
