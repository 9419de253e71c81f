"""Storyboard sheets: the preview frames a job's FFmpeg run writes (videoflix.core.storyboard: one more branch of
the decoded picture) tiled into sprite sheets as they come, each once its frames are all there, so a
`playable` film's storyboard grows while it is encoded. Tiling a sheet is a small FFmpeg run over 25 small
JPEGs (milliseconds), never a read of the source."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from videoflix.core.storyboard import FOLDER, LAYOUT, Layout, frames_folder

from .hls_output import write_atomically


def make_frames_folder(output: Path, layout: Layout, part: int = 0) -> Layout:
    """The folders for a part's preview frames (FFmpeg's image muxer makes none), and the layout the app reads
    beside the sheets (every part writes the same)."""
    (output / frames_folder(part)).mkdir(parents=True, exist_ok=True)
    write_atomically(output / LAYOUT, layout.to_json().decode())
    return layout


def tile(ffmpeg: str, output: Path, layout: Layout, part: int = 0, final: bool = False) -> list[int]:
    """Make the sheets of `part` whose preview frames are all written (`final`: FFmpeg has ended, so the last
    sheet takes what there is), removing their frames; the sheet numbers made now."""
    frames = output / frames_folder(part)
    if not frames.is_dir():
        return []
    numbers = sorted(int(path.stem) for path in frames.glob("*.jpg") if path.stem.isdigit())
    per = layout.per_sheet
    made = []
    for sheet in sorted({n // per for n in numbers}):
        first = sheet * per
        count = sum(1 for n in numbers if first <= n < first + per)
        if count < per and not final:
            break  # (a later sheet cannot be complete before this one)
        _tile_one(ffmpeg, frames, output / FOLDER / f"{sheet}.jpg", layout, first)
        for n in range(first, first + count):
            (frames / f"{n}.jpg").unlink(missing_ok=True)
        made.append(sheet)
    if final:
        shutil.rmtree(frames, ignore_errors=True)
    return made


def _tile_one(ffmpeg: str, frames: Path, sheet: Path, layout: Layout, first: int) -> None:
    partial = sheet.with_name(f".{sheet.name}.part")
    subprocess.run(  # noqa: S603 - our FFmpeg over our own frames
        # the job's own frames only: the image2 demuxer over numbered files, the file protocol
        [ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-protocol_whitelist", "file",
         "-f", "image2", "-pattern_type", "sequence", "-start_number", str(first),
         # one sheet out: the tile of frames first.. (a partial one at the end of the frames is flushed too)
         "-i", str(frames / "%d.jpg"), "-frames:v", "1", "-vf", f"tile={layout.columns}x{layout.rows}",
         "-q:v", "5", "-f", "image2", "-update", "1", "-c:v", "mjpeg", str(partial)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    os.replace(partial, sheet)
