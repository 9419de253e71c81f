"""CORS with credentials for the configured origins, as a tween above everything else.

Sitting on top means every response gets the headers, error responses from exception views included, and
a preflight is answered before routing and authentication ever run. Unlisted origins get no CORS headers,
so the browser refuses them. (No maintained WSGI/Pyramid CORS package fits: wsgicors is unmaintained
since 2017; this is the whole of what the frontend needs.)
"""

from __future__ import annotations

from pyramid.response import Response
from pyramid.tweens import INGRESS

ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
ALLOWED_HEADERS = "content-type, x-csrftoken, range, tus-resumable, upload-length, upload-metadata, upload-offset"
EXPOSED_HEADERS = (
    "content-length, content-range, etag, link, x-total-count, x-request-id, location, tus-resumable, tus-version,"
    " tus-extension, tus-max-size, upload-offset, upload-length, upload-expires, x-video-id"
)
PREFLIGHT_MAX_AGE = "600"


def cors_tween_factory(handler, registry):
    allowed = registry["videoflix.settings"].cors_allowed_origins

    def cors_tween(request):
        origin = request.headers.get("Origin")
        if origin not in allowed:
            response = handler(request)
            if origin is not None:
                _vary_on_origin(response)
            return response
        if request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers:
            response = Response(status=204)
            response.headers.update(
                {
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
                    "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
                }
            )
        else:
            response = handler(request)
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
        _vary_on_origin(response)
        return response

    return cors_tween


def _vary_on_origin(response) -> None:
    vary = set(response.vary or ())
    if "Origin" not in vary:
        response.vary = (*(response.vary or ()), "Origin")


def includeme(config) -> None:
    config.add_tween("videoflix.cors.cors_tween_factory", under=INGRESS)
