"""A film made in one pass gets its further ladders (AV1; HEVC where switched on: `ladder_registry`) once it is
ready, each by an FFmpeg run of its own (`FilmSteps.ladder_pass`: SVT-AV1 takes about 2.4x the H.264 pass' CPU,
so the film does not wait for it), one ladder after the other under one claim per film (`db.claim_ladders`):
each scored in the H.264 renditions' VMAF windows, listed where it holds their quality in fewer bytes
(`ladder_verdict.choose_listed`), published, and the film reported again with the verdict. Its progress is a
ready film's stage (`VideoProgress.stage`: the ladder's name). Where the encoder fails on the film (SVT-AV1
refuses some pictures x264 takes), the film stays as it is for that ladder: ready without it.

A worker that dies meanwhile leaves the film ready without the verdict; the event, redelivered, runs the
missing ladders again (`resume`). A film made in parts has its further ladders made in parts instead
(`ladder_parts`)."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from videoflix.core.containers import ffmpeg_exe
from videoflix.core.ladders import FAST_MASTER
from videoflix.core.media import MediaInfo, Rung, ladder_for

from . import (
    ffmpeg_run,
    film_keys,
    hls_output,
    jobs,
    ladder_parts,
    ladder_registry,
    ladder_verdict,
    loudness,
    quality,
    rate_aim,
    storage,
)
from .app import app
from .db import ReadyOutput, claim_ladders, in_thread, ready_output, release_claim, until_done
from .film_steps import FilmSteps
from .ladders import Ladder
from .records import ENDED, VideoUploaded
from .reports import progress, report_ready

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Film:
    """A film made ready by the single pass, as its further ladders' runs take it up."""

    event: VideoUploaded
    source: Path
    output: Path
    hls_path: str
    info: MediaInfo
    rungs: list[Rung]
    duration: float | None


async def add_ladders(
    film: Film,
    ladders: list[Ladder],
    levels: Mapping[int, str | None],
    renditions: list[dict],
    scores: Mapping[str, quality.Score],
    publisher: storage.Publisher,
    local: Callable[[str], Path],
) -> None:
    """Each of `ladders` in turn, under the film's claim (another worker running them: nothing to do);
    `scores`: the H.264 renditions' (each ladder is judged against them), `local(name)`: the local file of
    the output's `name` (the H.264 segments the scoring reads)."""
    async with claim(film.event.video_id) as mine:
        if mine:
            for ladder in ladders:
                renditions = await add_ladder(film, ladder, levels, renditions, scores, publisher, local)


async def add_ladder(
    film: Film,
    ladder: Ladder,
    levels: Mapping[int, str | None],
    renditions: list[dict],
    scores: Mapping[str, quality.Score],
    publisher: storage.Publisher,
    local: Callable[[str], Path],
) -> list[dict]:
    """One further ladder of a ready film: made, checked, scored, listed where it measures as good, published,
    and the film reported ready again with its verdict. The renditions as reported (unchanged where the
    encoder failed on the film)."""
    settings, event, output = app.settings, film.event, film.output
    ffmpeg = ffmpeg_exe(settings.ffmpeg_binary)
    await in_thread(ladder_verdict.make_folders, ladder, output, film.rungs)
    await progress(event, 0.0, stage=ladder.name)
    stretch = (0.0, film.info.duration or 0.0)
    aims = await in_thread(rate_aim.rates_for, settings, ffmpeg, film.source, film.info, ladder, film.rungs, stretch)
    steps = FilmSteps(film.info, film.rungs, ladder, rates=rate_aim.rates(aims), zones=rate_aim.zones(aims),
                      audio_filters=levels)  # fmt: skip
    argv = steps.ladder_pass(ffmpeg, film.source, output)
    last_checked = time.monotonic()

    async def on_progress(parser: ffmpeg_run.ProgressParser) -> None:
        nonlocal last_checked
        if time.monotonic() - last_checked >= settings.progress_interval:
            last_checked = time.monotonic()
            if await jobs.deleted(event.video_id):
                raise jobs.VideoDeleted  # stops FFmpeg; the agent discards the output
            percent, speed = parser.percent(film.info.duration), parser.speed or None  # (N/A, 0x: not known yet)
            await progress(event, percent, stage=ladder.name, speed=speed, eta_seconds=parser.eta(film.info.duration))

    try:
        result = await ffmpeg_run.run_ffmpeg(
            argv, on_progress, settings.job_timeout, settings.stall_timeout, ladder.niceness
        )
        await in_thread(checked, output, [], ladder.folders(film.rungs), False)
    except BaseException as exc:
        await in_thread(shutil.rmtree, output / ladder.folder, True)  # nothing names it
        if not isinstance(exc, ffmpeg_run.TranscodeError):
            raise
        log.warning("video %s: no %s ladder (%s)", event.video_id, ladder.name, exc)
        await progress(event, 0.0, stage=ladder.name + ENDED)
        return renditions
    twins = await in_thread(
        quality.measured, ffmpeg, film.source, film.info, local, film.rungs, settings.quality_samples,
        ladder_verdict.twins(ladder, film.rungs), False,
    )  # fmt: skip
    renditions, listed = await in_thread(
        ladder_verdict.choose_listed, ladder, output, film.rungs, renditions, {**scores, **twins},
        settings.vmaf_floor, settings.quality_samples > 0,
    )  # fmt: skip
    renditions = rate_aim.with_crfs(renditions, ladder, rate_aim.crfs_of(aims))
    await in_thread(hls_output.finalize_playlists, output, [], listed)
    await in_thread(publisher.publish, [], True, listed)  # (the H.264 ladder is in the store since ready)
    log.info("video %s: %s ladder made in %.1f s, %s", event.video_id, ladder.name, result.wall_seconds,
             "listed" if listed else "not listed (H.264 holds its quality better)")  # fmt: skip
    if await jobs.deleted(event.video_id):
        raise jobs.VideoDeleted
    await report_ready(event, film.hls_path, renditions, film.duration)
    return renditions


