"""The OpenAPI 3 document of the API, served at /api/openapi.json (and rendered by Redoc at /api/docs/).

Paths are taken from Pyramid's own routes; each route's operations are described once in `OPERATIONS`. A route
without a description makes `build()` fail, so the document cannot fall behind the routes (a test builds it).
"""

from __future__ import annotations

import re
from typing import Any

from pyramid.view import view_config

from .media import RESOLUTIONS
from .models import VideoStatus
from .views.streaming import PLAYLIST, SEGMENT
from .views.videos import OFFSET_MAX, PAGE_MAX

JSON = "application/json"


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def json_response(description: str, schema: dict | None = None) -> dict:
    return {"description": description, "content": {JSON: {"schema": schema or ref("Error")}}}


def error(description: str) -> dict:
    return json_response(description, ref("Error"))


def rate_limited(description: str) -> dict:
    response = error(description)
    response["headers"] = {
        "Retry-After": {"description": "Seconds until the limit resets", "schema": {"type": "integer"}}
    }
    return response


def body(schema: dict, content_type: str = JSON) -> dict:
    return {"required": True, "content": {content_type: {"schema": schema}}}


def file_response(description: str, content_type: str) -> dict:
    return {"description": description, "content": {content_type: {"schema": {"type": "string", "format": "binary"}}}}


def string(**kw) -> dict:
    return {"type": "string", **kw}


def obj(properties: dict, required: list[str] | None = None) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


COOKIE = [{"cookieAuth": []}]
CSRF = {"name": "X-CSRFToken", "in": "header", "required": False, "schema": string(),
        "description": "The csrftoken cookie's value; required when the request carries an auth cookie."}  # fmt: skip
PASSWORD = string(minLength=8, maxLength=128, format="password")
HEADER = {"schema": {"type": "string"}}
INTEGER_HEADER = {"schema": {"type": "integer"}}


def header_param(name: str, schema: dict, required: bool = True) -> dict:
    return {"name": name, "in": "header", "required": required, "schema": schema}


TUS = header_param("Tus-Resumable", {"type": "string", "enum": ["1.0.0"]})
UNAUTHORIZED = error("Not logged in (no valid access cookie).")
NOT_FOUND = error("Unknown, or not ready.")
PAGING = [
    {"name": "limit", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX}},
    {"name": "offset", "in": "query", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": OFFSET_MAX}},
]  # fmt: skip

SCHEMAS: dict[str, Any] = {
    "Error": obj(
        {
            "detail": string(),
            "errors": {"type": "object", "additionalProperties": {"type": "array", "items": string()}},
        },
        ["detail", "errors"],
    ),
    "User": obj({"id": {"type": "integer"}, "email": string(format="email")}, ["id", "email"]),
    "Detail": obj({"detail": string()}, ["detail"]),
    "Readiness": obj(
        {
            "status": {"type": "string", "enum": ["ready", "unready"]},
            "checks": {"type": "object", "additionalProperties": string(), "description": '"ok" or the reason'},
        },
        ["status", "checks"],
    ),
    "CatalogVideo": obj(
        {
            "id": {"type": "integer"},
            "created_at": string(format="date-time"),
            "title": string(),
            "description": string(),
            "category": string(),
            "thumbnail_url": string(format="uri"),
            "duration": {"type": "number", "nullable": True},
            "resolutions": {"type": "array", "items": string(enum=list(RESOLUTIONS))},
            "status": string(enum=["ready", "playable"], description="playable: still transcoding, watchable"),
        },
        ["id", "created_at", "title", "description", "category", "thumbnail_url", "duration", "resolutions", "status"],
    ),
    "VideoStatus": obj(
        {
            "id": {"type": "integer"},
            "title": string(),
            "description": string(),
            "category": string(),
            "status": string(enum=[s.value for s in VideoStatus]),
            "progress": {"type": "number", "minimum": 0, "maximum": 100},
            "speed": {"type": "number", "nullable": True, "description": "FFmpeg's speed, x realtime"},
            "eta_seconds": {"type": "number", "nullable": True, "description": "to the end of the job"},
            "rendition_progress": {
                "type": "object",
                "additionalProperties": obj(
                    {"seconds": {"type": "number"}, "percent": {"type": "number", "nullable": True}}
                ),
            },
            "queue_position": {
                "type": "integer",
                "nullable": True,
                "minimum": 1,
                "description": "while uploaded: the place among the videos waiting for a worker",
            },
            "error": string(nullable=True),
            "duration": {"type": "number", "nullable": True},
            "width": {"type": "integer", "nullable": True},
            "height": {"type": "integer", "nullable": True},
            "resolutions": {"type": "array", "items": string()},
            "renditions": {"type": "array", "items": {"type": "object"}},
            "skipped_resolutions": {"type": "object", "additionalProperties": string()},
            "created_at": string(format="date-time"),
            "processed_at": string(format="date-time", nullable=True),
        },
        ["id", "status", "progress", "error", "resolutions", "skipped_resolutions"],
    ),
}

