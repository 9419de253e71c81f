"""A film's transcript for its viewers (videoflix/core/transcripts.py makes it): the text in timed
paragraphs, and the times where words are said, so a player can seek there.

A search inside a film matches as the catalog's does (every word by its start, all of them, accents
ignored: `catalog_queries.SEARCH_TSQUERY`), over each line and the line after it in its paragraph, so words
said across two cues are found too (not across a pause); each place is reported once, at the line where the
words begin.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from videoflix.core.models import Transcript

from ..errors import NotFound
from .catalog_queries import SEARCH_TSQUERY
from .subtitles import visible_video

#: the most places one search inside a film returns (the earliest)
MAX_PLACES = 200

_LINES = (
    'SELECT (l->>0)::float8 AS start, (l->>1)::float8 AS "end", l->>2 AS text,'
    " p.n AS paragraph, row_number() OVER (ORDER BY p.n, l.n) AS n"
    " FROM transcripts t, jsonb_array_elements(t.paragraphs) WITH ORDINALITY AS p(paragraph, n),"
    "  jsonb_array_elements(p.paragraph->'lines') WITH ORDINALITY AS l(l, n)"
    " WHERE t.video_id = :id"
)
#: lines whose words match :q alone, or with the next line's when that one does not match alone
PLACES = sa.text(
    f"WITH q AS (SELECT {SEARCH_TSQUERY} AS q),"  # noqa: S608 - constants of this module and catalog_queries
    f" lines AS ({_LINES}),"
    " seen AS (SELECT start, \"end\", text, to_tsvector('simple', videoflix_unaccent(text)) AS one,"
    "  to_tsvector('simple', videoflix_unaccent(text || ' ' || coalesce(lead(text) OVER next_line, ''))) AS two,"
    "  lead(to_tsvector('simple', videoflix_unaccent(text))) OVER next_line AS next, n FROM lines"
    "  WINDOW next_line AS (PARTITION BY paragraph ORDER BY n))"
    ' SELECT start, "end", text FROM seen, q'
    " WHERE one @@ q.q OR (two @@ q.q AND NOT coalesce(next @@ q.q, false))"
    " ORDER BY n LIMIT :limit"
)


@dataclass(frozen=True)
class Place:
    start: float
    end: float
    text: str


class TranscriptService:
    def __init__(self, dbsession: Session):
        self.db = dbsession

    def transcript(self, video_id: int, any_state: bool = False) -> Transcript:
        """The video's transcript; NotFound if it has none yet (or a viewer may not see the video)."""
        visible_video(self.db, video_id, any_state)
        found = self.db.get(Transcript, video_id)
        if found is None:
            raise NotFound("This video has no transcript yet.")
        return found

    def places(self, video_id: int, words: str, any_state: bool = False) -> list[Place]:
        """Where in the video `words` (as `catalog_queries.search_query` gives them) are said, in time order."""
        self.transcript(video_id, any_state)
        rows = self.db.execute(PLACES, {"id": video_id, "q": words, "limit": MAX_PLACES})
        return [Place(row.start, row.end, row.text) for row in rows]


def paragraphs_json(transcript: Transcript) -> list[dict[str, Any]]:
    """The paragraphs as the API gives them: {start, end, text, lines: [{start, end, text}]}."""
    return [
        {"start": p["start"], "end": p["end"], "text": " ".join(line[2] for line in p["lines"]),
         "lines": [{"start": s, "end": e, "text": t} for s, e, t in p["lines"]]}
        for p in transcript.paragraphs
    ]  # fmt: skip
