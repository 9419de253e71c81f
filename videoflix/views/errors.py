"""Every error leaves as JSON `{"detail": str, "errors": {field: [str]}}` with a fitting status; never an
HTML page, never a traceback (unexpected exceptions are logged server-side with a reference id)."""

from __future__ import annotations

import logging
import uuid

from pyramid.exceptions import BadCSRFOrigin, BadCSRFToken, PredicateMismatch, URLDecodeError
from pyramid.httpexceptions import HTTPException
from pyramid.response import Response
from pyramid.view import exception_view_config, forbidden_view_config, notfound_view_config

from videoflix.core.storage import StorageUnavailable

from ..errors import ServiceUnavailable, VideoflixError

log = logging.getLogger(__name__)


def error_response(request, status: int, detail: str, errors: dict | None = None, headers=None):
    """The one place an error body is built; views that must *return* an error (so the transaction still
    commits, e.g. a refresh-token replay that revoked a session) call it too. A fresh response, so headers a
    view had set on `request.response` before failing (cookies!) never leak into the error."""
    response = Response(status=status, content_type="application/json", charset="utf-8")
    response.json_body = {"detail": detail, "errors": errors or {}}
    if headers:
        response.headers.update(headers)
    return response


def render(request, exc: VideoflixError):
    return error_response(request, exc.status, exc.detail, exc.errors, headers=exc.headers)


@exception_view_config(VideoflixError)
def domain_error(exc, request):
    return render(request, exc)


@exception_view_config(BadCSRFToken)
@exception_view_config(BadCSRFOrigin)
def csrf_failed(exc, request):
    return error_response(request, 403, "CSRF check failed: send the csrftoken cookie's value in X-CSRFToken.")


@exception_view_config(StorageUnavailable)
def storage_unavailable(exc, request):
    """The object store is down or refuses us: say so (503, try again), never what or where it is."""
    log.warning("storage unavailable: %s", exc)
    return render(request, ServiceUnavailable("The media storage is unavailable; try again shortly."))


@exception_view_config(URLDecodeError)
def undecodable_path(exc, request):
    return error_response(request, 400, "The request path is not valid UTF-8.")


@forbidden_view_config()
def forbidden(exc, request):
    if request.identity is None:
        return error_response(request, 401, "Authentication credentials were not provided or are invalid.")
    return error_response(request, 403, "You do not have permission to perform this action.")


@notfound_view_config()
def not_found(exc, request):
    if isinstance(exc, PredicateMismatch) and request.matched_route is not None:
        allowed = allowed_methods(request.registry, request.matched_route.name)
        if allowed and request.method not in allowed:
            return error_response(
                request, 405, f'Method "{request.method}" not allowed.', headers={"Allow": ", ".join(allowed)}
            )
    return error_response(request, 404, "Not found.")


@exception_view_config(HTTPException)
def http_exception(exc, request):
    if exc.code >= 500:
        return server_error(exc, request)
    response = error_response(request, exc.code, exc.explanation or exc.title)
    response.headers.update({k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")})
    return response


@exception_view_config(Exception)
def server_error(exc, request):
    reference = getattr(request, "request_id", None) or uuid.uuid4().hex  # the id the response and the logs carry
    log.error("unhandled error %s on %s %s", reference, request.method, request.path_qs, exc_info=exc)
    return error_response(request, 500, f"Internal server error (reference {reference}).")


def allowed_methods(registry, route_name: str) -> list[str]:
    """The methods some view of `route_name` accepts, from Pyramid's introspector (cached per route)."""
    cache = registry.setdefault("videoflix.allowed_methods", {})
    if route_name not in cache:
        methods: set[str] = set()
        for intr in registry.introspector.get_category("views"):
            view = intr["introspectable"]
            declared = view["request_methods"]
            if view["route_name"] == route_name and declared:
                methods.update([declared] if isinstance(declared, str) else declared)
        if "GET" in methods:
            methods.add("HEAD")
        cache[route_name] = sorted(methods | {"OPTIONS"}) if methods else []
    return cache[route_name]
