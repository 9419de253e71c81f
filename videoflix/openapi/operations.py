"""Health, metrics, the upload check nginx asks, and the documentation pages in the OpenAPI document."""

from __future__ import annotations

from .parts import UNAUTHORIZED, error, file_response, json_response, obj, ref, string

SCHEMAS = {
    "Readiness": obj(
        {
            "status": {"type": "string", "enum": ["ready", "unready"]},
            "checks": {"type": "object", "additionalProperties": string(), "description": '"ok" or the reason'},
        },
        ["status", "checks"],
    ),
}

OPERATIONS = {
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
