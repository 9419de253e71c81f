"""Signed segment links of the local backend, which nginx checks by itself (`secure_link`), so that no
segment costs a Python request there either (SEGMENT_URLS=presigned with STORAGE_BACKEND=local).

A link is `<MEDIA_LINK_PREFIX><key>?e=<expires>&u=<viewer>&p=<playback session>&s=<signature>`, the signature
base64url(MD5("<expires><path><viewer><playback> <MEDIA_LINK_SECRET>")) (`path`: the link's path, without the
scheme and host of a MEDIA_LINK_PREFIX that names another origin, such as a media host), exactly what
deploy/nginx.conf's `secure_link_md5 "$secure_link_expires$uri$arg_u$arg_p $videoflix_link_secret"` recomputes:
nginx answers 403 to a link altered in any part and 410 once it has expired. Then nginx asks the app whether
the playback session the link names is live (`auth_request`, the answer cached for a few seconds per playback):
a link stops working soon after its viewer logs out or is deactivated, or its film is deleted, not hours later
when it expires. (MD5 is what nginx's stock module offers; it
authenticates a short-lived link here, under a secret of at least 32 characters.) Links name their viewer,
so one that leaks says whose it was. The expiry is rounded up to WINDOW, so a playlist's text, and with it
its ETag, stays the same for a while and players revalidate it with 304s.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

WINDOW = 600


def expiry(seconds: int, now: float | None = None) -> int:
    """At least `seconds` from now, rounded up to the next WINDOW."""
    return math.ceil(((now if now is not None else time.time()) + seconds) / WINDOW) * WINDOW


def signed_link(prefix: str, key: str, viewer: int, expires: int, secret: str, playback: str) -> str:
    """The link to `key` under `prefix` (a path, or an absolute URL of another origin ending in a path), for
    `viewer`'s playback session `playback`."""
    link = f"{prefix}{key}"
    path = urlsplit(link).path
    digest = hashlib.md5(f"{expires}{path}{viewer}{playback} {secret}".encode(), usedforsecurity=False).digest()
    signature = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return f"{link}?{urlencode({'e': expires, 'u': viewer, 'p': playback, 's': signature})}"


#: a link's film (its key is `videos/<id>/...`) in the path nginx was asked for
_FILM = re.compile(r"/videos/(\d{1,18})/")


#: an S3 presigned URL as nginx checks it: `<S3_PLAYBACK_PATH><playback>/<bucket>/videos/<id>/...`
_PLAY = re.compile(r"^/[A-Za-z0-9_/-]*?/([0-9a-f-]{36})/[^/]+/videos/(\d{1,18})/")


@dataclass(frozen=True)
class LinkClaims:
    """What a link nginx checks names, read from the URI nginx was asked for: a local link (after nginx checked
    its signature) names its viewer; an S3 URL names none (the store checks its signature, which covers its
    film's path; the playback session in front of it says whose it is)."""

    playback: str
    viewer: int | None
    video: int

    @classmethod
    def of(cls, uri: str) -> LinkClaims | None:
        parts = urlsplit(uri)
        if "X-Amz-Signature=" in parts.query and (played := _PLAY.match(parts.path)):
            return cls(played[1], None, int(played[2]))
        query = parse_qs(parts.query)
        film = _FILM.search(parts.path)
        playback, viewer = query.get("p", [""])[0], query.get("u", [""])[0]
        if film is None or not playback or not (viewer.isascii() and viewer.isdigit() and len(viewer) < 19):
            return None
        return cls(playback, int(viewer), int(film[1]))
