"""Object keys: relative POSIX paths that stay inside their root on every backend."""

from __future__ import annotations

from pathlib import PurePosixPath


class BadKey(ValueError):
    """A key that could leave the store's root or that some backend cannot hold."""


def check_key(key: str, folder: bool = False) -> str:
    """`key` if it is a clean relative path (`folder`: a prefix ending with `/`), else BadKey."""
    if not isinstance(key, str) or not key or len(key) > 1024:
        raise BadKey("empty or too long")
    if "\\" in key or "\x00" in key or key.startswith("/"):
        raise BadKey(f"not a relative POSIX path: {key!r}")
    body = key[:-1] if folder and key.endswith("/") else key
    if folder and not key.endswith("/"):
        raise BadKey(f"a folder prefix ends with '/': {key!r}")
    parts = body.split("/")
    if any(part in ("", ".", "..") for part in parts) or str(PurePosixPath(body)) != body:
        raise BadKey(f"not a clean path: {key!r}")
    return key