def checked(output: Path, rungs: list[Rung], folders: list[str], thumbnail: bool = True) -> None:
    """`hls_output.check_output`, a full or read-only disk told from a bad file (`hls_output.check_storage`)."""
    try:
        hls_output.check_output(output, rungs, folders, thumbnail)
    except ffmpeg_run.TranscodeError:
        hls_output.check_storage(output)  # a full or read-only disk is not the file's fault
        raise


@contextlib.asynccontextmanager
async def claim(video_id: int) -> AsyncIterator[bool]:
    """Whether this worker may run the film's further ladders: none other is running them (`db.claim_ladders`)."""
    conn = await until_done(claim_ladders, video_id, what="claiming the further ladders")
    if conn is None:
        log.info("video %s: another worker is making its further ladders", video_id)
    try:
        yield conn is not None
    finally:
        if conn is not None:
            await in_thread(release_claim, conn)


async def resume(event: VideoUploaded, examined: Callable[[VideoUploaded], Awaitable[tuple]]) -> bool:
    """The event of a ready film, again: its worker died after the film was ready, while it made a further
    ladder (the event was not acknowledged), or the watchdog queued it (its ladder's plan in parts idle), or
    it is a duplicate. The ladders it should have and has no verdict on are made again: a film made in parts,
    by what remains of their plans (`ladder_parts.resume`); one made in one pass, each from the start, whatever
    an interrupted run left gone (its folder; its variants, had it listed them), judged against the H.264
    scores as reported, the H.264 segments fetched from the store as needed. Whether anything was resumed
    here (not: another worker holds the film's claim).
    `examined(event)`: the source and its facts."""
    settings = app.settings
    ready = None
    if ladders := ladder_registry.enabled(settings):
        ready = await until_done(ready_output, event.video_id, what="reading the ready film")
    missing = [ladder for ladder in ladders if ready and ladder_verdict.unfinished(ladder, ready.renditions)]
    if not missing:
        return False
    source, info = await examined(event)
    if jobs.in_parts(info):  # its further ladders are made in parts
        return await ladder_parts.resume(event, info, ready)
    wanted = [
        ladder for ladder in ladder_registry.wanted(info, settings, settings.av1_max_seconds) if ladder in missing
    ]
    if not wanted:
        return False
    log.info("video %s is ready without the verdict on %s: made again", event.video_id,
             ", ".join(ladder.name for ladder in wanted))  # fmt: skip
    async with jobs.LADDER_SLOT, claim(event.video_id) as mine:
        if mine:
            await remake(event, source.path, info, ready, wanted)
    return mine


async def remake(event: VideoUploaded, source: Path, info: MediaInfo, ready: ReadyOutput, ladders: list[Ladder]):
    """(`resume`, under the claim.) The film's `ladders` made again from the start, in its ready output."""
    stored = await in_thread(film_keys.output, ready.hls_path)
    output = storage.work_root(stored.keys) / ready.hls_path
    master = await in_thread(stored.fetch, output, "master.m3u8")
    text = await in_thread(master.read_text, "utf-8")
    fast = await in_thread(stored.read_text, FAST_MASTER)  # ("" until a replacing ladder was listed)
    for ladder in ladders:
        text = ladder_verdict.without_variants(ladder, text, fast)
    await in_thread(hls_output.write_atomically, master, text)  # (first: a player then names no file that goes)
    if stored.staged:
        await in_thread(stored.write_text, "master.m3u8", text)
    if fast and any(ladder.replaces for ladder in ladders):  # the renditions' playlists are the fast ones again
        await in_thread(stored.delete, FAST_MASTER)
    for ladder in ladders:
        await in_thread(stored.remove, ladder.folder)  # (in the store, and in scratch)
    rungs = ladder_for(info.short_side)
    levels = await in_thread(loudness.filters, ffmpeg_exe(app.settings.ffmpeg_binary), source, info)
    film = Film(event, source, output, ready.hls_path, info, rungs, ready.duration)
    publisher = storage.Publisher(output, ready.hls_path, stored.keys)
    renditions = ready.renditions
    try:
        for ladder in ladders:
            renditions = await add_ladder(
                film, ladder, levels, renditions, quality.recorded(ready.renditions), publisher,
                lambda name: stored.fetch(output, name),
            )  # fmt: skip
    finally:
        await in_thread(publisher.discard_local)
