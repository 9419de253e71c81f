"""Resumable uploads (tus) in the OpenAPI document: the protocol version from the views that speak it."""

from __future__ import annotations

from ..views.resumable_uploads import CHUNK_TYPE, TUS_VERSION
from .parts import (
    COOKIE,
    CSRF,
    HEADER,
    INTEGER_HEADER,
    STAFF_ONLY,
    UNAUTHORIZED,
    body,
    error,
    header_param,
    string,
)

TUS = header_param("Tus-Resumable", {"type": "string", "enum": [TUS_VERSION]})

OPERATIONS = {
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
                          "403": STAFF_ONLY, "412": error(f"Not tus {TUS_VERSION}."),
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
                          "404": {"description": "Unknown or expired"},
                          "412": {"description": f"Not tus {TUS_VERSION}"}},
        },
        "patch": {
            "summary": "Append a chunk at Upload-Offset (tus; staff)", "tags": ["upload"], "security": COOKIE,
            "description": "The last chunk turns the upload into a video (X-Video-Id). A file that is not a "
                           "readable video is refused (400/415) and the upload removed.",
            "parameters": [CSRF, TUS, header_param("Upload-Offset", {"type": "integer", "minimum": 0})],
            "requestBody": body({"type": "string", "format": "binary"}, CHUNK_TYPE),
            "responses": {"204": {"description": "Stored", "headers": {"Upload-Offset": INTEGER_HEADER}},
                          "400": error("Bad offset header, or the file is not a readable video."),
                          "401": UNAUTHORIZED, "403": STAFF_ONLY,
                          "404": error("Unknown or expired upload."), "409": error("Offset mismatch."),
                          "412": error(f"Not tus {TUS_VERSION}."), "413": error("Past the upload's length."),
                          "415": error("Wrong content type, or not a video container."),
                          "423": error("Another request is writing this upload.")},
        },
        "delete": {
            "summary": "Abandon an upload (tus termination; staff)", "tags": ["upload"], "security": COOKIE,
            "parameters": [CSRF, TUS],
            "responses": {"204": {"description": "Removed"}, "401": UNAUTHORIZED,
                          "403": STAFF_ONLY, "404": error("Unknown or expired."),
                          "412": error(f"Not tus {TUS_VERSION}."), "423": error("Another request is writing it.")},
        },
    },
}  # fmt: skip
