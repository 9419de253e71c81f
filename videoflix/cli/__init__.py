"""The `videoflix` command: `videoflix dev` runs the whole system on one laptop."""

from __future__ import annotations

import argparse
import sys

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
    return args.run(args) or 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
