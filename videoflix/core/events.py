"""The pipeline's events on the wire: topic names and the JSON payloads the web tier writes to the outbox.

Plain JSON, so the web tier never imports Faust. `stream_workers/records.py` declares the same payloads as
faust.Records for the workers; a test checks that both sides agree. Every payload carries `schema`:
readers accept the versions they know and ignore fields they do not, so old events stay readable.
"""

from __future__ import annotations

import secrets
from typing import Any

SCHEMA = 1

UPLOADED = "videos.uploaded"
PROGRESS = "videos.progress"
PROCESSED = "videos.processed"
#: the jobs of a transcode in parts (the workers publish and consume them; the web tier never does)
PARTS = "videos.parts"
#: the parts of a ready film's further ladders (the best H.264, AV1, HEVC): a topic of their own, so that the
#: fast ladder's parts never wait behind them (the workers publish and consume them)
LADDER_PARTS = "videos.ladder-parts"
#: the captions' jobs: a ready film's speech to a subtitle track (the workers publish and consume them)
CAPTIONS = "videos.captions"
DEAD_LETTER = "videos.dead-letter"


def uploaded(video_id: int, source: str, attempt: int = 0, token: str | None = None) -> dict[str, Any]:
    """A source file waits to be transcoded (`source` is relative to MEDIA_ROOT); `token`: the job's
    (`videos.job_token`), which every report of the job carries back."""
    return {"schema": SCHEMA, "video_id": video_id, "source": source, "attempt": attempt, "token": token or ""}


def captions(video_id: int, source: str, language: str = "", model: str = "") -> dict[str, Any]:
    """A ready film's speech to be captioned (again): in `language` ("" to detect it), with `model` ("": the
    workers' CAPTION_MODEL)."""
    return {"schema": SCHEMA, "video_id": video_id, "source": source, "language": language, "model": model}


def new_job_token() -> str:
    return secrets.token_hex(16)
