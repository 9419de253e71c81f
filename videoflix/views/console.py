"""The operators' console at /admin/: one static page (videoflix/static/console/) that drives the staff API
from the browser. No build step and no template engine: the page is plain HTML, CSS and one script, and the
server only tells it who is looking (anonymous, staff, or a logged-in account without operator rights, which
gets the page with status 403)."""

from __future__ import annotations

import html
from functools import cache
from importlib.resources import files
from string import Template

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

#: the page's scripts, styles and media come from this origin only; hls.js plays from blob: URLs
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@cache
def page() -> Template:
    return Template(files("videoflix.static.console").joinpath("index.html").read_text(encoding="utf-8"))


@view_config(route_name="console", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def console(request):
    user = request.identity
    state = "anonymous" if user is None else "staff" if user.is_staff else "forbidden"
    body = page().substitute(
        state=state,
        email=html.escape(user.email if user else ""),
        static=request.static_url("videoflix:static/").rstrip("/"),
    )
    response = Response(body, status=403 if state == "forbidden" else 200, content_type="text/html", charset="utf-8")
    response.headers.update(
        {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    )
    return response
