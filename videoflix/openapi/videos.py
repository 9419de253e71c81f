"""The catalog, the operators' video endpoints and streaming in the OpenAPI document: request bodies from
`schemas/videos.py`; the response shapes closed, so a field the views add without documenting it fails the
schema tests."""

from __future__ import annotations

from typing import Any

from videoflix.core.media import RESOLUTIONS
from videoflix.core.models import VideoStatus

from ..schemas.videos import EditSchema, UploadSchema
from ..views.params import SEARCH_MAX
from ..views.streaming import PLAYLIST, SEGMENT
from ..views.videos import OFFSET_MAX, PAGE_MAX
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
    paging,
    ref,
    string,
)

#: what the status shows of a further ladder being made
LADDER_PROGRESS = obj(
    {
        "progress": {"type": "number", "minimum": 0, "maximum": 100},
        "speed": {"type": "number", "nullable": True},
        "eta_seconds": {"type": "number", "nullable": True},
    },
    ["progress"],
)

PAGING = paging(PAGE_MAX, OFFSET_MAX)

SCHEMAS: dict[str, Any] = {
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
            "views": {"type": "integer", "minimum": 0, "description": "views counted (about 10 s watched)"},
            "progress": {
                **obj(
                    {
                        "position": {"type": "number", "minimum": 0, "description": "seconds"},
                        "percent": {"type": "number", "nullable": True, "minimum": 0, "maximum": 100},
                        "completed": {"type": "boolean", "description": "watched past 95 %"},
                        "updated_at": string(format="date-time"),
                    },
                    ["position", "percent", "completed", "updated_at"],
                    closed=True,
                ),
                "nullable": True,
                "description": "where the viewer asking is in it; null if they have not started it",
            },
        },
        ["id", "created_at", "title", "description", "category", "thumbnail_url", "duration", "resolutions", "status"],
        closed=True,
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
            "av1_progress": {
                **LADDER_PROGRESS,
                "nullable": True,
                "description": "while a ready film's AV1 ladder is made (AV1_LADDER): its share, FFmpeg's speed "
                "(x realtime) and the seconds to go; null otherwise",
            },
            "ladder_progress": {
                "type": "object",
                "additionalProperties": LADDER_PROGRESS,
                "description": "every further ladder of a ready film being made (`avc`: the best H.264 ladder, `av1`, "
                "`hevc`), by name, as "
                "`av1_progress`; a long film's ladder over all its parts",
            },
            "captions": {
                "type": "object",
                "nullable": True,
                "properties": {
                    "progress": {"type": "number"},
                    "parts": {"type": "integer"},
                    "parts_done": {"type": "integer"},
                    "speed": {"type": "number", "nullable": True},
                    "eta_seconds": {"type": "number", "nullable": True},
                    "failed": string(),
                },
                "description": "the automatic captions' stage (CAPTIONS) of a ready film: while its speech is heard "
                "(over every worker: the share heard, parts done of all, seconds of film heard a second, the "
                "seconds to go), or why it failed (`failed`, the film stays ready without them); null otherwise",
            },
            "queue_position": {
                "type": "integer",
                "nullable": True,
                "minimum": 1,
                "description": "while uploaded: the place among the videos waiting for a worker",
            },
            "error": string(nullable=True),
            "advice": string(nullable=True, description="a failed film: what an operator can do about it"),
            "captions_advice": string(
                nullable=True, description="a film whose automatic captions failed: what an operator can do"
            ),
            "duration": {"type": "number", "nullable": True},
            "views": {"type": "integer", "minimum": 0, "description": "times the film was watched"},
            "stored_bytes": {
                "type": "integer",
                "nullable": True,
                "description": "the film's bytes in the store (source, outputs, subtitles), measured when a report "
                "changes it and by each storage sweep; null until first measured",
            },
            "width": {"type": "integer", "nullable": True},
            "height": {"type": "integer", "nullable": True},
            "resolutions": {"type": "array", "items": string()},
            "renditions": {
                "type": "array",
                "items": {"type": "object"},
                "description": "per rendition: name, width, height, bandwidth; once measured, `quality` ({vmaf, "
                "vmaf_p5, frames, below_floor}); with each further ladder, its twin under its name (`avc`, `av1`, "
                "`hevc`: bandwidth, "
                "average_bandwidth, quality, fit, listed)",
            },
            "skipped_resolutions": {"type": "object", "additionalProperties": string()},
            "created_at": string(format="date-time"),
            "processed_at": string(format="date-time", nullable=True),
        },
        ["id", "status", "progress", "error", "resolutions", "skipped_resolutions"],
        closed=True,
    ),
}

