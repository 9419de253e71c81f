"""The captions stage's record in PostgreSQL: a film's speech plan (rows of `video_parts` under the ladder
name CAPTIONS, `plans`), each part's words kept in its row once heard, and what the stage shows operators
(`videos.progress_detail["captions"]`: its progress, speed and ETA over every worker, or why it failed).
Plain synchronous functions, run in a thread like the rest of `db`."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from videoflix.core.models import Video, VideoPart, VideoStatus

from . import plans
from .caption_cues import Word
from .db import engine

#: the ladder name of a film's speech plan in `video_parts`, and its key in `progress_detail`
CAPTIONS = VideoPart.CAPTIONS


def beat(video_id: int, part: int, token: str, seconds: float, speed: float | None) -> None:
    """Renew the part's claim with its progress (Withdrawn when it is gone), and show the stage's."""
    with plans.locked(video_id) as conn:
        plans.beat(conn, video_id, part, token, seconds, speed, ladder=CAPTIONS)
        _show(conn, video_id, progress(plans.rows(conn, video_id, CAPTIONS)))


def progress(rows) -> dict[str, Any]:
    """The stage as operators see it: the share of the film's speech heard, the parts done, the speed of all
    the workers on it together (seconds of film a second) and the time left at that speed."""
    total = sum(row.length for row in rows) or 1.0
    heard = sum(row.length if row.state == "done" else min(row.seconds, row.length) for row in rows)
    speed = sum(row.speed or 0.0 for row in rows if row.state == "running") or None
    return {
        "progress": round(100.0 * heard / total, 1),
        "parts": len(rows),
        "parts_done": sum(row.state == "done" for row in rows),
        "speed": round(speed, 2) if speed else None,
        "eta_seconds": round((total - heard) / speed, 1) if speed else None,
    }


def settle(video_id: int, language: str, model: str) -> None:
    """Keep in the plan's rows the language its parts are heard in and the model they are heard with (an
    operator's choice), for the parts queued again when the plan resumes."""
    with engine().begin() as conn:
        conn.execute(
            sa.update(plans.part_table)
            .where(plans.part_table.c.video_id == video_id, plans.part_table.c.ladder == CAPTIONS)
            .values(served={"language": language, "model": model})
        )


def finish_part(video_id: int, part: int, token: str, language: str, model: str, words: list[Word]) -> bool:
    """Keep the part's words in its row and mark it done (Withdrawn if the claim is gone); whether every part
    of the plan is done now (exactly one worker learns so: under the plan's lock)."""
    said = {"language": language, "model": model, "words": [[w.start, w.end, w.text, w.probability] for w in words]}
    with plans.locked(video_id) as conn:
        plans.complete(conn, video_id, part, token, served=said, ladder=CAPTIONS)
        rows = plans.rows(conn, video_id, CAPTIONS)
        _show(conn, video_id, progress(rows))
        return all(row.state == "done" for row in rows)


def heard(video_id: int) -> tuple[str, list[Word]] | None:
    """The plan's words, in order, and the language most of them are in; None unless every part is done."""
    rows = plans.current(video_id, CAPTIONS)
    if not rows or any(row.state != "done" for row in rows):
        return None
    words = [Word(*word) for row in rows for word in row.served.get("words", [])]
    spoken: dict[str, int] = {}
    for row in rows:
        spoken[row.served.get("language", "")] = spoken.get(row.served.get("language", ""), 0) + len(
            row.served["words"]
        )
    return max(spoken, key=spoken.__getitem__), words


def chosen(video_id: int) -> tuple[str, str]:
    """The language the plan's parts are heard in (as the plan settled it, or a part heard found it; "" if
    neither) and the model they are heard with ("": CAPTION_MODEL): for the parts queued again when the plan
    resumes."""
    rows = plans.current(video_id, CAPTIONS)
    said = [row.served for row in rows if row.state == "done"] + [row.served for row in rows]
    language = next((s["language"] for s in said if s.get("language")), "")
    return language, next((s["model"] for s in said if s.get("model")), "")


def end(video_id: int, failed: str | None = None) -> None:
    """The stage is over: the plan goes; the stage shows nothing, or why it failed."""
    plans.abandon(video_id, ladder=CAPTIONS)
    with engine().begin() as conn:
        _show(conn, video_id, {"failed": failed} if failed else None)


def _show(conn: sa.Connection, video_id: int, detail: dict | None) -> None:
    """progress_detail["captions"] of a ready film (`detail`, or none)."""
    current = sa.func.coalesce(Video.progress_detail, sa.literal({}, JSONB))
    value = current.op("-")(CAPTIONS) if detail is None else current.op("||")(sa.literal({CAPTIONS: detail}, JSONB))
    conn.execute(
        sa.update(Video).where(Video.id == video_id, Video.status == VideoStatus.READY).values(progress_detail=value)
    )
