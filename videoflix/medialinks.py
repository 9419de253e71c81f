"""Signed segment links of the local backend, which nginx checks by itself (`secure_link`), so that no
segment costs a Python request there either (SEGMENT_URLS=presigned with STORAGE_BACKEND=local).

A link is `<MEDIA_LINK_PREFIX><key>?e=<expires>&u=<viewer>&s=<signature>`, the signature
base64url(MD5("<expires><path><viewer> <MEDIA_LINK_SECRET>")) (`path`: the link's path, without the scheme
and host of a MEDIA_LINK_PREFIX that names another origin, such as a media host), exactly what deploy/nginx.conf's
`secure_link_md5 "$secure_link_expires$uri$arg_u $videoflix_link_secret"` recomputes: nginx answers 403 to a
link altered in any part and 410 once it has expired. (MD5 is what nginx's stock module offers; it
authenticates a short-lived link here, under a secret of at least 32 characters.) Links name their viewer,
so one that leaks says whose it was. The expiry is rounded up to WINDOW, so a playlist's text, and with it
its ETag, stays the same for a while and players revalidate it with 304s.
"""

from __future__ import annotations

import base64
import hashlib
import math
import time
from urllib.parse import urlencode, urlsplit

WINDOW = 600


def expiry(seconds: int, now: float | None = None) -> int:
    """At least `seconds` from now, rounded up to the next WINDOW."""
    return math.ceil(((now if now is not None else time.time()) + seconds) / WINDOW) * WINDOW


def signed_link(prefix: str, key: str, viewer: int, expires: int, secret: str) -> str:
    """The link to `key` under `prefix` (a path, or an absolute URL of another origin ending in a path)."""
    link = f"{prefix}{key}"
    path = urlsplit(link).path
    digest = hashlib.md5(f"{expires}{path}{viewer} {secret}".encode(), usedforsecurity=False).digest()
    signature = base64.urlsafe_b64encode(digest).decode().rstrip("=")
    return f"{link}?{urlencode({'e': expires, 'u': viewer, 's': signature})}"
