"""The OpenAPI 3 document of the API, served at /api/openapi.json (and rendered by Redoc at /api/docs/).

Paths are taken from Pyramid's own routes; each route's operations are described once, in the module of its
resource (accounts, videos, uploads, operations), with request bodies derived from the colander schemas the
views validate with (`parts.from_colander`). A route without a description makes `build()` fail, so the
document cannot fall behind the routes (a test builds it).
"""

from __future__ import annotations

import re

from pyramid.view import view_config

from videoflix.core.ladders import FURTHER
from videoflix.core.media import RESOLUTIONS

from . import accounts, admin_accounts, operations, subtitles, uploads, videos, viewing
from .parts import ERROR, string

RESOURCES = (accounts, admin_accounts, videos, viewing, subtitles, uploads, operations)

#: route name -> {method: operation}
OPERATIONS: dict[str, dict[str, dict]] = {name: ops for part in RESOURCES for name, ops in part.OPERATIONS.items()}
SCHEMAS: dict[str, dict] = {"Error": ERROR}
for _part in RESOURCES:
    SCHEMAS.update(getattr(_part, "SCHEMAS", {}))

#: parameter schemas of the path placeholders
PATH_PARAMETERS = {
    "id": {"type": "integer", "minimum": 1},
    "uidb64": string(),
    "token": string(),
    "resolution": string(enum=list(RESOLUTIONS)),
    "ladder": string(enum=list(FURTHER), description="a further ladder (fMP4)"),
    "segment": string(pattern=r"^\d{3,6}$"),
    "index": string(pattern=r"^\d{1,7}$"),
    "track": string(pattern=r"^\d{1,2}$"),
    "init": string(pattern=r"^init(_\d{1,2}|-\d{4,5})?$"),
    "sheet": string(pattern=r"^\d{1,7}$"),
    "language": string(pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,5}$", description="BCP 47 tag"),
}


def openapi_path(pattern: str) -> str:
    """`/api/video/{id:\\d+}/{segment:\\d{3,6}}.ts` -> `/api/video/{id}/{segment}.ts` (regexes may nest braces)."""
    out, depth, name = [], 0, []
    for char in pattern:
        if char == "{":
            depth += 1
            if depth == 1:
                name = []
                continue
        elif char == "}":
            depth -= 1
            if depth == 0:
                out.append("{" + "".join(name).split(":", 1)[0] + "}")
                continue
        if depth == 0:
            out.append(char)
        elif depth == 1 or ":" not in "".join(name):
            name.append(char)
    return "".join(out)


def routes(registry) -> list[tuple[str, str]]:
    """The API's routes (static-asset views, which Pyramid names `__<path>`, are not part of the API)."""
    found = (i["introspectable"] for i in registry.introspector.get_category("routes"))
    return [(intr["name"], intr["pattern"]) for intr in found if not intr["name"].startswith("__")]


def build(registry) -> dict:
    paths: dict[str, dict] = {}
    for name, pattern in routes(registry):
        if name not in OPERATIONS:
            raise KeyError(f"route {name!r} ({pattern}) has no entry in videoflix.openapi.OPERATIONS")
        path = openapi_path(pattern)
        params = [{"name": p, "in": "path", "required": True, "schema": PATH_PARAMETERS[p]}
                  for p in _placeholders(path)]  # fmt: skip
        item = paths.setdefault(path, {})
        if params:
            item["parameters"] = params
        item.update(OPERATIONS[name])
    return {
        "openapi": "3.0.3",
        "info": {"title": "Videoflix API", "version": "1", "description": "JSON in, JSON out; cookies for auth. "
                 "Every error is {detail, errors}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"cookieAuth": {"type": "apiKey", "in": "cookie", "name": "access_token"}},
        },
    }  # fmt: skip


def _placeholders(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


@view_config(route_name="docs.openapi", request_method="GET", renderer="json")
def openapi_json(request):
    cache = request.registry.setdefault("videoflix.openapi", {})
    if "document" not in cache:
        cache["document"] = build(request.registry)
    return cache["document"]


DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Videoflix API</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><redoc spec-url="{spec}"></redoc><script src="{script}"></script></body></html>
"""


@view_config(route_name="docs.page", request_method="GET")
def docs_page(request):
    request.response.content_type = "text/html"
    request.response.text = DOCS_PAGE.format(
        spec=request.route_path("docs.openapi"),
        script=request.static_path("videoflix:static/vendor/redoc/redoc.standalone.js"),
    )
    return request.response
