"""Subtitle tracks and the transcript in the OpenAPI document."""

from __future__ import annotations

from videoflix.core.subtitles import MAX_BYTES

from ..schemas.subtitles import CaptionRequestSchema, CorrectionSchema, SubtitleSchema
from ..views.params import SEARCH_MAX
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
        "origin": {"type": "string", "enum": ["upload", "source", "auto", "operator"],
                   "description": "Added by an operator, extracted from the uploaded film, made "
                                  "automatically from its speech (its label says so), or corrected by an operator"},
        "cues": {"type": "integer", "minimum": 1},
        "created_at": string(format="date-time"),
    }, closed=True),
    "TimedText": obj({"start": {"type": "number", "minimum": 0, "description": "seconds into the film"},
                      "end": {"type": "number", "minimum": 0}, "text": string()},
                     required=["start", "end", "text"], closed=True),
    "Transcript": obj({
        "language": string(description="The spoken language (BCP 47)"),
        "origin": {"type": "string", "enum": ["auto", "upload", "source", "operator"],
                   "description": "Made from the film's speech, or the text of an operator's track that replaced it"},
        "words": {"type": "integer", "minimum": 0},
        "paragraphs": {"type": "array", "items": obj({
            "start": {"type": "number"}, "end": {"type": "number"}, "text": string(),
            "lines": {"type": "array", "items": ref("TimedText")}}, closed=True)},
    }, required=["language", "origin", "words", "paragraphs"], closed=True),
    "TranscriptPlaces": obj({
        "language": string(), "origin": string(), "q": string(),
        "places": {"type": "array", "items": ref("TimedText"),
                   "description": "Where the words are said (the line they begin in), in time order"},
    }, required=["language", "origin", "q", "places"], closed=True),
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
    "subtitles.detail": {
        "get": {
            "summary": "A subtitle track with its cues (an operator's review)", "tags": ["subtitles"],
            "security": COOKIE,
            "responses": {"200": json_response("The track and its cues", {"allOf": [ref("SubtitleTrack"), obj({
                              "cues": {"type": "array", "items": ref("TimedText")}})]}),
                          "401": UNAUTHORIZED, "404": NOT_FOUND},
        },
        "put": {
            "summary": "Correct a subtitle track's cues (staff); it becomes `origin: operator`", "tags": ["subtitles"],
            "security": COOKIE, "parameters": [CSRF],
            "description": "The cues given become the track (all of them), WebVTT's own markup kept; the label "
                           "defaults to the language's own name. The transcript follows the track of its language.",
            "requestBody": body(from_colander(CorrectionSchema())),
            "responses": {"200": json_response("The track", ref("SubtitleTrack")),
                          "400": error("Field errors (a cue ending before it starts, empty text, ...)."),
                          "401": UNAUTHORIZED, "403": STAFF_ONLY, "404": error("No such video or track."),
                          "413": error("Over the size limit."), "415": error("Not JSON.")},
        },
        "delete": {
            "summary": "Remove a subtitle track (staff)", "tags": ["subtitles"], "security": COOKIE,
            "parameters": [CSRF],
            "responses": {"204": {"description": "Removed"}, "401": UNAUTHORIZED, "403": STAFF_ONLY,
                          "404": error("No such video or track.")},
        },
    },
    "captions": {"post": {
        "summary": "Caption a ready film's speech again (staff)", "tags": ["subtitles"], "security": COOKIE,
        "parameters": [CSRF],
        "description": "In `language` (empty: detected) with `model` (a packaged model; empty: CAPTION_MODEL). Its "
                       "automatic tracks go at once, with the transcript they gave; the new ones come when the "
                       "workers are done (its status shows `captions` meanwhile).",
        "requestBody": body(from_colander(CaptionRequestSchema())),
        "responses": {"202": json_response("Queued", obj({"queued": {"type": "boolean"}, "language": string(),
                                                          "model": string()}, closed=True)),
                      "400": error("Field errors."), "401": UNAUTHORIZED, "403": STAFF_ONLY,
                      "404": error("Unknown video."), "409": error("The film is not ready.")},
    }},
    "subtitles.file": {"get": {
        "summary": "A subtitle track as WebVTT", "tags": ["subtitles"], "security": COOKIE,
        "description": "For a video with renditions the header carries HLS's X-TIMESTAMP-MAP (ignored by <track>).",
        "responses": {"200": file_response("WebVTT", "text/vtt"), "304": {"description": "Not modified"},
                      "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
    "transcript": {"get": {
        "summary": "What is said in a film, as timed paragraphs; or where words are said", "tags": ["subtitles"],
        "security": COOKIE,
        "description": "Viewers read those of ready and playable films, staff any. With `q`, the times where the "
                       "words are said (every word by its start, accents ignored, as the catalog's search), so a "
                       "player can seek there.",
        "parameters": [{"name": "q", "in": "query", "required": False, "schema": string(maxLength=SEARCH_MAX)}],
        "responses": {"200": json_response("The transcript, or with q the places",
                                           {"oneOf": [ref("Transcript"), ref("TranscriptPlaces")]}),
                      "400": error("A search with no word."), "401": UNAUTHORIZED,
                      "404": error("No such video, or it has no transcript yet.")},
    }},
    "subtitles.playlist": {"get": {
        "summary": "A subtitle track's HLS playlist (the master's subtitles group)", "tags": ["subtitles"],
        "security": COOKIE,
        "responses": {"200": file_response("Playlist", PLAYLIST), "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
}  # fmt: skip
