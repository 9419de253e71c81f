"""The environment both tiers are configured from: the one table of every variable either reads (`VARIABLES`),
a `.env` file read first (real variables win), and the database URL as both hand it to SQLAlchemy."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from dotenv import load_dotenv

from .storage.config import VARIABLES as STORAGE_VARIABLES

log = logging.getLogger(__name__)


def read_dotenv(*folders: str | Path | None) -> None:
    """Load `.env` from the given folders (first wins); real environment variables always take precedence."""
    for folder in folders:
        if folder and (Path(folder) / ".env").is_file():
            load_dotenv(Path(folder) / ".env", override=False)


def normalize_database_url(url: str) -> str:
    """Pin the psycopg2 driver (SQLAlchemy 2.1 maps a bare `postgresql://` to psycopg 3, which is not
    installed) and accept the `postgres://` scheme that many hosting providers hand out."""
    for scheme in ("postgres://", "postgresql://"):
        if url.startswith(scheme):
            return "postgresql+psycopg2://" + url[len(scheme) :]
    return url


WEB, WORKERS, CLI, COMPOSE = "web", "workers", "cli", "compose"


@dataclass(frozen=True)
class Variable:
    """One environment variable: who reads it (the web tier, the workers, the `videoflix` command, or only
    docker-compose.yml), the .ini setting it overrides in the web tier, and the workers' default. `formerly`:
    the name it had in an earlier release, still read (with a warning) when the variable itself is unset, so
    an operator's environment keeps working across a rename."""

    name: str
    tiers: tuple[str, ...]
    setting: str | None = None
    default: str = ""
    formerly: str | None = None


def _web(name: str, setting: str, *more: str) -> Variable:
    return Variable(name, (WEB, *more), setting)


def _workers(name: str, default: str = "", formerly: str | None = None) -> Variable:
    return Variable(name, (WORKERS,), None, default, formerly)


