"""A film's transcript: what is said in it, as timed paragraphs of timed lines, made from the cues of the
track in its spoken language (the automatic one the workers make, or the operator's that replaces it), and
the words catalog search reaches (`videos.speech`).

Both tiers write it here, in the caller's transaction: the workers when they record a film's automatic
captions (stream_workers/db.py), the web tier when an operator replaces or removes that track
(videoflix/services/subtitles.py). One way to make paragraphs, one way to index the words.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert

from .models.transcript import Transcript
from .models.video import Video
from .subtitles import EMPTY_CUE, Cue

#: a silence this long between two cues starts a paragraph (a new speaker, a new scene, as a reader sees it)
PAUSE_MS = 2000
#: a paragraph this long or longer ends at its next sentence's end ...
SOFT_MS, SOFT_CHARS = 30_000, 400
#: ... and at its next cue once it is this long, sentence or not (speech without punctuation)
HARD_MS, HARD_CHARS = 60_000, 1000

_TAG = re.compile(r"<[^>]*>")
#: a sentence's end: its punctuation (Latin, and the full-width marks of CJK), then closing quotes or brackets
_SENTENCE_END = re.compile("[.!?\u2026\u3002\uff1f\uff01][\"')\\]\u00bb\u201d\u2019]*$")


def line_text(cue_text: str) -> str:
    """A cue's words as plain text on one line: WebVTT's markup and entities gone, its lines joined."""
    return " ".join(html.unescape(_TAG.sub("", cue_text)).replace(EMPTY_CUE, " ").split())


def paragraphs(cues: Sequence[Cue]) -> list[dict]:
    """The cues as paragraphs: [{"start": s, "end": s, "lines": [[start, end, text], ...]}] (seconds, to the
    millisecond), in time order; cues with no words are left out."""
    made: list[dict] = []
    current: list[list] = []
    chars = 0
    for cue in sorted(cues, key=lambda c: (c.start_ms, c.end_ms)):
        text = line_text(cue.text)
        if not text:
            continue
        if current:
            last_end_ms = round(current[-1][1] * 1000)
            span = last_end_ms - round(current[0][0] * 1000)
            ended = bool(_SENTENCE_END.search(current[-1][2]))
            if (
                cue.start_ms - last_end_ms >= PAUSE_MS
                or (ended and (span >= SOFT_MS or chars >= SOFT_CHARS))
                or span >= HARD_MS
                or chars >= HARD_CHARS
            ):
                made.append(_paragraph(current))
                current, chars = [], 0
        current.append([cue.start_ms / 1000, cue.end_ms / 1000, text])
        chars += len(text) + 1
    if current:
        made.append(_paragraph(current))
    return made


def _paragraph(lines: list[list]) -> dict:
    return {"start": lines[0][0], "end": max(line[1] for line in lines), "lines": lines}


def full_text(stored: Sequence[dict]) -> str:
    """Every word of a transcript's paragraphs, in order."""
    return " ".join(line[2] for paragraph in stored for line in paragraph["lines"])


def save(conn: sa.Connection | sa.orm.Session, video_id: int, language: str, origin: str, cues: Sequence[Cue]) -> None:
    """Make `cues` the video's transcript (replacing any) and what search finds of its speech; in the caller's
    transaction."""
    made = paragraphs(cues)
    row = {"video_id": video_id, "language": language, "origin": origin, "paragraphs": made,
           "words": len(full_text(made).split())}  # fmt: skip
    insert = pg_insert(Transcript).values(row)
    conn.execute(
        insert.on_conflict_do_update(
            index_elements=[Transcript.video_id],
            set_={k: insert.excluded[k] for k in ("language", "origin", "paragraphs", "words")}
            | {"updated_at": sa.func.now()},
        )
    )
    spoken = sa.func.to_tsvector(sa.text("'simple'"), sa.func.videoflix_unaccent(full_text(made)))
    conn.execute(sa.update(Video).where(Video.id == video_id).values(speech=spoken))


def remove(conn: sa.Connection | sa.orm.Session, video_id: int) -> None:
    """The video has no transcript any more, and search no longer finds it by its speech."""
    conn.execute(sa.delete(Transcript).where(Transcript.video_id == video_id))
    conn.execute(sa.update(Video).where(Video.id == video_id).values(speech=None))


def language_of(conn: sa.Connection | sa.orm.Session, video_id: int) -> str | None:
    """The language of the video's transcript, None if it has none."""
    return conn.execute(sa.select(Transcript.language).where(Transcript.video_id == video_id)).scalar()
