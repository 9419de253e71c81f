"""Subtitle tracks in the OpenAPI document."""

from __future__ import annotations

from videoflix.core.subtitles import MAX_BYTES

from ..schemas.subtitles import SubtitleSchema
from ..views.streaming import PLAYLIST
from .parts import (
    COOKIE,
    CSRF,
    NOT_FOUND,
    STAFF_ONLY,
    UNAUTHORIZED,
    body,
    error,
    file_response,
    from_colander,
    json_response,
    obj,
    ref,
    string,
)  # fmt: skip

SCHEMAS = {
    "SubtitleTrack": obj({
        "language": string(description="BCP 47 tag, in its standard form"),
        "label": string(description="What a player's menu shows"),
        "url": string(format="uri", description="The WebVTT file"),
        "origin": {"type": "string", "enum": ["upload", "source", "auto"],
                   "description": "Added by an operator, extracted from the uploaded film, or made "
                                  "automatically from its speech (its label says so)"},
        "cues": {"type": "integer", "minimum": 1},
        "created_at": string(format="date-time"),
    }, closed=True),
}  # fmt: skip

OPERATIONS = {
    "subtitles.list": {
        "get": {
            "summary": "A video's subtitle tracks", "tags": ["subtitles"], "security": COOKIE,
            "description": "Viewers see those of ready and playable videos; staff those of any video.",
            "responses": {"200": json_response("Tracks by language", {"type": "array", "items": ref("SubtitleTrack")}),
                          "401": UNAUTHORIZED, "404": NOT_FOUND},
        },
        "post": {
            "summary": "Add a subtitle track (staff); a track of the same language is replaced", "tags": ["subtitles"],
            "security": COOKIE, "parameters": [CSRF],
            "description": f"WebVTT or SRT, UTF-8, at most {MAX_BYTES} bytes. Stored as WebVTT with WebVTT's own "
                           "cue markup only (other tags, STYLE blocks and comments are dropped). The label defaults "
                           "to the language's name in itself.",
            "requestBody": body(from_colander(SubtitleSchema(), file=string(format="binary")), "multipart/form-data"),
            "responses": {"201": json_response("The track", ref("SubtitleTrack")),
                          "400": error("Field errors; or the file is not valid (the message names the line)."),
                          "401": UNAUTHORIZED, "403": STAFF_ONLY, "404": error("Unknown video."),
                          "413": error("Over the size limit."), "415": error("Not multipart.")},
        },
    },
    "subtitles.detail": {"delete": {
        "summary": "Remove a subtitle track (staff)", "tags": ["subtitles"], "security": COOKIE, "parameters": [CSRF],
        "responses": {"204": {"description": "Removed"}, "401": UNAUTHORIZED, "403": STAFF_ONLY,
                      "404": error("No such video or track.")},
    }},
    "subtitles.file": {"get": {
        "summary": "A subtitle track as WebVTT", "tags": ["subtitles"], "security": COOKIE,
        "description": "For a video with renditions the header carries HLS's X-TIMESTAMP-MAP (ignored by <track>).",
        "responses": {"200": file_response("WebVTT", "text/vtt"), "304": {"description": "Not modified"},
                      "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
    "subtitles.playlist": {"get": {
        "summary": "A subtitle track's HLS playlist (the master's subtitles group)", "tags": ["subtitles"],
        "security": COOKIE,
        "responses": {"200": file_response("Playlist", PLAYLIST), "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
}  # fmt: skip
