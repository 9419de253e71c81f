"""Settings: the .ini values, overridden by environment variables (an optional `.env` file is read first).

Everything that differs between a laptop and production is reachable through an environment variable, so
one image and one .ini serve every deployment (twelve-factor). `ENVIRONMENT` below is the single list of
those variables; `.env.template` documents the same list and a test keeps the two in step.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from pyramid.exceptions import ConfigurationError
from pyramid.settings import asbool, aslist
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from videoflix.core.environment import ini_overrides, normalize_database_url, read_dotenv
from videoflix.core.media import MediaLimits
from videoflix.core.storage.config import StorageConfig

log = logging.getLogger(__name__)

#: environment variable -> .ini setting it overrides (the web tier's rows of the one table)
ENVIRONMENT: dict[str, str] = ini_overrides()

#: defaults: failed logins per account, login attempts per client address, reset requests and registrations
#: per email and per client address (COUNT/SECONDS)
RATE_LIMITS = {
    "login_account": "10/900",
    "login_ip": "100/900",
    "reset_account": "5/3600",
    "reset_ip": "30/3600",
    "register_account": "5/3600",
    "register_ip": "30/3600",
    # progress reports per viewer, across all films (a player sends one every few seconds)
    "progress_user": "120/60",
}

#: default bound of any request's body: a tus chunk (the console and `videoflix upload` send 16 MiB) or a
#: one-request upload, with headroom; JSON bodies are far smaller (max_json_body)
MAX_REQUEST_BODY = 64 * 1024 * 1024

#: values that mean "no secret was configured" (the template's placeholder among them)
PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "your-secret-key"}
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Limit:
    """At most `count` hits per `seconds`; count 0 switches the limit off."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> Limit:
        """`10/900` (10 per 900 s) or `off`."""
        if text.strip().lower() in ("off", "0"):
            return cls(0, 1)
        count, _, seconds = text.partition("/")
        try:
            limit = cls(int(count), int(seconds))
        except ValueError:
            limit = cls(-1, 0)
        if limit.count < 0 or limit.seconds <= 0:
            raise ConfigurationError(f"not a rate limit: {text!r} (expected COUNT/SECONDS, e.g. 10/900, or off)")
        return limit


@dataclass(frozen=True)
class Settings:
    """The typed view of the settings that the application code reads (the raw dict stays in the registry)."""

    production: bool
    secret_key: str
    frontend_url: str
    activation_path: str
    password_reset_path: str
    cors_allowed_origins: frozenset[str]
    cookie_secure: bool
    access_token_ttl: int
    refresh_token_ttl: int
    #: a login session's absolute lifetime: refreshes never carry it past this many seconds after the login
    session_max_age: int
    activation_token_ttl: int
    password_reset_token_ttl: int
    #: the screens (login sessions) an account may watch on at once; 0: no limit
    screens_per_account: int
    #: a playback's links work only from the address it started from
    playback_bind_address: bool
    #: S3 presigned URLs go through nginx under S3_PUBLIC_URL + this path + the playback session, where nginx
    #: checks the playback before passing the URL to the store (deploy/nginx.conf: /play/); empty: unchecked
    s3_playback_path: str
    max_json_body: int
    max_upload_size: int
    #: the largest body any request may send (waitress stops reading past it): a tus chunk, a one-request upload
    max_request_body: int
    #: what an uploaded file may claim (duration, picture size, frame rate, streams)
    media_limits: MediaLimits
    media_root: Path
    ffmpeg_binary: str | None
    rate_limits: Mapping[str, Limit]
    mail_retry_seconds: float
    kafka_bootstrap_servers: str
    #: nginx serves the files: e.g. `/protected-media/` (an `internal` location aliased to MEDIA_ROOT)
    accel_redirect_prefix: str | None
    #: where sources and outputs live (STORAGE_BACKEND: MEDIA_ROOT, or an S3 bucket)
    storage: StorageConfig
    #: the store's capacity (STORAGE_QUOTA_BYTES); None: the disk MEDIA_ROOT is on (local), unknown (S3)
    storage_quota_bytes: int | None = None

    def derive_key(self, purpose: str) -> bytes:
        """A 64-byte key for one purpose, so no two uses (JWT, CSRF, ...) share raw key material."""
        return hmac.new(self.secret_key.encode(), purpose.encode(), hashlib.sha512).digest()

    def frontend_link(self, path: str, **query: str) -> str:
        return f"{self.frontend_url.rstrip('/')}/{path.lstrip('/')}?{urlencode(query)}"


