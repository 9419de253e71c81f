"""What a command says when the system cannot start: one line naming what is wrong and what to do, never a
traceback (a port taken, a database or broker that does not answer). `videoflix` prints the line and exits 2;
the checks run before anything is started, so nothing is left half-running."""

from __future__ import annotations

import errno
import socket

#: seconds a configured service gets to answer before a command says it does not
ANSWER_TIMEOUT = 5.0


class StartupError(Exception):
    """The system cannot start; the message is the one line an operator reads."""


def check_port(host: str, port: int, how_to_change: str) -> None:
    """StartupError if nothing may listen on host:port (in use, or not ours to take)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # (as waitress binds)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise StartupError(listen_problem(host, port, exc, how_to_change)) from None


def listen_problem(host: str, port: int, exc: OSError, how_to_change: str) -> str:
    """The line for a server that cannot listen on host:port."""
    if exc.errno == errno.EADDRINUSE:
        return (f"port {port} on {host} is in use (another videoflix, or another server, listens there): "
                f"stop it or {how_to_change}")  # fmt: skip
    if exc.errno == errno.EACCES:
        return f"port {port} on {host} may not be opened by this user: {how_to_change}"
    return f"cannot listen on {host}:{port} ({exc.strerror or exc}): {how_to_change}"


def check_database(url: str) -> None:
    """StartupError if the database at `url` does not answer (its password never printed)."""
    import sqlalchemy as sa

    from .core.environment import normalize_database_url

    try:
        engine = sa.create_engine(normalize_database_url(url), connect_args={"connect_timeout": int(ANSWER_TIMEOUT)})
        with engine.connect():
            pass
        engine.dispose()
    except sa.exc.SQLAlchemyError as exc:
        raise StartupError(database_problem(url, exc)) from None


def database_problem(url: str | None, exc: BaseException) -> str:
    """The line for a database that does not answer: where (`url`, its password hidden; None: the settings
    file's), why in a few words, what to do."""
    import sqlalchemy as sa

    from .core.environment import normalize_database_url

    try:
        where = sa.engine.make_url(normalize_database_url(url)).render_as_string(hide_password=True) if url else ""
    except sa.exc.ArgumentError:
        where = "DATABASE_URL (not a database URL)"
    where = where or "the settings file's sqlalchemy.url"
    cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:160] if str(exc).strip() else ""
    return (f"the database at {where} does not answer ({cause}): start it, correct DATABASE_URL, or unset it "
            "for the embedded PostgreSQL of `videoflix dev`")  # fmt: skip


def check_broker(servers: str) -> None:
    """StartupError if no broker of the comma-separated host:port list accepts a connection."""
    tried = []
    for server in (s.strip() for s in servers.split(",") if s.strip()):
        host, _, port = server.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=ANSWER_TIMEOUT):
                return
        except (OSError, ValueError) as exc:
            tried.append(f"{server}: {getattr(exc, 'strerror', None) or exc}")
    raise StartupError(
        f"no Kafka broker answers at {servers} ({'; '.join(tried) or 'no address'}): start it, correct "
        "KAFKA_BOOTSTRAP_SERVERS, or unset it for the embedded broker of `videoflix dev`"
    )
