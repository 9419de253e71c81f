"""/healthz and /readyz on the worker's Faust web port (FAUST_WEB_PORT), the same answers as the web tier's:
liveness is "the event loop answers"; readiness is PostgreSQL and the Kafka brokers reachable."""

from __future__ import annotations

from videoflix.health import broker_check, database_check, readiness

from .app import app
from .db import engine, in_thread
from .settings import settings


@app.page("/healthz")
async def healthz(view, request):
    return view.json({"status": "ok"})


@app.page("/readyz")
async def readyz(view, request):
    checks = {"database": database_check(engine()), "broker": broker_check(settings.kafka_bootstrap_servers)}
    status, body = await in_thread(readiness, checks)  # both checks block: never on the event loop
    return view.json(body, status=status, headers={"Cache-Control": "no-store"})
