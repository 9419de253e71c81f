"""What each viewer watched (resume, continue watching) in the OpenAPI document; the items' `views` and
`progress` are in videos.py's CatalogVideo."""

from __future__ import annotations

from ..schemas.viewing import ProgressSchema
from ..views.viewing import CONTINUE_MAX
from .parts import COOKIE, CSRF, NOT_FOUND, UNAUTHORIZED, body, error, from_colander, json_response, ref

OPERATIONS = {
    "videos.watch_progress": {
        "put": {
            "summary": "Where the viewer is in a video (a player sends it every few seconds)", "tags": ["viewing"],
            "security": COOKIE, "parameters": [CSRF],
            "description": "Written at most once a second per viewer and video. A view is counted once the viewer "
                           "has watched about 10 s (reports less than a minute apart), at most once in 6 hours.",
            "requestBody": body(from_colander(ProgressSchema())),
            "responses": {"204": {"description": "Kept"},
                          "400": error("Not a number, negative, or past the end of the video."),
                          "401": UNAUTHORIZED, "403": error("CSRF check failed."), "404": NOT_FOUND,
                          "413": error("Body too large."), "415": error("Not JSON.")},
        },
        "delete": {
            "summary": "Forget where the viewer is in a video", "tags": ["viewing"], "security": COOKIE,
            "parameters": [CSRF],
            "responses": {"204": {"description": "Forgotten (also when there was nothing)"}, "401": UNAUTHORIZED,
                          "403": error("CSRF check failed.")},
        },
    },
    "videos.continue": {"get": {
        "summary": "Continue watching: the viewer's started, unfinished videos, most recent first", "tags": ["viewing"],
        "security": COOKIE,
        "parameters": [{"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": CONTINUE_MAX}}],
        "responses": {"200": json_response("Catalog items, each with its progress",
                                           {"type": "array", "items": ref("CatalogVideo")}),
                      "400": error("Bad limit."), "401": UNAUTHORIZED},
    }},
}  # fmt: skip
