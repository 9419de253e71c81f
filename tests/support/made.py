"""A film made as the workers make it, without Kafka or a database: in one pass, and in parts (each part's
picture, the sound job, then every part served and the playlists written, `film_parts.assemble_folder`)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from stream_workers import audio_tracks, ffmpeg_run, film_parts
from stream_workers.film_steps import FilmSteps
from stream_workers.ladders import H264
from videoflix.core.containers import ffmpeg_exe
from videoflix.core.media import MediaInfo, Rung


def in_one_pass(source: Path, info: MediaInfo, rungs: list[Rung], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, rungs).single_pass(ffmpeg_exe(), source, out)))
    return out


def in_parts(
    source: Path, info: MediaInfo, rungs: list[Rung], out: Path, part_seconds: int, preset: str = "veryfast"
) -> Path:
    plan = film_parts.cut_film(info.duration, part_seconds=part_seconds)
    steps = FilmSteps(info, rungs, H264.at(preset))
    for part in plan:
        asyncio.run(ffmpeg_run.run_ffmpeg(steps.picture_part(ffmpeg_exe(), source, out, part)))
    audio_tracks.make_folders(out, info)
    asyncio.run(ffmpeg_run.run_ffmpeg(FilmSteps(info, []).sound_job(ffmpeg_exe(), source, out)))
    film_parts.assemble_folder(ffmpeg_exe(), out, info, rungs, plan)
    return out