#: route name -> {method: operation}
OPERATIONS: dict[str, dict[str, dict]] = {
    "accounts.register": {"post": {
        "summary": "Register; mails an activation link (the same answer for an address that has an account: "
                   "its owner is mailed a reset link instead)", "tags": ["accounts"],
        "requestBody": body(obj({"email": string(format="email"), "password": PASSWORD,
                                 "confirmed_password": PASSWORD}, ["email", "password", "confirmed_password"])),
        "responses": {"201": json_response("Mail sent; a new account is inactive until activated", obj({
                          "detail": string(), "user": obj({"email": string(format="email")}, ["email"])})),
                      "400": error("Field errors: mismatch, weak password."),
                      "413": error("Body too large."), "415": error("Not JSON."),
                      "429": error("Too many registrations for this email or from this address.")},
    }},
    "accounts.activate": {"get": {
        "summary": "Activate an account with the mailed link", "tags": ["accounts"],
        "responses": {"200": json_response("Activated", obj({"message": string()})),
                      "400": error("Invalid, used or expired link.")},
    }},
    "accounts.login": {"post": {
        "summary": "Log in; sets access_token, refresh_token (HttpOnly) and csrftoken cookies", "tags": ["accounts"],
        "requestBody": body(obj({"email": string(), "password": string()}, ["email", "password"])),
        "responses": {"200": json_response("Logged in", obj({"detail": string(), "user": ref("User")})),
                      "400": error("Wrong email or password, or not activated (one message)."),
                      "429": rate_limited("Too many failed logins for this email, or attempts from this address.")},
    }},
    "accounts.logout": {"post": {
        "summary": "Log out; deletes the cookies and ends the session", "tags": ["accounts"],
        "parameters": [CSRF], "responses": {"200": json_response("Logged out", ref("Detail")),
                                            "403": error("CSRF check failed.")},
    }},
    "accounts.token_refresh": {"post": {
        "summary": "New access cookie; rotates the refresh cookie", "tags": ["accounts"], "parameters": [CSRF],
        "responses": {"200": json_response("Refreshed", ref("Detail")),
                      "401": error("Refresh cookie missing, invalid, expired or replayed."),
                      "403": error("CSRF check failed.")},
    }},
    "accounts.password_reset": {"post": {
        "summary": "Mail a password reset link (same answer whether or not the account exists)",
        "tags": ["accounts"], "requestBody": body(obj({"email": string(format="email")}, ["email"])),
        "responses": {"200": json_response("Accepted", ref("Detail")), "400": error("Malformed email."),
                      "429": rate_limited("Too many requests for this email or from this address.")},
    }},
    "accounts.password_confirm": {"post": {
        "summary": "Set a new password with the mailed link", "tags": ["accounts"],
        "requestBody": body(obj({"new_password": PASSWORD, "confirm_password": PASSWORD},
                                ["new_password", "confirm_password"])),
        "responses": {"200": json_response("Password changed; all sessions ended", ref("Detail")),
                      "400": error("Field errors, or an invalid, used or expired link.")},
    }},
    "videos.list": {
        "get": {
            "summary": "Ready videos, newest first", "tags": ["catalog"], "security": COOKIE,
            "parameters": [
                {"name": "category", "in": "query", "required": False, "schema": string()},
                {"name": "include", "in": "query", "required": False, "schema": string(enum=["playable"]),
                 "description": "also the videos still transcoding that can be watched already"},
                *PAGING,
            ],
            "responses": {"200": json_response("The list", {"type": "array", "items": ref("CatalogVideo")}),
                          "400": error("Bad paging or include."), "401": UNAUTHORIZED},
        },
        "post": {
            "summary": "Upload a film (staff)", "tags": ["upload"], "security": COOKIE, "parameters": [CSRF],
            "requestBody": body(obj({"file": string(format="binary"), "title": string(maxLength=200),
                                     "description": string(maxLength=5000), "category": string(maxLength=100)},
                                    ["file", "title"]), "multipart/form-data"),
            "responses": {"201": json_response("Stored and queued", ref("VideoStatus")),
                          "400": error("Field errors, or no decodable video stream."), "401": UNAUTHORIZED,
                          "403": error("Not staff, or CSRF check failed."), "413": error("Over the size limit."),
                          "415": error("Not a video container / not multipart.")},
        },
    },
    "videos.detail": {
        "get": {
            "summary": "One ready video", "tags": ["catalog"], "security": COOKIE,
            "responses": {"200": json_response("The video", ref("CatalogVideo")), "401": UNAUTHORIZED,
                          "404": NOT_FOUND},
        },
        "patch": {
            "summary": "Edit title, description, category (staff)", "tags": ["upload"], "security": COOKIE,
            "parameters": [CSRF],
            "requestBody": body(obj({"title": string(minLength=1, maxLength=200),
                                     "description": string(maxLength=5000), "category": string(maxLength=100)})),
            "responses": {"200": json_response("The video's status", ref("VideoStatus")),
                          "400": error("Field errors."), "401": UNAUTHORIZED,
                          "403": error("Not staff, or CSRF check failed."), "404": error("Unknown video."),
                          "413": error("Body too large."), "415": error("Not JSON.")},
        },
        "delete": {
            "summary": "Delete a video and all its files (staff; idempotent)", "tags": ["upload"],
            "security": COOKIE, "parameters": [CSRF],
            "description": "A job running for it is abandoned by its worker. 204 also when it no longer exists.",
            "responses": {"204": {"description": "Gone"}, "401": UNAUTHORIZED,
                          "403": error("Not staff, or CSRF check failed.")},
        },
    },
    "videos.retry": {"post": {
        "summary": "Queue a failed video again (staff)", "tags": ["upload"], "security": COOKIE,
        "parameters": [CSRF],
        "responses": {"202": json_response("Queued: its status, now uploaded", ref("VideoStatus")),
                      "401": UNAUTHORIZED, "403": error("Not staff, or CSRF check failed."),
                      "404": error("Unknown video."), "409": error("The video has not failed.")},
    }},
    "uploads.collection": {
        "options": {
            "summary": "tus discovery: version, extensions, maximum size", "tags": ["upload"],
            "responses": {"204": {"description": "Supported", "headers": {
                "Tus-Version": HEADER, "Tus-Extension": HEADER, "Tus-Max-Size": INTEGER_HEADER}}},
        },
        "post": {
            "summary": "Start a resumable upload (tus creation; staff)", "tags": ["upload"], "security": COOKIE,
            "description": "Upload-Metadata carries the form's fields as `key base64(value)` pairs: title "
                           "(required), description, category, filename. They are checked now.",
            "parameters": [CSRF, TUS, header_param("Upload-Length", {"type": "integer", "minimum": 1}),
                           header_param("Upload-Metadata", string(), required=False)],
            "responses": {"201": {"description": "Created", "headers": {"Location": HEADER}},
                          "400": error("Bad length or metadata; field errors."), "401": UNAUTHORIZED,
                          "403": error("Not staff, or CSRF check failed."), "412": error("Not tus 1.0.0."),
                          "413": error("Larger than the upload limit.")},
        },
    },
    "uploads.detail": {
        "head": {
            "summary": "Where to resume: Upload-Offset (tus; staff)", "tags": ["upload"], "security": COOKIE,
            "parameters": [TUS],
            "responses": {"200": {"description": "The upload's state", "headers": {
                              "Upload-Offset": INTEGER_HEADER, "Upload-Length": INTEGER_HEADER,
                              "X-Video-Id": {**INTEGER_HEADER, "description": "Once it has become a video"}}},
                          "401": {"description": "Not logged in"}, "403": {"description": "Not staff"},
                          "404": {"description": "Unknown or expired"}, "412": {"description": "Not tus 1.0.0"}},
        },
        "patch": {
            "summary": "Append a chunk at Upload-Offset (tus; staff)", "tags": ["upload"], "security": COOKIE,
            "description": "The last chunk turns the upload into a video (X-Video-Id). A file that is not a "
                           "readable video is refused (400/415) and the upload removed.",
            "parameters": [CSRF, TUS, header_param("Upload-Offset", {"type": "integer", "minimum": 0})],
            "requestBody": body({"type": "string", "format": "binary"}, "application/offset+octet-stream"),
            "responses": {"204": {"description": "Stored", "headers": {"Upload-Offset": INTEGER_HEADER}},
                          "400": error("Bad offset header, or the file is not a readable video."),
                          "401": UNAUTHORIZED, "403": error("Not staff, or CSRF check failed."),
                          "404": error("Unknown or expired upload."), "409": error("Offset mismatch."),
                          "412": error("Not tus 1.0.0."), "413": error("Past the upload's length."),
                          "415": error("Wrong content type, or not a video container."),
                          "423": error("Another request is writing this upload.")},
        },
        "delete": {
            "summary": "Abandon an upload (tus termination; staff)", "tags": ["upload"], "security": COOKIE,
            "parameters": [CSRF, TUS],
            "responses": {"204": {"description": "Removed"}, "401": UNAUTHORIZED,
                          "403": error("Not staff, or CSRF check failed."), "404": error("Unknown or expired."),
                          "412": error("Not tus 1.0.0."), "423": error("Another request is writing it.")},
        },
    },
    "admin.videos": {"get": {
        "summary": "Every video in every state, newest first (staff)", "tags": ["upload"], "security": COOKIE,
        "parameters": [
            {"name": "status", "in": "query", "required": False,
             "schema": {"type": "string", "enum": [s.value for s in VideoStatus]}},
            {"name": "q", "in": "query", "required": False, "schema": string(), "description": "in the title"},
            *PAGING,
        ],
        "responses": {"200": json_response("The videos", {"type": "array", "items": ref("VideoStatus")}),
                      "400": error("Bad filter or paging."), "401": UNAUTHORIZED, "403": error("Not staff.")},
    }},
    "videos.status": {"get": {
        "summary": "Processing status (staff)", "tags": ["upload"], "security": COOKIE,
        "responses": {"200": json_response("Status", ref("VideoStatus")), "401": UNAUTHORIZED,
                      "403": error("Not staff."), "404": error("Unknown video.")},
    }},
    "stream.master": {"get": {
        "summary": "Adaptive playlist over the renditions that exist", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("Playlist", PLAYLIST), "401": UNAUTHORIZED,
                      "404": NOT_FOUND},
    }},
    "stream.thumbnail": {"get": {
        "summary": "Thumbnail (the catalog's thumbnail_url)", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("JPEG", "image/jpeg"), "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
    "stream.playlist": {"get": {
        "summary": "A rendition's playlist", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("Playlist", PLAYLIST), "401": UNAUTHORIZED,
                      "404": NOT_FOUND},
    }},
    "stream.segment": {"get": {
        "summary": "A media segment (Range requests answered with 206)", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("MPEG-TS", SEGMENT), "206": file_response("Part", SEGMENT),
                      "304": {"description": "Not modified"}, "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
    "stream.segment_slash": {"get": {
        "summary": "The same segment, with a trailing slash", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("MPEG-TS", SEGMENT), "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
    "health.live": {"get": {
        "summary": "Liveness: the process answers", "tags": ["operations"],
        "responses": {"200": json_response("Alive", obj({"status": string()}))},
    }},
    "health.ready": {"get": {
        "summary": "Readiness: PostgreSQL and the Kafka brokers are reachable", "tags": ["operations"],
        "responses": {"200": json_response("Ready", ref("Readiness")),
                      "503": json_response("A dependency is unreachable (named in checks)", ref("Readiness"))},
    }},
    "auth.upload_check": {"get": {
        "summary": "For nginx's auth_request on the upload locations: may this request's body be read? "
                   "(Public: the answer depends on the access cookie and the method.)",
        "tags": ["operations"],
        "parameters": [{"name": "X-Original-Method", "in": "header", "schema": string(),
                        "description": "The method of the request being checked (GET, HEAD, OPTIONS, DELETE pass; "
                                       "without it, a staff session is needed)"}],
        "responses": {"204": {"description": "Yes: a staff session, or no upload body"},
                      "401": UNAUTHORIZED, "403": error("Not an operator.")},
    }},
    "metrics": {"get": {
        "summary": "Prometheus metrics (internal network only; nginx refuses it)", "tags": ["operations"],
        "responses": {"200": file_response("Prometheus text format", "text/plain")},
    }},
    "docs.openapi": {"get": {
        "summary": "This document", "tags": ["docs"],
        "responses": {"200": json_response("OpenAPI 3", {"type": "object"})},
    }},
    "docs.page": {"get": {
        "summary": "The API reference (Redoc)", "tags": ["docs"],
        "responses": {"200": file_response("HTML", "text/html")},
    }},
    "console": {"get": {
        "summary": "The operators' console (a page using the staff API)", "tags": ["docs"],
        "responses": {"200": file_response("HTML: login form, or the console for staff", "text/html"),
                      "403": file_response("HTML: the account is not staff", "text/html")},
    }},
}  # fmt: skip

#: parameter schemas of the path placeholders
PATH_PARAMETERS = {
    "id": {"type": "integer", "minimum": 1},
    "uidb64": string(),
    "token": string(),
    "resolution": string(enum=list(RESOLUTIONS)),
    "segment": string(pattern=r"^\d{3,6}$"),
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
