"""Video endpoints: the catalog (ready videos) and, for operators, upload and processing status."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPForbidden, HTTPNoContent
from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from videoflix.core.ladders import FURTHER
from videoflix.core.media import LADDER, ladder_for, uploads_dir
from videoflix.core.models import Video, VideoStatus

from ..errors import InvalidInput
from ..metrics import UPLOADS, count_upload
from ..multipart_upload import one_request_limit, receive
from ..schemas import deserialize, validate
from ..schemas.videos import EditSchema, UploadSchema
from ..security import AUTHENTICATED, STAFF, viewer_id
from ..services.failure_advice import advice_for
from .params import paged, paging, search_param, text_param

#: paging of the video lists (`?limit=&offset=`); the OpenAPI document states the same bounds
PAGE_MAX = 1000
OFFSET_MAX = 10**9


@view_config(route_name="videos.list", request_method="GET", permission=AUTHENTICATED)
def video_list(request):
    """Ready videos, newest first. A plain list (the frontend's contract); `?limit=&offset=` pages it, with
    `X-Total-Count` and a `Link: <...>; rel="next"` header; `?category=` filters (case-insensitive); `?q=`
    searches title, category, description and the words said in the film (its transcript) (full text,
    every word by its start, accents ignored; the best matches first, among the newest SEARCH_RESULTS_MAX
    matches);
    `?include=playable` adds the videos still transcoding that can already be watched (each item's `status`
    tells which)."""
    limit, offset = paging(request, PAGE_MAX, OFFSET_MAX)
    category = text_param(request, "category")
    include = text_param(request, "include")
    if include not in (None, "playable"):
        raise InvalidInput.field("include", "The only value is 'playable'.")
    q, query = search_param(request)
    body, total = request.videos.catalog_json(
        request.route_url("videos.list"), category, limit, offset, playable=include == "playable",
        viewer=viewer_id(request), query=query,
    )  # fmt: skip
    response = json_text_response(request, body)
    return paged(request, response, total, limit, offset, category=category, include=include, q=q)


@view_config(route_name="videos.detail", request_method="PATCH", renderer="json", permission=STAFF)
def video_edit(request):
    """Title, description and category of a video in any state (staff); answers its status."""
    changes = validate(request, EditSchema())
    return status_json(request.videos.edit(int(request.matchdict["id"]), changes))


@view_config(route_name="videos.detail", request_method="DELETE", permission=STAFF)
def video_delete(request):
    """Remove a video and all its files (staff). 204 whether or not it still existed: deleting is idempotent,
    and a second DELETE also sweeps any files the first could not remove."""
    request.videos.delete(int(request.matchdict["id"]))
    return HTTPNoContent()


@view_config(route_name="videos.retry", request_method="POST", renderer="json", permission=STAFF)
def video_retry(request):
    """Queue a failed video again (staff): 202 with its status, now `uploaded`; 409 if it has not failed."""
    request.response.status_code = 202
    return status_json(request.videos.retry(int(request.matchdict["id"])))


@view_config(route_name="admin.videos", request_method="GET", renderer="json", permission=STAFF)
def admin_video_list(request):
    """Every video in every state, newest first, as operators see them (the status endpoint's shape):
    `?status=` filters, `?q=` searches titles (case-insensitive), `?limit=&offset=` page as in the catalog."""
    limit, offset = paging(request, PAGE_MAX, OFFSET_MAX)
    status = text_param(request, "status")
    if status is not None and status not in {s.value for s in VideoStatus}:
        raise InvalidInput.field("status", f"One of: {', '.join(s.value for s in VideoStatus)}.")
    query = text_param(request, "q")
    videos, total = request.videos.admin_list(status, query, limit, offset)
    paged(request, request.response, total, limit, offset, status=status, q=query)
    places = request.videos.queue_positions(videos)
    return [status_json(video, places.get(video.id)) for video in videos]


@view_config(route_name="videos.detail", request_method="GET", permission=AUTHENTICATED)
def video_detail(request):
    body = request.videos.catalog_item_json(
        request.route_url("videos.list"), int(request.matchdict["id"]), viewer_id(request)
    )
    return json_text_response(request, body)


def json_text_response(request, body: str):
    """A response whose JSON PostgreSQL already wrote (the catalog's items never pass through Python objects)."""
    response = request.response
    response.content_type = "application/json"
    response.charset = "utf-8"
    response.text = body
    return response


@view_config(route_name="videos.list", request_method="POST", renderer="json", permission=STAFF)
def upload(request):
    """multipart: file, title, description, category -> 201 with the new video's status."""
    settings = request.registry["videoflix.settings"]
    limit = one_request_limit(settings.max_upload_size, settings.max_request_body)
    received = receive(request, uploads_dir(settings.media_root), limit)
    try:
        fields = deserialize(UploadSchema(), received.fields)
        if received.path is None or received.size == 0:
            raise InvalidInput.field("file", "Attach a video file (form field 'file').")
        video = request.videos.accept(
            received.path, received.head, fields, received.filename, received.size, request.identity
        )
    except BaseException:
        received.discard()
        UPLOADS.labels("rejected").inc()
        raise
    count_upload(request.tm.get(), received.size)
    request.response.status_code = 201
    return status_json(video)


@view_config(route_name="videos.status", request_method="GET", renderer="json", permission=STAFF)
def video_status(request):
    video = request.videos.get(int(request.matchdict["id"]))
    return status_json(video, request.videos.queue_positions([video]).get(video.id))


def status_json(video: Video, queue_position: int | None = None) -> dict[str, Any]:
    """What operators see of a video's processing (upload answer and the status endpoint)."""
    made = [r["name"] for r in video.renditions or []]
    detail = video.progress_detail or {}
    return {
        "id": video.id,
        "title": video.title,
        "description": video.description,
        "category": video.category,
        "status": video.status.value,
        "progress": round(video.progress or 0.0, 1),
        # while a job runs: FFmpeg's speed (x realtime), the seconds to go at that speed, and per rendition the
        # media seconds published and their share; while waiting: the place in the queue
        "speed": detail.get("speed"),
        "eta_seconds": detail.get("eta_seconds"),
        "rendition_progress": detail.get("renditions") or {},
        # a ready film's AV1 ladder while it is made: {progress, speed, eta_seconds}; null otherwise
        "av1_progress": detail.get("av1"),
        # every further ladder being made (best H.264, AV1, HEVC), by name, as av1_progress is
        "ladder_progress": {name: detail[name] for name in FURTHER if isinstance(detail.get(name), dict)},
        # a ready film's automatic captions while its speech is heard ({progress, parts, parts_done, speed,
        # eta_seconds}), or why they failed ({failed}); null otherwise
        "captions": detail.get("captions"),
        "queue_position": queue_position,
        "error": video.error,
        # what an operator can do about a failure (the film's, its captions'), in words: services/failure_advice
        "advice": advice_for(video.error) if video.status == VideoStatus.FAILED else None,
        "captions_advice": advice_for(captions_failed(detail), "captions"),
        "duration": video.duration,
        "views": video.views or 0,  # counted and folded in (a view not folded yet shows within seconds)
        # the film's bytes in the store (source, outputs, subtitles): measured when it is reported ready or a
        # further ladder joins, and by every storage sweep; null until first measured
        "stored_bytes": video.stored_bytes,
        "width": video.width,
        "height": video.height,
        "resolutions": made,
        "renditions": video.renditions or [],
        "skipped_resolutions": skipped_resolutions(video),
        "created_at": video.created_at,
        "processed_at": video.processed_at,
    }


def captions_failed(detail: dict[str, Any]) -> str | None:
    captions = detail.get("captions")
    return captions.get("failed") if isinstance(captions, dict) else None


def skipped_resolutions(video: Video) -> dict[str, str]:
    """Rungs of the ladder above the source's height, which are not made (no upscaling)."""
    if not video.height:
        return {}
    short_side = min(video.width, video.height) if video.width else video.height
    made = {rung.name for rung in ladder_for(short_side)}
    return {
        rung.name: f"not made: the source's short side is {short_side} px and videos are never upscaled"
        for rung in LADDER
        if rung.name not in made
    }


#: requests that carry no upload body: nginx lets them through to the app, which checks them itself
BODILESS = frozenset({"GET", "HEAD", "OPTIONS", "DELETE"})


@view_config(route_name="auth.upload_check", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def upload_check(request):
    """nginx's `auth_request` on the upload locations (deploy/nginx.conf), before it reads a byte of the body:
    204 lets the request through, 401/403 refuse it. An upload body is read only for a staff session (the
    access cookie's JWT and its live session: no body, no argon2, one cached lookup). Requests without an
    upload body (X-Original-Method, which nginx always sends; without it the answer is the strict one) pass:
    the app answers them as usual."""
    if request.headers.get("X-Original-Method", "").upper() not in BODILESS and not request.has_permission(STAFF):
        raise HTTPForbidden()  # answered by the forbidden view: 401 without a login, 403 for a viewer
    return Response(status=204)
