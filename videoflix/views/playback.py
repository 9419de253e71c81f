"""Who may go on playing, as the serving paths ask: nginx's playback check before it serves a signed link, and
the keys of a sealed film (encrypted HLS), which its players ask for. Both answer from the viewer's playback
session (`services.playback`), begun by the film's first playlist (`views.streaming`)."""

from __future__ import annotations

from pyramid.response import Response
from pyramid.security import NO_PERMISSION_REQUIRED
from pyramid.view import view_config

from ..medialinks import LinkClaims
from ..metrics import KEYS_SERVED, PLAYBACK_CHECKS
from ..security import AUTHENTICATED, playback_viewer


@view_config(route_name="auth.playback_check", request_method="GET", permission=NO_PERMISSION_REQUIRED)
def playback_check(request):
    """nginx's `auth_request` before it serves a signed link (deploy/nginx.conf; `X-Original-URI`: the link,
    whose signature nginx has checked): 200 while the playback session it names is live for its viewer and
    film (login session open, account active, film there, renewed within a minute or a screen free; the
    address it began from with PLAYBACK_BIND_ADDRESS), else 403. nginx keeps the answer for a few seconds per
    playback, so a player costs the app one check every few segments."""
    claims = LinkClaims.of(request.headers.get("X-Original-URI", ""))
    if claims is None or not request.playback.check(claims.playback, claims.video, claims.viewer,
                                                    request.client_addr):  # fmt: skip
        PLAYBACK_CHECKS.labels("refused").inc()
        return Response(status=403, cache_control="no-store")
    PLAYBACK_CHECKS.labels("live").inc()
    return Response(status=200, cache_control="no-store")


#: a key goes to the player that asked, is kept by nobody between (not the browser's cache, not a proxy's)
KEY_CACHE = "private, no-store"


@view_config(route_name="stream.key", request_method="GET", permission=AUTHENTICATED)
def key(request):
    """Key `index` of a sealed film (`#EXT-X-KEY` of its media playlists; hls.js asks with the viewer's
    cookies, `withCredentials`): the 16 bytes, to a viewer whose login session has begun playing the film and
    may go on (`PlaybackService.key`: 403 before the first playlist, 409 without a free screen, 404 for a film
    that is not sealed); after logout, a password change or a deactivation the login itself is refused (401)."""
    video_id, index = int(request.matchdict["id"]), int(request.matchdict["index"])
    body = request.playback.key(playback_viewer(request), video_id, index)
    KEYS_SERVED.inc()
    return Response(body=body, content_type="application/octet-stream", cache_control=KEY_CACHE)
