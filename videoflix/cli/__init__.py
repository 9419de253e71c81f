"""The `videoflix` command: `videoflix dev` runs the whole system on one laptop."""

from __future__ import annotations

import argparse
import os
import sys

from ..startup import StartupError, database_problem
from . import dev, serve, storage, upload, users


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="videoflix", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    dev.add_parser(commands)
    serve.add_parser(commands)
    users.add_parser(commands)
    upload.add_parser(commands)
    storage.add_parser(commands)
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except StartupError as exc:  # one line, no traceback: what is wrong and what to do
        print(f"videoflix: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        import sqlalchemy as sa

        if not isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
            raise
        print(f"videoflix: {database_problem(os.environ.get('DATABASE_URL'), exc)}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
