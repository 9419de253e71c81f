"""Liveness and readiness checks for orchestrators, shared by the web tier (/healthz, /readyz) and the workers
(the same paths on Faust's web port).

Liveness says only that the process answers. Readiness checks what the process needs: PostgreSQL (a
`SELECT 1`) and the Kafka brokers (a TCP connection to one bootstrap server). Each check returns None when
fine, else a short reason; the answer names every check, so an operator sees which dependency is missing.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import sqlalchemy as sa

log = logging.getLogger(__name__)

Check = Callable[[], str | None]


def database_check(engine: sa.Engine) -> Check:
    def check() -> str | None:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except Exception as exc:  # any failure means "not ready", with its class as the reason
            return f"unreachable ({type(exc).__name__})"
        return None

    return check


def broker_check(bootstrap_servers: str, timeout: float = 1.0) -> Check:
    def check() -> str | None:
        hosts = [h.strip() for h in bootstrap_servers.replace(";", ",").split(",") if h.strip()]
        for host in hosts:
            name, _, port = host.rpartition(":")
            try:
                with socket.create_connection((name.strip("[]"), int(port)), timeout=timeout):
                    return None
            except (OSError, ValueError):
                continue
        log.warning("readiness: no bootstrap server of %r accepts connections", bootstrap_servers)
        return "unreachable (no bootstrap server accepts connections)"  # /readyz is public: no host names

    return check


def readiness(checks: dict[str, Check]) -> tuple[int, dict]:
    """(HTTP status, body): 200 when every check passes, else 503."""
    results = {name: check() or "ok" for name, check in checks.items()}
    ready = all(result == "ok" for result in results.values())
    return (200 if ready else 503), {"status": "ready" if ready else "unready", "checks": results}


def pipeline_checks(engine: sa.Engine, bootstrap_servers: str) -> dict[str, Check]:
    """What both the web tier and the workers need: PostgreSQL and the Kafka brokers."""
    return {"database": database_check(engine), "broker": broker_check(bootstrap_servers)}
