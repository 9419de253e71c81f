"""Query parameters as every list view reads them: the same 400 (a field error naming the parameter) for
a bad number or text anywhere."""

from __future__ import annotations

from videoflix.services.catalog_queries import search_query

from ..errors import InvalidInput
from ..schemas import text_problem

#: the longest search (`?q=`) of the catalog or inside a film
SEARCH_MAX = 200


def int_param(request, name: str, low: int, high: int) -> int | None:
    """`?name=` as a whole number from `low` to `high`, or None when absent; else 400."""
    raw = request.GET.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidInput.field(name, f"Must be a whole number from {low} to {high}.")
    return int(raw)


def text_param(request, name: str) -> str | None:
    """`?name=` as text the database can hold, or None when absent or empty; else 400."""
    value = request.GET.get(name) or None
    if value and (problem := text_problem(value)):
        raise InvalidInput.field(name, problem)
    return value


def paging(request, page_max: int, offset_max: int) -> tuple[int | None, int]:
    """(limit, offset) of `?limit=&offset=`: no limit means the whole list."""
    return int_param(request, "limit", 1, page_max), int_param(request, "offset", 0, offset_max) or 0


def paged(request, response, total: int, limit: int | None, offset: int, **filters: str | None):
    """`X-Total-Count`, and `Link: <...>; rel="next"` while a page follows."""
    response.headers["X-Total-Count"] = str(total)
    if limit is not None and offset + limit < total:
        query = {"limit": limit, "offset": offset + limit, **{k: v for k, v in filters.items() if v}}
        response.headers["Link"] = f'<{request.route_url(request.matched_route.name, _query=query)}>; rel="next"'
    return response


def search_param(request) -> tuple[str | None, str | None]:
    """`?q=` as typed and as the words a search matches (`catalog_queries.search_query`); (None, None) when
    absent; 400 when it holds no word or is too long."""
    typed = text_param(request, "q")
    if typed is None:
        return None, None
    if len(typed) > SEARCH_MAX or (words := search_query(typed)) is None:
        raise InvalidInput.field("q", f"Search for at least one word, in at most {SEARCH_MAX} characters.")
    return typed, words
