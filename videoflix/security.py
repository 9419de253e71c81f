"""Authentication with JWTs in HttpOnly cookies, and double-submit CSRF protection.

Two pyramid-jwt cookie policies make and read the tokens: `access_token` (short-lived, checked on every
request) and `refresh_token` (long-lived, only exchanged at /api/token/refresh/). Both name a server-side
login session (`sid`), so logout, a password change or a replayed refresh token end them at once.
The Pyramid security policy below turns a valid access cookie into `request.identity` (the `User`).
"""

from __future__ import annotations

import uuid
from typing import Any

from pyramid.csrf import CookieCSRFStoragePolicy
from pyramid.interfaces import ISecurityPolicy
from pyramid.request import RequestLocalCache
from pyramid.security import Allowed, Denied
from pyramid_jwt import JWTCookieAuthenticationPolicy
from webob import Request
from webob.cookies import CookieProfile

from videoflix.core.models import AuthSession, User

from .config import Settings
from .services import live_sessions
from .services.playback import Viewer

ACCESS_COOKIE = "access_token"
REFRESH_COOKIE = "refresh_token"
CSRF_COOKIE = "csrftoken"
CSRF_HEADER = "X-CSRFToken"

#: the two permissions views ask for
AUTHENTICATED = "authenticated"
STAFF = "staff"


class JWTCookiePolicy(JWTCookieAuthenticationPolicy):
    """pyramid-jwt's cookie policy plus what it lacks: `SameSite`, `Path=/` and host-only cookies.

    pyramid-jwt would add `Domain=<request host>`, which also hands the cookie to every subdomain; a
    host-only cookie (no Domain attribute) goes back only to the API's own host.
    """

    def __init__(self, *, private_key: bytes, cookie_name: str, expiration: int, secure: bool, samesite: str):
        super().__init__(
            private_key=private_key,
            algorithm="HS512",
            expiration=expiration,
            cookie_name=cookie_name,
            https_only=secure,
            cookie_path="/",
        )
        self.cookie_profile = CookieProfile(
            cookie_name=cookie_name,
            secure=secure,
            max_age=self.max_age,
            httponly=True,
            samesite=samesite,
            path="/",
        )

    def _get_cookies(self, request, value, max_age=None, domains=None):
        kw: dict[str, Any] = {"domains": []}
        if max_age is not None:
            kw["max_age"] = max_age
        return self.cookie_profile(request).get_headers(value, **kw)

    def claims_of_type(self, request, token_type: str) -> dict[str, Any]:
        """Verified claims of this cookie's token, or {} (missing, tampered, expired, or the wrong type:
        a refresh token placed in the access cookie is not an access token)."""
        claims = self.get_claims(request)
        if claims.get("typ") != token_type or not isinstance(claims.get("sub"), str):
            return {}
        return claims


class CookieSecurityPolicy:
    """Pyramid 2 security policy over the two JWT cookie policies."""

    def __init__(self, access: JWTCookiePolicy, refresh: JWTCookiePolicy):
        self.access = access
        self.refresh = refresh
        # Pyramid asks for the identity several times per request (permission check, authenticated_userid);
        # it costs a JWT check and a database query, so it is worked out once per request.
        self._identities = RequestLocalCache(self._load_identity)

    def identity(self, request) -> User | None:
        return self._identities.get_or_create(request)

    def _load_identity(self, request) -> User | None:
        claims = self.access.claims_of_type(request, "access")
        if not claims:
            return None
        return request.auth_sessions.active_user(claims["sub"], str(claims.get("sid", "")))

    def authenticated_userid(self, request) -> int | None:
        user = request.identity
        return user.id if user is not None else None

    def permits(self, request, context, permission):
        if permission == AUTHENTICATED:
            return Allowed("authenticated") if self._live(request) else Denied("authentication required")
        user = request.identity
        if permission == STAFF and user is not None and user.is_staff:
            return Allowed("staff")
        return Denied(f"{permission} required")

    def _live(self, request) -> bool:
        """A valid access token of a live session. Sessions seen live lately are remembered for a few
        seconds (see services.live_sessions), so a player's segment requests make no session query."""
        claims = self.access.claims_of_type(request, "access")
        if not claims:
            return False
        key = (claims["sub"], str(claims.get("sid", "")))
        if live_sessions.cache.get(key):
            return True
        if request.identity is None:
            return False
        live_sessions.cache.put(key, True)
        return True

    def remember(self, request, userid, *, session: AuthSession, **kw) -> list[tuple[str, str]]:
        """Cookies for a (new or rotated) login session: an access token and a refresh token."""
        sid = str(session.id)
        # `staff`: only for the server's body gate (`may_send_body`), read before a request's body and so
        # before any database lookup; every permission is still decided from the live session and account
        staff = bool(session.user.is_staff)
        return [
            *self.access.remember(request, str(userid), sid=sid, typ="access", staff=staff),
            *self.refresh.remember(request, str(userid), sid=sid, jti=session.refresh_jti, typ="refresh"),
        ]

    def forget(self, request, **kw) -> list[tuple[str, str]]:
        return [*self.access.forget(request), *self.refresh.forget(request)]

    def refresh_claims(self, request) -> dict[str, Any]:
        claims = self.refresh.claims_of_type(request, "refresh")
        return claims if "sid" in claims and "jti" in claims else {}


