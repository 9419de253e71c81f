"""/healthz and /readyz for orchestrators: public, JSON, and readiness names each dependency."""

from __future__ import annotations

import dataclasses
import socket

import pytest


def test_liveness(testapp):
    assert testapp.get("/healthz", status=200).json == {"status": "ok"}


@pytest.fixture
def broker_at(testapp, monkeypatch):
    registry = testapp.app.registry

    def point(bootstrap: str) -> None:
        settings = registry["videoflix.settings"]
        monkeypatch.setitem(
            registry, "videoflix.settings", dataclasses.replace(settings, kafka_bootstrap_servers=bootstrap)
        )

    return point


def test_ready_when_database_and_broker_answer(testapp, broker_at):
    with socket.create_server(("127.0.0.1", 0)) as listener:  # something accepting connections, as a broker does
        broker_at(f"127.0.0.1:{listener.getsockname()[1]}")
        response = testapp.get("/readyz", status=200)
    assert response.json == {"status": "ready", "checks": {"database": "ok", "broker": "ok"}}
    assert response.headers["Cache-Control"] == "no-store"


def test_unready_names_the_missing_broker(testapp, broker_at):
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
    broker_at(f"127.0.0.1:{port}")  # closed again: nothing listens there
    body = testapp.get("/readyz", status=503).json
    assert body["status"] == "unready" and body["checks"]["database"] == "ok"
    assert body["checks"]["broker"] == "unreachable (no bootstrap server accepts connections)"
    assert str(port) not in testapp.get("/readyz", status=503).text  # the public answer names no host


def test_unready_names_the_missing_database(testapp, monkeypatch):
    import sqlalchemy as sa

    registry = testapp.app.registry
    monkeypatch.setitem(registry, "dbengine", sa.create_engine("postgresql+psycopg2://nobody@127.0.0.1:1/none"))
    body = testapp.get("/readyz", status=503).json
    assert body["checks"]["database"] == "unreachable (OperationalError)"
