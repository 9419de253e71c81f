"""The production entry points on their own: `pserve` against configured services, and production's refusal
to start without a real SECRET_KEY; the migrations against the models."""

from __future__ import annotations

import json
import signal
import socket
import sys
import time
from http.client import HTTPResponse

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext

from videoflix.core.models import Base
from videoflix.devservices import free_port

from ..support.stack import FAUST_WORKER, PSERVE, ROOT, http, own_database, with_port

pytestmark = pytest.mark.integration


def test_pserve_development_ini_serves_against_configured_database(
    project, base_env, run_command, database_url, engine
):
    port = free_port()
    with_port(project / "development.ini", port)
    env = {**base_env, "DATABASE_URL": database_url}
    web = run_command([*PSERVE, "development.ini"], project, env, "pserve")

    web.listening(port, 60)
    status, body = http("GET", f"http://127.0.0.1:{port}/api/video/")
    assert (status, body["detail"]) == (401, "Authentication credentials were not provided or are invalid.")
    status, body = http(
        "POST", f"http://127.0.0.1:{port}/api/login/", {"email": "nobody@example.com", "password": "whatever-123"}
    )
    assert status == 400 and body["errors"] == {}


@pytest.mark.parametrize("secret", [None, "change-me", "too-short"])
def test_production_refuses_to_start_without_a_real_secret(project, base_env, run_command, database_url, secret):
    with_port(project / "production.ini", free_port())
    env = {**base_env, "DATABASE_URL": database_url}
    if secret is not None:
        env["SECRET_KEY"] = secret
    web = run_command([*PSERVE, "production.ini"], project, env, "production")

    assert web.proc.wait(60) != 0
    assert "SECRET_KEY must be set" in web.output


def test_production_starts_with_a_real_secret(project, base_env, run_command, database_url, engine):
    port = free_port()
    with_port(project / "production.ini", port)
    env = {**base_env, "DATABASE_URL": database_url, "SECRET_KEY": "p" * 48, "FRONTEND_URL": "https://app.example"}
    web = run_command([*PSERVE, "production.ini"], project, env, "production-ok")

    web.listening(port, 60)
    assert http("GET", f"http://127.0.0.1:{port}/api/video/")[0] == 401


def test_the_containers_commands_against_the_test_services(project, base_env, run_command, database_url, broker):
    """What docker-compose.yml runs, in its order: `migrate` (alembic -c production.ini upgrade head) on an empty
    database, then `web` (pserve production.ini) with the compose environment: alive, and ready (database and
    broker reachable). The `worker` command runs in the pipeline tests."""
    port = free_port()
    with_port(project / "production.ini", port)
    with own_database(database_url, "videoflix_containers") as url:
        env = {
            **base_env,
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
            "SECRET_KEY": "c" * 48,
            "MEDIA_ROOT": str(project / "media"),
            "ACCEL_REDIRECT_PREFIX": "/protected-media/",
        }
        migrate = run_command([sys.executable, "-m", "alembic", "-c", "production.ini", "upgrade", "head"],
                              project, env, "migrate")  # fmt: skip
        assert migrate.proc.wait(120) == 0, migrate.output
        web = run_command([*PSERVE, "production.ini"], project, env, "web")
        web.listening(port, 60)

        assert http("GET", f"http://127.0.0.1:{port}/healthz") == (200, {"status": "ok"})
        assert http("GET", f"http://127.0.0.1:{port}/readyz")[1]["checks"] == {"database": "ok", "broker": "ok"}
        web.kill()


def test_pserve_stops_gracefully_finishing_requests_in_progress(project, base_env, run_command, database_url):
    """SIGTERM (docker compose stop): new connections are refused at once, a request still arriving is read,
    handled and answered, then the server exits 0; one that never completes is given up after drain_timeout."""
    port = free_port()
    ini = project / "development.ini"
    with_port(ini, port)
    ini.write_text(ini.read_text().replace("drain_timeout = 30", "drain_timeout = 3"))
    web = run_command([*PSERVE, "development.ini"], project, {**base_env, "DATABASE_URL": database_url}, "pserve")
    web.listening(port, 60)
    body = json.dumps({"email": "drain@example.com", "password": "not-the-password"}).encode()
    head = (
        f"POST /api/login/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )

    finishing = socket.create_connection(("127.0.0.1", port))
    stuck = socket.create_connection(("127.0.0.1", port))
    for conn in (finishing, stuck):
        conn.sendall(head.encode() + body[:10])
    time.sleep(0.5)
    web.proc.send_signal(signal.SIGTERM)
    web.wait_for("stopping: no new connections", 10)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2)

    finishing.sendall(body[10:])
    answer = HTTPResponse(finishing)
    answer.begin()
    assert answer.status == 400 and json.loads(answer.read())["detail"].startswith("Invalid email or password")
    started = time.monotonic()
    assert web.proc.wait(30) == 0
    assert 1 < time.monotonic() - started < 10  # waited for the stuck one, but only drain_timeout
    assert "1 request(s) unfinished" in web.output
    finishing.close()
    stuck.close()


def test_migrations_match_the_models(connection):
    diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrations_downgrade_and_upgrade_again(connection):
    """PostgreSQL runs DDL in transactions: the round trip happens inside the test's rolled-back one."""
    config = Config(str(ROOT / "development.ini"))
    config.attributes["connection"] = connection
    command.downgrade(config, "base")
    assert "users" not in connection.dialect.get_table_names(connection)
    command.upgrade(config, "head")
    assert {"users", "account_tokens", "auth_sessions"} <= set(connection.dialect.get_table_names(connection))


def test_the_readmes_worker_command_starts_in_a_fresh_checkout(project, base_env, run_command, database_url, broker):
    """`faust -A stream_workers.app worker -l info` as the README gives it, in a folder with no `var/` and no
    FAUST_DATADIR: Faust makes only the last folder of its data folder, so ours makes the rest."""
    assert not (project / "var").exists()
    env = {
        **base_env,
        "DATABASE_URL": database_url,
        "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
        "MEDIA_ROOT": str(project / "media"),
        "FAUST_WEB_PORT": str(free_port()),
    }
    worker = run_command(FAUST_WORKER, project, env, "faust-worker")

    worker.wait_for(r"\[\^Worker\]: Ready", 120)
    assert (project / "var" / "faust").is_dir()
