"""What each viewer watched: where they are in a video (resume), and what they have started (continue
watching). Any logged-in viewer, for themselves only: the user is always the one the cookie names."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNoContent
from pyramid.view import view_config

from ..errors import TooManyRequests
from ..schemas import validate
from ..schemas.viewing import ProgressSchema
from ..security import AUTHENTICATED, viewer_id
from .errors import render
from .params import int_param
from .videos import json_text_response

#: the longest "continue watching" list
CONTINUE_MAX = 100


@view_config(route_name="videos.watch_progress", request_method="PUT", permission=AUTHENTICATED)
def report_progress(request):
    """`{"position": seconds}` -> 204. A player sends it every few seconds while it plays; a view is counted
    once the viewer has watched for a while (services/viewing.py)."""
    position = validate(request, ProgressSchema())["position"]
    viewer = viewer_id(request)
    try:  # per viewer across films: the per-film gap (MIN_REPORT_GAP) does not bound a script writing to many
        request.throttle.hit(
            f"progress:user:{viewer}", request.registry["videoflix.settings"].rate_limits["progress_user"]
        )
    except TooManyRequests as exc:
        return render(request, exc)  # returned, not raised: the counted report is committed
    request.viewing.report(viewer, int(request.matchdict["id"]), position)
    return HTTPNoContent()


@view_config(route_name="videos.watch_progress", request_method="DELETE", permission=AUTHENTICATED)
def forget_progress(request):
    """The viewer's progress in this video, forgotten (204 whether or not there was any)."""
    request.viewing.forget(viewer_id(request), int(request.matchdict["id"]))
    return HTTPNoContent()


@view_config(route_name="videos.continue", request_method="GET", permission=AUTHENTICATED)
def continue_watching(request):
    """The viewer's started, unfinished videos, most recently watched first, as catalog items (each with its
    `progress`); `?limit=` (at most 100, the default)."""
    limit = int_param(request, "limit", 1, CONTINUE_MAX) or CONTINUE_MAX
    body = request.videos.continue_json(request.route_url("videos.list"), viewer_id(request), limit)
    return json_text_response(request, body)
