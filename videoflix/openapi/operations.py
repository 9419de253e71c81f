"""Health, metrics, the upload check nginx asks, and the documentation pages in the OpenAPI document."""

from __future__ import annotations

from .parts import COOKIE, UNAUTHORIZED, error, file_response, json_response, obj, ref, string

SCHEMAS = {
    "Readiness": obj(
        {
            "status": {"type": "string", "enum": ["ready", "unready"]},
            "checks": {"type": "object", "additionalProperties": string(), "description": '"ok" or the reason'},
        },
        ["status", "checks"],
    ),
}

#: a stage of a film in the works (waiting, encode, a further ladder, captions)
STAGE = obj({"stage": string(), "progress": {"type": "number"}, "eta_seconds": {"type": "number", "nullable": True},
             "speed": {"type": "number", "nullable": True}}, ["stage", "progress"])  # fmt: skip
SCHEMAS["ServicePanel"] = obj(
    {
        "workers": {"type": "array", "items": obj({
            "name": string(description="host:pid"), "host": string(),
            "state": string(enum=["online", "stopped", "gone"]), "jobs": {"type": "integer"},
            "started_at": string(format="date-time"), "seen_at": string(format="date-time"),
            "seen_seconds_ago": {"type": "number"},
            "kafka": {"type": "object", "description": "the Kafka view it took: {group: {state, members}, "
                                                       "topics: {name: {end, done, lag}}} or {error}"},
        }, ["name", "state", "jobs", "seen_seconds_ago"])},
        "kafka": obj({"measured": {"type": "boolean"}, "state": string(), "members": {"type": "integer"},
                      "seconds_ago": {"type": "number"}, "reason": string()}, ["measured"]),
        "backlog": {"type": "array", "items": obj({
            "topic": string(), "outbox": {"type": "integer"},
            "outbox_oldest_seconds": {"type": "number", "nullable": True},
            "lag": {"type": "integer", "nullable": True, "description": "null: no running worker measured it"},
            "total": {"type": "integer"},
        }, ["topic", "outbox", "lag", "total"])},
        "jobs": {"type": "array", "items": obj({"video_id": {"type": "integer"}, "title": string(), "status": string(),
                                                "stages": {"type": "array", "items": STAGE}},
                                               ["video_id", "stages"])},
        "failures": obj({"last_24h": {"type": "integer"}, "recent": {"type": "array", "items": obj({
            "video_id": {"type": "integer"}, "title": string(), "stage": string(enum=["encode", "captions"]),
            "reason": string(nullable=True), "at": string(format="date-time"), "advice": string(nullable=True),
        })}}, ["last_24h", "recent"]),
        "storage": obj({"used_bytes": {"type": "integer"}, "films_measured": {"type": "integer"},
                        "films": {"type": "integer"}, "capacity_bytes": {"type": "integer", "nullable": True},
                        "free_bytes": {"type": "integer", "nullable": True}}, ["used_bytes"]),
    },
    ["workers", "kafka", "backlog", "jobs", "failures", "storage"],
)  # fmt: skip

OPERATIONS = {
    "admin.service": {"get": {
        "summary": "The service at a glance: workers, backlog per topic, jobs in flight, the day's failures, "
                   "storage (staff; the console's service panel)",
        "tags": ["operators"], "security": COOKIE,
        "responses": {"200": json_response("The service", ref("ServicePanel")), "401": UNAUTHORIZED,
                      "403": error("Not staff.")},
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
    "auth.playback_check": {"get": {
        "summary": "For nginx's auth_request on signed segment links: is the playback session the link names "
                   "live? (Public: the answer depends on the link.)",
        "tags": ["operations"],
        "parameters": [{"name": "X-Original-URI", "in": "header", "schema": string(),
                        "description": "The signed link being served (its `p`, `u` and film)"}],
        "responses": {"200": {"description": "Yes: serve it"},
                      "403": {"description": "No: logged out, deactivated, film deleted, idle with no screen "
                                             "free, or another address (PLAYBACK_BIND_ADDRESS)"}},
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
