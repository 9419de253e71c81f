"""An fMP4 (CMAF) rendition read by its boxes, as hls.js reads it: a fragment's time is its `tfdt` (base
media decode time) by its track's timescale; edit lists (`elst`), which FFmpeg's reader applies, play no part."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

#: boxes that hold only other boxes
CONTAINERS = {b"moov", b"trak", b"mdia", b"moof", b"traf"}


def boxes(data: bytes) -> Iterator[tuple[bytes, bytes]]:
    """Each box's type and payload at this level (64-bit sizes included)."""
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        header = 8
        if size == 1:
            size, header = struct.unpack(">Q", data[at + 8 : at + 16])[0], 16
        elif size == 0:
            size = len(data) - at
        yield kind, data[at + header : at + size]
        at += size


def find(data: bytes, *path: bytes) -> Iterator[bytes]:
    """The payloads of the boxes at `path` (e.g. moov, trak)."""
    for kind, payload in boxes(data):
        if kind == path[0]:
            yield from (find(payload, *path[1:]) if len(path) > 1 else [payload])


def timescales(init: bytes) -> dict[int, tuple[bytes, int]]:
    """Each track's id: its handler (`vide`, `soun`) and timescale, from the init segment."""
    tracks = {}
    for trak in find(init, b"moov", b"trak"):
        tkhd = next(find(trak, b"tkhd"))
        track = struct.unpack(">I", tkhd[20:24] if tkhd[0] == 1 else tkhd[12:16])[0]
        handler = next(find(trak, b"mdia", b"hdlr"))[8:12]
        mdhd = next(find(trak, b"mdia", b"mdhd"))
        timescale = struct.unpack(">I", mdhd[20:24] if mdhd[0] == 1 else mdhd[12:16])[0]
        tracks[track] = (handler, timescale)
    return tracks


def decode_starts(init: Path, segment: Path) -> dict[str, float]:
    """The segment's first decode time per track kind (`vide`, `soun`), in seconds."""
    tracks = timescales(init.read_bytes())
    starts = {}
    for traf in find(segment.read_bytes(), b"moof", b"traf"):
        track = struct.unpack(">I", next(find(traf, b"tfhd"))[4:8])[0]
        tfdt = next(find(traf, b"tfdt"))
        time = struct.unpack(">Q", tfdt[4:12])[0] if tfdt[0] == 1 else struct.unpack(">I", tfdt[4:8])[0]
        handler, timescale = tracks[track]
        starts.setdefault(handler.decode(), time / timescale)
    return starts
