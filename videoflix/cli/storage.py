"""`videoflix storage init`: make the configured store ready (the bucket of STORAGE_BACKEND=s3, created if it
is missing; MEDIA_ROOT for the local backend). Idempotent: deployments run it before the app starts."""

from __future__ import annotations

import sys
from pathlib import Path


def add_parser(commands) -> None:
    storage = commands.add_parser("storage", help="manage the media store").add_subparsers(
        dest="storage_command", required=True
    )
    init = storage.add_parser("init", help="create the bucket (S3) or the media folder (local) if missing")
    init.add_argument("--ini", default="development.ini", help="settings file (default: %(default)s)")
    init.set_defaults(run=init_storage)


def init_storage(args) -> int:
    import plaster
    from pyramid.exceptions import ConfigurationError

    from videoflix.core.storage import StorageUnavailable

    from ..config import load

    ini = Path(args.ini).resolve()
    settings = plaster.get_loader(str(ini), protocols=["wsgi"]).get_settings("app:main")
    try:
        _, typed = load(settings, here=str(ini.parent))
    except ConfigurationError as exc:
        print(f"videoflix storage init: {exc}", file=sys.stderr)
        return 2
    store = typed.storage.open(typed.media_root)
    try:
        created = store.prepare()
    except StorageUnavailable as exc:
        print(f"videoflix storage init: the store is unavailable or refused us ({exc})", file=sys.stderr)
        return 1
    where = f"bucket {store.bucket}" if store.backend == "s3" else f"folder {typed.media_root}"
    print(f"{where}: {'created' if created else 'exists'}")
    return 0