def playback_path(raw: str) -> str:
    """S3_PLAYBACK_PATH as a path that starts and ends with a slash (`/play/`), or "" (off)."""
    path = raw.strip().strip("/")
    if path and not re.fullmatch(r"[A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*", path):
        raise ValueError(f"S3_PLAYBACK_PATH must be a plain path such as /play/, not {raw!r}")
    return f"/{path}/" if path else ""


def apply_environment(settings: Mapping[str, str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """Return a copy of `settings` with every set, non-empty variable of `ENVIRONMENT` laid over it."""
    environ = os.environ if environ is None else environ
    merged = dict(settings)
    for variable, key in ENVIRONMENT.items():
        value = environ.get(variable, "")
        if value.strip():
            merged[key] = value.strip()
    return merged


def origin_of(url: str) -> str:
    """`https://Example.com:443/x` -> `https://example.com:443`: the form browsers send in `Origin`."""
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise ConfigurationError(f"not an absolute URL: {url!r}")
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


#: database passwords production refuses: the compose file's former default, the server's defaults, placeholders
WEAK_DATABASE_PASSWORDS = PLACEHOLDER_SECRETS | {"videoflix", "postgres", "password", "admin", "root"}


def weak_database_password(url: str) -> str | None:
    """Why production must not run on the database URL `url` (a default or placeholder password), or None.
    No password at all is left alone: a Unix socket with peer authentication needs none."""
    try:
        password = make_url(url).password if url else None
    except ArgumentError:
        return None  # (the engine's own error names a malformed URL)
    if password is not None and str(password).strip().lower() in WEAK_DATABASE_PASSWORDS - {""}:
        return (
            "The database password is a default or a placeholder: set POSTGRES_PASSWORD (and DATABASE_URL) to a "
            'random value in production (e.g. python -c "import secrets; print(secrets.token_urlsafe(32))")'
        )
    return None


def build_settings(raw: dict[str, str]) -> Settings:
    """Validate and type the merged settings; refuse to run production on an unset or placeholder secret."""
    production = asbool(raw.get("videoflix.production", False))
    secret = raw.get("videoflix.secret_key", "").strip()
    if production and (secret.lower() in PLACEHOLDER_SECRETS or len(secret) < MIN_SECRET_LENGTH):
        raise ConfigurationError(
            f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} characters in production "
            '(e.g. python -c "import secrets; print(secrets.token_urlsafe(48))")'
        )
    if production and (problem := weak_database_password(raw.get("sqlalchemy.url", ""))):
        raise ConfigurationError(problem)
    if not secret:
        secret = secrets.token_urlsafe(48)
        log.warning("SECRET_KEY is not set: using a random key for this process; logins end when it restarts")

    frontend_url = raw.get("videoflix.frontend_url", "http://127.0.0.1:5500").strip()
    origins = aslist(raw.get("videoflix.cors_allowed_origins", "").replace(",", " "))
    media_root = Path(raw.get("videoflix.media_root", "var/media")).expanduser()
    return Settings(
        production=production,
        secret_key=secret,
        frontend_url=frontend_url,
        activation_path=raw.get("videoflix.activation_path", "/pages/auth/activate.html"),
        password_reset_path=raw.get("videoflix.password_reset_path", "/pages/auth/confirm_password.html"),
        cors_allowed_origins=frozenset(origin_of(o) for o in (origins or [frontend_url])),
        cookie_secure=asbool(raw.get("videoflix.cookie_secure", production)),
        access_token_ttl=int(raw.get("videoflix.access_token_ttl", 30 * 60)),
        refresh_token_ttl=int(raw.get("videoflix.refresh_token_ttl", 7 * 24 * 3600)),
        session_max_age=int(raw.get("videoflix.session_max_age", 30 * 24 * 3600)),
        activation_token_ttl=int(raw.get("videoflix.activation_token_ttl", 3 * 24 * 3600)),
        password_reset_token_ttl=int(raw.get("videoflix.password_reset_token_ttl", 3600)),
        screens_per_account=max(0, int(raw.get("videoflix.screens_per_account", 0))),
        playback_bind_address=asbool(raw.get("videoflix.playback_bind_address", False)),
        s3_playback_path=playback_path(raw.get("videoflix.s3_playback_path", "")),
        max_json_body=int(raw.get("videoflix.max_json_body", 64 * 1024)),
        max_upload_size=int(raw.get("videoflix.max_upload_size", 10 * 1024**3)),
        max_request_body=int(raw.get("videoflix.max_request_body", MAX_REQUEST_BODY)),
        media_limits=media_limits(raw),
        media_root=media_root,
        ffmpeg_binary=raw.get("videoflix.ffmpeg_binary") or None,
        mail_retry_seconds=float(raw.get("videoflix.mail_retry_seconds", 60)),
        kafka_bootstrap_servers=raw.get("kafka.bootstrap_servers", "127.0.0.1:9092"),
        accel_redirect_prefix=raw.get("videoflix.accel_redirect_prefix", "").strip() or None,
        storage=storage_config(raw),
        storage_quota_bytes=quota(raw.get("videoflix.storage_quota_bytes", "")),
        rate_limits={
            name: Limit.parse(raw.get(f"videoflix.rate_limit.{name}") or default)
            for name, default in RATE_LIMITS.items()
        },
    )


def quota(raw: str) -> int | None:
    """STORAGE_QUOTA_BYTES: a positive whole number of bytes, or None (empty)."""
    if not raw.strip():
        return None
    if not raw.strip().isdigit() or int(raw) <= 0:
        raise ConfigurationError(f"STORAGE_QUOTA_BYTES must be a number of bytes (e.g. 2000000000000), not {raw!r}")
    return int(raw)


def media_limits(raw: Mapping[str, str]) -> MediaLimits:
    """The MEDIA_MAX_* limits of the merged settings (defaults where unset)."""
    try:
        return MediaLimits.from_settings(lambda name: raw.get(f"videoflix.media_max_{name}"))
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def storage_config(raw: Mapping[str, str]) -> StorageConfig:
    """STORAGE_BACKEND and the S3 settings of the merged settings."""
    try:
        return StorageConfig.from_settings(lambda name: raw.get(f"videoflix.{name}"))
    except ValueError as exc:
        raise ConfigurationError(str(exc)) from None


def merged(settings: Mapping[str, str], here: str | None = None) -> dict[str, str]:
    """The .ini settings with `.env` (beside the .ini) and the environment laid over them, and a usable
    database URL."""
    read_dotenv(here)
    raw = apply_environment(settings)
    if not raw.get("sqlalchemy.url"):
        raise ConfigurationError("DATABASE_URL (or sqlalchemy.url in the .ini) must be set")
    raw["sqlalchemy.url"] = normalize_database_url(raw["sqlalchemy.url"])
    return raw


def load(settings: Mapping[str, str], here: str | None = None) -> tuple[dict[str, str], Settings]:
    """Everything `main()` needs: `merged()` settings, checked and typed.

    Returns the raw dict (for Pyramid and the add-ons that read their own keys) and the typed settings.
    """
    raw = merged(settings, here)
    typed = build_settings(raw)
    raw["videoflix.secret_key"] = typed.secret_key  # a generated dev key must be the same for every reader
    return raw, typed