#: a playlist (or a segment of a playback idle for a minute) when the account has no screen free
SCREENS_FULL = error("The account already watches on as many screens as it may (SCREENS_PER_ACCOUNT).")

OPERATIONS = {
    "videos.list": {
        "get": {
            "summary": "Ready videos, newest first", "tags": ["catalog"], "security": COOKIE,
            "parameters": [
                {"name": "category", "in": "query", "required": False, "schema": string()},
                {"name": "q", "in": "query", "required": False, "schema": string(maxLength=SEARCH_MAX),
                 "description": "full-text search of title, category, description and the words said in the film "
                                "(its transcript): every word, by its start, "
                                "accents ignored; the best matches first (the newest 1000 matches are ranked and "
                                "counted)"},
                {"name": "include", "in": "query", "required": False, "schema": string(enum=["playable"]),
                 "description": "also the videos still transcoding that can be watched already"},
                *PAGING,
            ],
            "responses": {"200": json_response("The list", {"type": "array", "items": ref("CatalogVideo")}),
                          "400": error("Bad paging, include, or a search with no word."), "401": UNAUTHORIZED},
        },
        "post": {
            "summary": "Upload a film (staff)", "tags": ["upload"], "security": COOKIE, "parameters": [CSRF],
            "requestBody": body(from_colander(UploadSchema(), file=string(format="binary")), "multipart/form-data"),
            "responses": {"201": json_response("Stored and queued", ref("VideoStatus")),
                          "400": error("Field errors, or no decodable video stream."), "401": UNAUTHORIZED,
                          "403": STAFF_ONLY, "413": error("Over the size limit."),
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
            "requestBody": body(from_colander(EditSchema())),
            "responses": {"200": json_response("The video's status", ref("VideoStatus")),
                          "400": error("Field errors."), "401": UNAUTHORIZED,
                          "403": STAFF_ONLY, "404": error("Unknown video."),
                          "413": error("Body too large."), "415": error("Not JSON.")},
        },
        "delete": {
            "summary": "Delete a video and all its files (staff; idempotent)", "tags": ["upload"],
            "security": COOKIE, "parameters": [CSRF],
            "description": "A job running for it is abandoned by its worker. 204 also when it no longer exists.",
            "responses": {"204": {"description": "Gone"}, "401": UNAUTHORIZED,
                          "403": STAFF_ONLY},
        },
    },
    "videos.retry": {"post": {
        "summary": "Queue a failed video again (staff)", "tags": ["upload"], "security": COOKIE,
        "parameters": [CSRF],
        "responses": {"202": json_response("Queued: its status, now uploaded", ref("VideoStatus")),
                      "401": UNAUTHORIZED, "403": STAFF_ONLY,
                      "404": error("Unknown video."), "409": error("The video has not failed.")},
    }},
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
        "responses": {"200": file_response("Playlist", PLAYLIST), "401": UNAUTHORIZED, "409": SCREENS_FULL,
                      "404": NOT_FOUND},
    }},
    "stream.storyboard_track": {"get": {
        "summary": "Seek-bar previews: a WebVTT thumbnails track", "tags": ["streaming"], "security": COOKIE,
        "description": "One cue every few seconds, pointing at a tile of a sprite sheet "
                       "(`storyboard/<n>.jpg#xywh=x,y,w,h`), as video.js, Shaka, Vidstack and JW Player read it. "
                       "While a video is `playable` the track grows as its sheets are made.",
        "responses": {"200": file_response("WebVTT", "text/vtt"), "304": {"description": "Not modified"},
                      "401": UNAUTHORIZED, "404": error("Unknown, not watchable, or made without a storyboard.")},
    }},
    "stream.storyboard_playlist": {"get": {
        "summary": "Seek-bar previews as an HLS image media playlist", "tags": ["streaming"], "security": COOKIE,
        "description": "Each sprite sheet a segment with its `#EXT-X-TILES` layout (Roku's image playlists, as "
                       "Jellyfin writes them); the master playlist names it with `#EXT-X-IMAGE-STREAM-INF`.",
        "responses": {"200": file_response("Playlist", PLAYLIST), "304": {"description": "Not modified"},
                      "401": UNAUTHORIZED, "404": error("Unknown, not watchable, or made without a storyboard.")},
    }},
    "stream.storyboard": {"get": {
        "summary": "A sprite sheet of seek-bar previews", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("JPEG", "image/jpeg"), "304": {"description": "Not modified"},
                      "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
    "stream.thumbnail": {"get": {
        "summary": "Thumbnail (the catalog's thumbnail_url)", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("JPEG", "image/jpeg"), "401": UNAUTHORIZED, "404": NOT_FOUND},
    }},
    "stream.playlist": {"get": {
        "summary": "A rendition's playlist", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("Playlist", PLAYLIST), "401": UNAUTHORIZED, "409": SCREENS_FULL,
                      "404": NOT_FOUND},
    }},
    "stream.segment": {"get": {
        "summary": "A media segment (Range requests answered with 206)", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("MPEG-TS", SEGMENT), "206": file_response("Part", SEGMENT),
                      "304": {"description": "Not modified"}, "401": UNAUTHORIZED,
                      "409": SCREENS_FULL, "404": NOT_FOUND},
    }},
    "stream.audio_playlist": {"get": {
        "summary": "An alternate audio track's playlist", "tags": ["streaming"], "security": COOKIE,
        "description": "For a film with several audio tracks, each one the renditions do not carry (those carry "
                       "the default) is an audio-only rendition, `track` its place among the source's audio "
                       "streams; the master names them in its audio group (`#EXT-X-MEDIA:TYPE=AUDIO`).",
        "responses": {"200": file_response("Playlist", PLAYLIST), "401": UNAUTHORIZED,
                      "409": SCREENS_FULL, "404": NOT_FOUND},
    }},
    "stream.audio_segment": {"get": {
        "summary": "A segment of an alternate audio track", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("MPEG-TS", SEGMENT), "206": file_response("Part", SEGMENT),
                      "304": {"description": "Not modified"}, "401": UNAUTHORIZED,
                      "409": SCREENS_FULL, "404": NOT_FOUND},
    }},
    "stream.fmp4_playlist": {"get": {
        "summary": "A further ladder's rendition's playlist (`avc`, `av1`, `hevc`)", "tags": ["streaming"],
        "security": COOKIE,
        "description": "Films get the ladder in AV1 too (AV1_LADDER=on; HEVC with HEVC_LADDER=on), as CMAF "
                       "(fMP4), listed in the master beside the H.264 renditions with their `CODECS` where it "
                       "measures as good in fewer bytes: a player that decodes it picks them. The renditions' "
                       "own playlists stay H.264 in MPEG-TS.",
        "responses": {"200": file_response("Playlist", PLAYLIST), "401": UNAUTHORIZED,
                      "409": SCREENS_FULL, "404": NOT_FOUND},
    }},
    "stream.fmp4_init": {"get": {
        "summary": "A further ladder's init segment (its playlist's `#EXT-X-MAP`; one per part of a long film)",
        "tags": ["streaming"],
        "security": COOKIE,
        "responses": {"200": file_response("fMP4 init segment", "video/mp4"), "304": {"description": "Not modified"},
                      "401": UNAUTHORIZED, "409": SCREENS_FULL, "404": NOT_FOUND},
    }},
    "stream.fmp4_segment": {"get": {
        "summary": "A segment of a further ladder's rendition (fMP4; Range requests answered with 206)",
        "tags": ["streaming"],
        "security": COOKIE,
        "responses": {"200": file_response("fMP4", "video/iso.segment"),
                      "206": file_response("Part", "video/iso.segment"), "304": {"description": "Not modified"},
                      "401": UNAUTHORIZED, "409": SCREENS_FULL, "404": NOT_FOUND},
    }},
    "stream.key": {"get": {
        "summary": "A key of an encrypted film (AES-128, its media playlists' `#EXT-X-KEY`)", "tags": ["streaming"],
        "security": COOKIE,
        "description": "With HLS_ENCRYPTION on, every segment of a film is sealed with AES-128 (a key per film, "
                       "rotated every HLS_KEY_ROTATION segments). The 16 bytes of key `index` go only to a viewer "
                       "whose login session has begun playing the film (its playlist first) and may go on; "
                       "nothing caches them. Not DRM: see the README.",
        "responses": {"200": file_response("The key", "application/octet-stream"), "401": UNAUTHORIZED,
                      "403": error("The film's playback has not begun in this login session."),
                      "409": SCREENS_FULL, "404": error("Unknown video, or one that is not encrypted.")},
    }},
    "stream.segment_slash": {"get": {
        "summary": "The same segment, with a trailing slash", "tags": ["streaming"], "security": COOKIE,
        "responses": {"200": file_response("MPEG-TS", SEGMENT), "401": UNAUTHORIZED,
                      "409": SCREENS_FULL, "404": NOT_FOUND},
    }},
}  # fmt: skip