#: every variable either tier reads, or the compose file hands on: the one table (`.env.template` documents each,
#: tests/unit/test_environment.py keeps the code, this table and the template in step)
VARIABLES: tuple[Variable, ...] = (
    _web("SECRET_KEY", "videoflix.secret_key", CLI),
    Variable("POSTGRES_PASSWORD", (COMPOSE,)),
    Variable("GRAFANA_ADMIN_PASSWORD", (COMPOSE,)),
    _web("DATABASE_URL", "sqlalchemy.url", WORKERS, CLI),
    Variable("KAFKA_BOOTSTRAP_SERVERS", (WEB, WORKERS, CLI), "kafka.bootstrap_servers", "127.0.0.1:9092"),
    _workers("KAFKA_SECURITY_PROTOCOL"),
    _workers("KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"),
    _workers("KAFKA_SASL_USERNAME"),
    _workers("KAFKA_SASL_PASSWORD"),
    _workers("KAFKA_SASL_PASSWORD_FILE"),
    _workers("KAFKA_SSL_CA_FILE"),
    _workers("KAFKA_SSL_CERT_FILE"),
    _workers("KAFKA_SSL_KEY_FILE"),
    _web("EMAIL_HOST", "mail.host", CLI),
    _web("EMAIL_PORT", "mail.port"),
    _web("EMAIL_USE_TLS", "mail.tls"),
    _web("EMAIL_USE_SSL", "mail.ssl"),
    _web("EMAIL_HOST_USER", "mail.username"),
    _web("EMAIL_HOST_PASSWORD", "mail.password"),
    _web("DEFAULT_FROM_EMAIL", "mail.default_sender"),
    _web("MAIL_RETRY_SECONDS", "videoflix.mail_retry_seconds"),
    _web("ACCEL_REDIRECT_PREFIX", "videoflix.accel_redirect_prefix"),
    Variable("TRUSTED_PROXY", (WEB,)),  # read by the server (waitress's trusted proxy), not an .ini setting
    Variable("MEDIA_ROOT", (WEB, WORKERS, CLI), "videoflix.media_root", "var/media"),
    *(_web(name, f"videoflix.{setting}", WORKERS, CLI) for name, setting in STORAGE_VARIABLES.items()),
    _web("MAX_UPLOAD_SIZE", "videoflix.max_upload_size"),
    _web("MAX_REQUEST_BODY", "videoflix.max_request_body"),
    *(
        _web(f"MEDIA_MAX_{name}", f"videoflix.media_max_{name.lower()}", WORKERS)
        for name in ("DURATION", "SIZE", "FPS", "STREAMS")
    ),
    _web("FFMPEG_BINARY", "videoflix.ffmpeg_binary", WORKERS),
    _web("FRONTEND_URL", "videoflix.frontend_url"),
    _web("CORS_ALLOWED_ORIGINS", "videoflix.cors_allowed_origins"),
    _web("COOKIE_SECURE", "videoflix.cookie_secure"),
    _web("ACCESS_TOKEN_TTL", "videoflix.access_token_ttl"),
    _web("REFRESH_TOKEN_TTL", "videoflix.refresh_token_ttl"),
    _web("SESSION_MAX_AGE", "videoflix.session_max_age"),
    _web("SCREENS_PER_ACCOUNT", "videoflix.screens_per_account"),
    _web("STORAGE_QUOTA_BYTES", "videoflix.storage_quota_bytes"),
    _web("PLAYBACK_BIND_ADDRESS", "videoflix.playback_bind_address"),
    _web("S3_PLAYBACK_PATH", "videoflix.s3_playback_path"),
    *(
        _web(f"RATE_LIMIT_{name.upper()}", f"videoflix.rate_limit.{name}")
        for name in (
            "login_account",
            "login_ip",
            "reset_account",
            "reset_ip",
            "register_account",
            "register_ip",
            "progress_user",
        )
    ),
    _workers("X264_PRESET", "veryfast"),
    _workers("LADDER_CRF"),
    _workers("AVC_LADDER", "on"),
    _workers("AVC_PRESET", "slow"),
    _workers("AV1_LADDER", "on"),
    _workers("AV1_FILM_GRAIN", "off"),
    _workers("RATE_AIM", "0.05"),
    _workers("HEVC_LADDER", "off"),
    _workers("HLS_ENCRYPTION", "on"),
    _workers("HLS_KEY_ROTATION", "75"),
    _workers("SEAL_INTERVAL", "60"),
    _workers("AV1_MAX_SECONDS", "inf"),
    _workers("TOPIC_PARTITIONS", "8"),
    _workers("TRANSCODE_MAX_ATTEMPTS", "3"),
    _workers("TRANSCODE_RETRY_DELAY", "5"),
    _workers("TRANSCODE_TIMEOUT", str(6 * 3600)),
    _workers("TRANSCODE_STALL_TIMEOUT", "120"),
    _workers("PROGRESS_INTERVAL", "1.0"),
    _workers("REQUEUE_AFTER", "300"),
    _workers("KAFKA_SESSION_TIMEOUT", "6"),
    _workers("PARTS_FROM_SECONDS", "180", formerly="CHUNKED_MIN_SECONDS"),
    _workers("PART_SECONDS", "60", formerly="CHUNK_SECONDS"),
    _workers("FAUST_DATADIR", "var/faust"),
    _workers("FAUST_WEB_HOST", "127.0.0.1"),
    _workers("FAUST_WEB_PORT", "6066"),
    _workers("WORKER_SCRATCH", "var/scratch"),
    _workers("SWEEP_INTERVAL", "3600"),
    _workers("SWEEP_GRACE", "3600"),
    _workers("QUALITY_SAMPLES", "30"),
    _workers("VMAF_FLOOR", "80"),
    _workers("CAPTIONS", "on"),
    _workers("CAPTION_MODEL", "base"),
    _workers("CAPTION_LANGUAGE"),
    _workers("CAPTION_PART_SECONDS", "600"),
    _workers("CAPTION_DEVICE", "auto"),
    Variable("VIDEOFLIX_API", (CLI,), None, "http://127.0.0.1:8000/api"),
    Variable("VIDEOFLIX_EMAIL", (CLI,)),
    Variable("VIDEOFLIX_PASSWORD", (CLI,)),
)
TABLE: dict[str, Variable] = {variable.name: variable for variable in VARIABLES}


def value(env: Mapping[str, str], name: str) -> str:
    """Variable `name` from `env`, stripped (or, unset, its former name's value: `Variable.formerly`), or its
    default when unset or empty. A name the table does not hold is a KeyError: nothing reads a variable the
    table (and so `.env.template`) does not name."""
    variable = TABLE[name]
    found = (env.get(name) or "").strip()
    if not found and variable.formerly and (former := (env.get(variable.formerly) or "").strip()):
        log.warning("%s is read from %s, its name before; rename it to %s", name, variable.formerly, name)
        return former
    return found or variable.default


def ini_overrides() -> dict[str, str]:
    """The web tier's variables -> the .ini setting each overrides."""
    return {v.name: v.setting for v in VARIABLES if v.setting is not None}
