"""A ready film's further ladders (`ladder_registry`: the best H.264 ladder, AV1, HEVC) planned in parts over
every worker, however its H.264 ladder was made: `start`, by the worker that makes the film ready (its single
pass, or the assembly of its last part), before it reports the film ready (the rows are the record: a worker
dying before the jobs are sent leaves a plan the watchdog resumes); `resume`, when the film's upload event
comes again (a redelivery, or the watchdog: the plan idle). Each part is then one job on the further-ladders
topic, made, assembled and judged by `ladder_parts`.

A film made in one pass gets them in parts too, so the transcode agent that made it is free for the next
upload at once, and every worker takes a share: its parts are cut as a long film's (PART_SECONDS), and one
that does not decode cleanly from a seek (`seeking`) is one part, read from its start. The parts' timestamps
take the H.264 renditions' clock, which differs with how the film was made (`hls.ONE_PASS_CLOCK`,
`hls.PARTS_CLOCK`): the worker that made the film names it in the jobs; a plan resumed reads it from the
film's first segment (`film_clock`).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable

from videoflix.core import mpegts
from videoflix.core.ladders import FAST_MASTER
from videoflix.core.media import MediaInfo, Rung, ladder_for

from . import film_keys, hls, hls_output, ladder_parts, ladder_registry, ladder_verdict, plans, storage
from .app import app
from .db import in_thread, ready_output, until_done
from .film_parts import Part, cut_film
from .ladders import Ladder
from .part_run import send
from .records import PartJob, VideoUploaded

log = logging.getLogger(__name__)


def cut(info: MediaInfo, duration: float) -> list[Part]:
    """The parts of a film's further ladders: PART_SECONDS each, as a long film's H.264 plan is cut; one, the
    whole film, where it does not decode cleanly from a seek (`FilmSteps.picture_part` then reads it from its
    start)."""
    return cut_film(duration, app.settings.part_seconds) if info.seeks else [Part(0, 0.0, duration)]


def film_job(event: VideoUploaded | PartJob, output: str, info: MediaInfo, clock: float) -> PartJob:
    """What every job of the film's further ladders carries: its output, its source and facts, its H.264
    renditions' `clock`, the upload event's attempt and token (for the reports; `event`: the upload's, or a
    job of the film's H.264 plan, which carries them)."""
    return PartJob(video_id=event.video_id, part=0, output=output, source=event.source, media=dataclasses.asdict(info),
                   attempt=event.attempt, token=event.token, clock=clock)  # fmt: skip


async def start(job: PartJob, info: MediaInfo, parts: list[Part], ladders: list[Ladder]) -> None:
    """Plan `ladders` in the film's `parts` and queue their jobs (`job`: the film's, `film_job`)."""
    for ladder in ladders:
        rows = await until_done(plans.create_ladder, job.video_id, job.output, ladder.name, parts, what="planning")
        log.info("video %s: the %s ladder planned in %d parts", job.video_id, ladder.name, len(rows))
        await queue(job, ladder, rows)


async def queue(job: PartJob, ladder: Ladder, rows) -> None:
    for row in rows:
        await send(PartJob(**{**job.asdict(), "part": row.part, "start": row.start, "length": row.length,
                               "ladder": ladder.name}))  # fmt: skip


def film_clock(output: storage.Output, rungs: list[Rung]) -> float:
    """(In a thread.) Where a ready film's H.264 renditions' timestamps start, read from its first segment (its
    least timestamp, as hls.js takes it): the clock of a film made in one pass or in parts, whichever it is
    nearest (they are MPEGTS_DELAY apart; the sound's priming starts a segment ~20 ms early)."""
    folder = output.workspace("clock")
    try:
        lowest = rungs[0].name
        segments = hls_output.playlist_text_segments(output.fetch(folder, f"{lowest}/index.m3u8").read_text())
        if not segments:
            raise ValueError("the film's playlist lists no segment")
        with output.fetch(folder, f"{lowest}/{segments[0]}").open("rb") as segment:
            pts = mpegts.first_pts(segment.read(mpegts.HEAD_BYTES))
    finally:
        output.drop_workspace("clock")
    if pts is None:
        raise ValueError("the film's first segment holds no timestamp")
    return min((hls.ONE_PASS_CLOCK, hls.PARTS_CLOCK), key=lambda clock: abs(pts / 90000 - clock))


async def resume(event: VideoUploaded, examined: Callable[[VideoUploaded], Awaitable[tuple]]) -> bool:
    """The upload event of a ready film, again: the further ladders it should have and has no verdict on go on
    from what remains of their plans (the finished parts kept), planned anew where they have none; whether any
    did. `examined(event)`: the source and its facts."""
    settings = app.settings
    if not (enabled := ladder_registry.enabled(settings)):
        return False
    ready = await until_done(ready_output, event.video_id, what="reading the ready film")
    missing = [ladder for ladder in enabled if ready and ladder_verdict.unfinished(ladder, ready.renditions)]
    if not missing:
        return False
    _, info = await examined(event)
    output = await until_done(film_keys.output, ready.hls_path, what="reading the film's keys")
    rungs = ladder_for(info.short_side)
    clock = await in_thread(film_clock, output, rungs)
    one_pass = clock == hls.ONE_PASS_CLOCK  # (AV1_MAX_SECONDS bounds the films made in one pass)
    wanted = ladder_registry.wanted(info, settings, settings.av1_max_seconds if one_pass else float("inf"))
    job = film_job(event, ready.hls_path, info, clock)
    resumed = False
    for ladder in [ladder for ladder in wanted if ladder in missing]:
        rows = await until_done(plans.current, event.video_id, ladder.name, what="reading the video's plan")
        base = PartJob(**{**job.asdict(), "ladder": ladder.name})
        if rows and rows[0].output == ready.hls_path:
            todo = await until_done(plans.unfinished, event.video_id, ladder.name, what="reading the video's plan")
            if not todo and all(row.state == "done" for row in rows):
                await ladder_parts.finish(base)
            else:
                await queue(base, ladder, todo)
        else:
            await in_thread(cleared, output, ladder)
            await start(job, info, cut(info, ready.duration or info.duration or 0.0), [ladder])
        log.info("video %s: its %s ladder resumed", event.video_id, ladder.name)
        resumed = True
    return resumed


def cleared(output: storage.Output, ladder: Ladder) -> None:
    """(In a thread.) Whatever an earlier run of the ladder left without a plan gone before it is planned anew:
    its variants, had it listed them (a replacing ladder's give their place back to the fast ones), then its
    folder, so a player opening the film meanwhile gets a master whose files exist."""
    master = output.read_text("master.m3u8")
    fast = output.read_text(FAST_MASTER)  # ("" until a replacing ladder was listed)
    if master and (text := ladder_verdict.without_variants(ladder, master, fast)) != master:
        output.write_text("master.m3u8", text)
    if fast and ladder.replaces:  # the renditions' playlists are the fast ones again
        output.delete(FAST_MASTER)
    output.remove(ladder.folder)