def body_gate(registry):
    """For the server (videoflix/server.py), which reads a request's body before the app runs: whether the
    request whose headers are `environ` may send a large body, which only a staff session may (an operator's
    upload), whatever the method. Decided from the access cookie alone (its signature, expiry
    and `staff` claim: no database on the server's I/O thread); the app still checks the session."""
    policy = registry["videoflix.security"]

    def may_send_body(environ: dict) -> bool:
        request = Request(environ)
        return bool(policy.access.claims_of_type(request, "access").get("staff"))

    return may_send_body


def viewer_id(request) -> int:
    """The id of the user asking, in a view behind AUTHENTICATED: from their verified access token, without
    loading the user (the permission check, with its live-session cache, has vouched for the session)."""
    policy = request.registry.getUtility(ISecurityPolicy)
    return int(policy.access.claims_of_type(request, "access")["sub"])


def playback_viewer(request) -> Viewer:
    """Who asks to play, in a view behind AUTHENTICATED: the account and login session of the verified access
    token, and the client's address (services.playback)."""
    policy = request.registry.getUtility(ISecurityPolicy)
    claims = policy.access.claims_of_type(request, "access")
    return Viewer(int(claims["sub"]), uuid.UUID(str(claims["sid"])), request.client_addr)


def has_auth_cookie(request) -> bool:
    """CSRF matters only where the browser adds credentials by itself, i.e. when an auth cookie is sent."""
    return ACCESS_COOKIE in request.cookies or REFRESH_COOKIE in request.cookies


def includeme(config) -> None:
    settings: Settings = config.registry["videoflix.settings"]
    key = settings.derive_key("jwt")
    samesite = "Lax"
    policy = CookieSecurityPolicy(
        access=JWTCookiePolicy(
            private_key=key,
            cookie_name=ACCESS_COOKIE,
            expiration=settings.access_token_ttl,
            secure=settings.cookie_secure,
            samesite=samesite,
        ),
        refresh=JWTCookiePolicy(
            private_key=key,
            cookie_name=REFRESH_COOKIE,
            expiration=settings.refresh_token_ttl,
            secure=settings.cookie_secure,
            samesite=samesite,
        ),
    )
    config.set_security_policy(policy)
    config.registry["videoflix.security"] = policy

    # Double-submit CSRF: login sets a readable `csrftoken` cookie (as long-lived as the refresh cookie,
    # so a browser restart does not strand a logged-in user); unsafe requests that carry an auth cookie
    # must echo it in X-CSRFToken. On HTTPS Pyramid also checks Origin/Referer against the trusted origins.
    config.set_csrf_storage_policy(
        CookieCSRFStoragePolicy(
            cookie_name=CSRF_COOKIE,
            secure=settings.cookie_secure,
            max_age=settings.refresh_token_ttl,
            samesite=samesite,
        )
    )
    config.set_default_csrf_options(require_csrf=True, token=None, header=CSRF_HEADER, callback=has_auth_cookie)
    config.get_settings()["pyramid.csrf_trusted_origins"] = " ".join(
        origin.split("://", 1)[1] for origin in sorted(settings.cors_allowed_origins)
    )
