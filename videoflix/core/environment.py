"""The environment both tiers are configured from: a `.env` file read first (real variables win), and the
database URL as both hand it to SQLAlchemy."""

from __future__ import annotations

from pathlib import Path

from dotenv import load_dotenv


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
