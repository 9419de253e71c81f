"""The catalog's SQL: a page of items built as JSON by PostgreSQL (the viewer's progress inside each), the
watchable list an operator sees, full-text search whose words reach to_tsquery only as quoted lexemes, one
film's item, the continue-watching row, and the version that says whether a cached page is still true.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from videoflix.core.models.video import WATCHABLE_SQL

from .viewing import completed_sql

#: the words of a search that count, and how long each may be
SEARCH_WORDS, SEARCH_WORD_LENGTH = 8, 64

#: what identifies the catalog as a viewer sees it: its version (a counter a trigger on `videos` moves in the
#: transaction of any change items show: migration 0017), the counted views not folded into `videos.views`
#: yet (the newest log id), and the viewer's own progress (its latest change and its number of rows). Each
#: is one index lookup, whatever the catalog's size.
CATALOG_VERSION = sa.text(
    "SELECT (SELECT version FROM catalog_state), (SELECT max(id) FROM video_views),"
    " (SELECT max(updated_at) FROM watch_progress WHERE user_id = :viewer),"
    " (SELECT count(*) FROM watch_progress WHERE user_id = :viewer)"
)


#: the viewer's progress in video v, as items carry it (null when they have not started it)
PROGRESS = (
    "(SELECT json_build_object('position', p.position,"  # noqa: S608 - constants of this module only
    " 'percent', CASE WHEN v.duration > 0 THEN round(least(100.0, 100.0 * p.position / v.duration)::numeric, 1) END,"
    f" 'completed', coalesce({completed_sql('p.position', 'v.duration')}, false),"
    " 'updated_at', p.updated_at)"
    " FROM watch_progress p WHERE p.user_id = :viewer AND p.video_id = v.id)"
)


def _item(extra: str = "") -> str:
    """One video as the frontend reads it (the list's items and the detail endpoint), plus what was added
    since (views, the viewer's progress); :base is the absolute URL of /api/video/, so thumbnail_url is
    <base><id>/thumbnail.jpg; :viewer the user asking."""
    return (
        "json_build_object("  # noqa: S608 - `extra` is a constant of this module
        " 'id', v.id, 'created_at', v.created_at, 'title', v.title, 'description', v.description,"
        " 'category', coalesce(v.category, ''), 'thumbnail_url', :base || v.id || '/thumbnail.jpg',"
        " 'duration', v.duration,"
        " 'resolutions', coalesce((SELECT json_agg(r->>'name') FROM jsonb_array_elements(v.renditions) r), '[]'::json),"
        " 'views', v.views + (SELECT count(*) FROM video_views w WHERE w.video_id = v.id),"
        f" 'progress', {PROGRESS}" + extra + ")"
    )


#: the contract's shape, for ready videos; a client that asks for playable ones gets `status` too
CATALOG_ITEM = _item()


WATCH_ITEM = _item(", 'status', v.status")


#: a search ranks at most this many matches, the newest: ranking every one of 100 000 matches of a word
#: that every title has costs ~50 ms, and nobody pages past the first thousand results
SEARCH_RESULTS_MAX = 1000


#: how many of the newest videos a search looks through first (see _list_query)
RECENT_WINDOW = 5 * SEARCH_RESULTS_MAX


#: The text query for the words :q (`search_query`): every word, matched by its start (`adv:*` finds
#: "Adventure"), all of them required. The words are unaccented in the database (as the index is), and
#: unaccent can write tsquery's own syntax (U+02D0 becomes `:`, U+2474 `(1)`): so they are made lexemes by
#: to_tsvector, which takes any text, and each lexeme reaches to_tsquery quoted. No lexeme: NULL, no match.
SEARCH_TSQUERY = (
    "(SELECT to_tsquery('simple', string_agg("
    r"'''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''':*', ' & '))"
    " FROM unnest(to_tsvector('simple', videoflix_unaccent(:q))))"
)


def _list_query(item: str, statuses: str, search: bool = False) -> sa.TextClause:
    """Videos in `statuses` (optionally of one category), newest first, as one JSON array built by PostgreSQL,
    and the number that match. With `search`, those matching the text query :q (`search_query`) over the
    GIN index, the best first (title over category over description, then newest): the newest
    SEARCH_RESULTS_MAX matches are ranked (and counted). Assembled from constants only; every value is a
    bound parameter."""
    where = f"status IN ({statuses}) AND (:category = '' OR lower(category) = :category)"
    if not search:
        return sa.text(
            f"SELECT coalesce(json_agg({item} ORDER BY v.created_at DESC, v.id DESC), '[]'::json)::text,"  # noqa: S608
            f" (SELECT count(*) FROM videos WHERE {where})"
            f" FROM (SELECT * FROM videos WHERE {where}"
            "       ORDER BY created_at DESC, id DESC LIMIT :limit OFFSET :offset) v"
        )
    query = SEARCH_TSQUERY
    cap = SEARCH_RESULTS_MAX
    newest = "ORDER BY created_at DESC, id DESC"
    return sa.text(
        # the newest `cap` matches: found among the newest RECENT_WINDOW videos through the created_at index
        # when the words are common (a word every title has: ~2 ms, where ranking the GIN index's 100 000
        # matches took ~45); else (fewer than `cap` there) from the GIN index, which then has few matches.
        # PostgreSQL skips the branch whose one-time condition is false.
        f"WITH recent AS (SELECT id FROM (SELECT id, created_at, search FROM videos WHERE {where} {newest}"  # noqa: S608
        f"                               LIMIT {RECENT_WINDOW}) r"
        f"                WHERE search @@ {query} {newest} LIMIT {cap}),"
        f" matches AS (SELECT id FROM recent WHERE (SELECT count(*) FROM recent) >= {cap}"
        f"             UNION ALL (SELECT id FROM videos WHERE {where} AND search @@ {query}"
        f"                        AND (SELECT count(*) FROM recent) < {cap} {newest} LIMIT {cap}))"
        f" SELECT coalesce(json_agg({item} ORDER BY v.rank DESC, v.created_at DESC, v.id DESC), '[]'::json)::text,"
        "  (SELECT count(*) FROM matches)"
        f" FROM (SELECT videos.*, ts_rank(videos.search, {query}) AS rank FROM matches JOIN videos USING (id)"
        "       ORDER BY rank DESC, created_at DESC, id DESC LIMIT :limit OFFSET :offset) v"
    )


CATALOG_QUERY = _list_query(CATALOG_ITEM, "'ready'")


WATCHABLE_QUERY = _list_query(WATCH_ITEM, WATCHABLE_SQL)


CATALOG_SEARCH = _list_query(CATALOG_ITEM, "'ready'", search=True)


WATCHABLE_SEARCH = _list_query(WATCH_ITEM, WATCHABLE_SQL, search=True)


def search_query(text: str) -> str | None:
    """The words of what a viewer typed, space-separated, for SEARCH_TSQUERY; None when it holds no word."""
    words = [w[:SEARCH_WORD_LENGTH] for w in re.findall(r"[^\W_]+", text.lower())][:SEARCH_WORDS]
    return " ".join(words) or None


#: a ready video in the contract's shape, a playable one with its status
ANY_ITEM = f"(CASE WHEN v.status = 'ready' THEN {CATALOG_ITEM} ELSE {WATCH_ITEM} END)"


CATALOG_DETAIL = sa.text(
    f"SELECT {ANY_ITEM}::text FROM videos v WHERE v.id = :id AND v.status IN ({WATCHABLE_SQL})"  # noqa: S608
)


#: the viewer's started, unfinished videos, the most recently watched first
CONTINUE_QUERY = sa.text(
    f"SELECT coalesce(json_agg({ANY_ITEM} ORDER BY v.watched DESC, v.id DESC), '[]'::json)::text"  # noqa: S608
    " FROM (SELECT videos.*, p.updated_at AS watched FROM watch_progress p JOIN videos ON videos.id = p.video_id"
    f"       WHERE p.user_id = :viewer AND videos.status IN ({WATCHABLE_SQL}) AND p.position > 0"
    f"        AND (videos.duration IS NULL OR NOT {completed_sql('p.position', 'videos.duration')})"
    "       ORDER BY p.updated_at DESC, videos.id DESC LIMIT :limit) v"
)
