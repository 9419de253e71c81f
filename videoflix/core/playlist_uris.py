"""A stored media playlist's URIs rewritten for where and to whom it is served: each segment and init segment
named by `uri(name)` (a signed link, a presigned URL, a path from another folder), and a further ladder's
rendition playlist served in a rendition's place (the best H.264 ladder's, views/streaming.py)."""

from __future__ import annotations

import re
from collections.abc import Callable

from .storage import Storage

#: an fMP4 playlist's init segment (the AV1 ladder's), whose URI is signed as the segments' are
_MAP = re.compile(r'^(#EXT-X-MAP:URI=")([^"]+)(".*)$')


def rewritten(storage: Storage, key: str, uri: Callable[[str], str]) -> str:
    """The playlist `key` with each segment line, and the init segment's URI, replaced by `uri(name)`."""
    lines = b"".join(storage.read(key)).decode().splitlines()

    def line_for(line: str) -> str:
        if (init := _MAP.match(line)) is not None:
            return f"{init[1]}{uri(init[2])}{init[3]}"
        return line if not line or line.startswith("#") else uri(line)

    return "\n".join(line_for(line) for line in lines) + "\n"


def in_rendition_place(text: str) -> str:
    """A further ladder's rendition playlist (`avc/720p/`) served as a rendition's (`720p/`): its key lines name
    the film's keys one folder up less (`hls_keys`: relative to the playlist)."""
    return text.replace('URI="../../key/', 'URI="../key/')
