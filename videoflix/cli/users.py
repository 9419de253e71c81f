"""`videoflix user create|list|deactivate|activate|staff|unstaff`: accounts as an operator manages them from a
shell (the console's accounts panel does the same from the browser). Every change goes through
`AccountAdmin`, so it keeps the same rules (the last active operator stays) and lands in the same audit log,
with the command line and the OS user as its actor."""

from __future__ import annotations

import getpass
import os
import socket
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.environment import value

#: what each change command does, and the past tense it reports
CHANGES: dict[str, tuple[str, str]] = {
    "deactivate": ("switch an account off: its sessions and playback end at once, its mail links die", "deactivated"),
    "activate": ("lift a deactivation (or activate an account whose owner never did)", "active"),
    "staff": ("make an account an operator", "an operator"),
    "unstaff": ("make an operator a plain viewer", "a plain viewer"),
}


def add_parser(commands) -> None:
    user = commands.add_parser("user", help="manage accounts").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create an active account, or promote an existing one with --staff")
    create.add_argument("email")
    create.add_argument("--staff", action="store_true", help="an operator: may upload and manage videos")
    create.add_argument("--password", help="default: $VIDEOFLIX_PASSWORD, else asked for")
    _ini(create)
    create.set_defaults(run=create_user)
    listing = user.add_parser("list", help="list accounts, newest first")
    listing.add_argument("--search", help="only addresses that contain this")
    listing.add_argument("--limit", type=int, default=100, help="at most this many (default: %(default)s)")
    _ini(listing)
    listing.set_defaults(run=list_users)
    for name, (help_text, _) in CHANGES.items():
        change = user.add_parser(name, help=help_text)
        change.add_argument("email")
        _ini(change)
        change.set_defaults(run=change_user)


def _ini(parser) -> None:
    parser.add_argument("--ini", default="development.ini", help="settings file (default: %(default)s)")


def command_line_actor():
    """The audit log's actor for a change made here: the command and who ran it where."""
    from ..services.account_admin import Actor

    return Actor(f"videoflix user (command line, {getpass.getuser()}@{socket.gethostname()})")


@contextmanager
def app_request(ini_path: str) -> Iterator:
    """A request of the app configured by `ini_path`, in one transaction that commits when the block ends."""
    from pyramid.paster import bootstrap, setup_logging

    from .dev import use_embedded_database

    ini = str(Path(ini_path).resolve())
    setup_logging(ini)
    use_embedded_database(Path(ini).parent / "var")
    with bootstrap(ini) as env:
        request = env["request"]
        with request.tm:
            yield request


def create_user(args) -> int:
    from ..errors import InvalidInput
    from ..passwords import password_problems

    with app_request(args.ini) as request:
        existing = request.accounts.by_email(args.email)
        if existing is not None:
            if existing.deactivated_at is not None:
                print(f"{existing.email} is deactivated: `videoflix user activate {existing.email}` lifts it.",
                      file=sys.stderr)  # fmt: skip
                return 2
            admin, actor = request.account_admin, command_line_actor()
            admin.activate(existing, actor)
            if args.staff:
                admin.set_staff(existing, True, actor)
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


def list_users(args) -> int:
    with app_request(args.ini) as request:
        accounts, total = request.account_admin.search(args.search, max(args.limit, 1), 0)
        print(f"{'id':>6}  {'address':<40} {'state':<12} {'role':<9} {'sessions':>8}  last active")
        for summary in accounts:
            user = summary.user
            state = "active" if user.is_active else "deactivated" if user.deactivated_at else "not activated"
            last = summary.last_active.strftime("%Y-%m-%d %H:%M") if summary.last_active else "never"
            role = "operator" if user.is_staff else "viewer"
            print(f"{user.id:>6}  {user.email:<40} {state:<12} {role:<9} {summary.sessions:>8}  {last}")
        print(f"{len(accounts)} of {total} account(s).")
    return 0


def change_user(args) -> int:
    from ..errors import VideoflixError

    command = args.user_command
    with app_request(args.ini) as request:
        admin = request.account_admin
        try:
            user = admin.by_email(args.email)
            change: Callable[[], bool] = {
                "deactivate": lambda: admin.deactivate(user, command_line_actor()),
                "activate": lambda: admin.activate(user, command_line_actor()),
                "staff": lambda: admin.set_staff(user, True, command_line_actor()),
                "unstaff": lambda: admin.set_staff(user, False, command_line_actor()),
            }[command]
            changed = change()
        except VideoflixError as exc:
            print(f"videoflix: {exc.detail}", file=sys.stderr)
            return 2
        state = CHANGES[command][1]
        print(f"{user.email} is {state}." if changed else f"{user.email} was {state} already; nothing changed.")
    return 0


def ask_password() -> str:
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Password (again): "):
        raise SystemExit("The passwords differ.")
    return first
