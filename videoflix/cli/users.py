"""`videoflix user create [--staff] EMAIL`: accounts made by an administrator (active at once, no mail)."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from ..core.environment import value


def add_parser(commands) -> None:
    user = commands.add_parser("user", help="manage accounts").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create an active account, or promote an existing one with --staff")
    create.add_argument("email")
    create.add_argument("--staff", action="store_true", help="an operator: may upload and manage videos")
    create.add_argument("--password", help="default: $VIDEOFLIX_PASSWORD, else asked for")
    create.add_argument("--ini", default="development.ini", help="settings file (default: %(default)s)")
    create.set_defaults(run=create_user)


def create_user(args) -> int:
    from pyramid.paster import bootstrap, setup_logging

    from ..errors import InvalidInput
    from ..passwords import password_problems
    from .dev import use_embedded_database

    ini = str(Path(args.ini).resolve())
    setup_logging(ini)
    use_embedded_database(Path(ini).parent / "var")
    with bootstrap(ini) as env:
        request = env["request"]
        with request.tm:
            existing = request.accounts.by_email(args.email)
            if existing is not None:
                existing.is_staff = existing.is_staff or args.staff
                existing.is_active = True
                print(f"{existing.email} exists; now active{' and staff' if existing.is_staff else ''}.")
                return 0
            password = args.password or value(os.environ, "VIDEOFLIX_PASSWORD") or ask_password()
            problems = password_problems(password, email=args.email)
            if problems:
                print("Password rejected: " + " ".join(problems), file=sys.stderr)
                return 2
            try:
                mail = request.accounts.register(args.email, password, is_staff=args.staff, active=True)
            except InvalidInput as exc:
                print(f"Not created: {exc.errors or exc.detail}", file=sys.stderr)
                return 2
            print(f"Created {'operator' if args.staff else 'user'} {mail.user.email} (id {mail.user.id}).")
    return 0


def ask_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise SystemExit("The passwords differ.")
    return first
