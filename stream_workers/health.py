"""/healthz, /readyz and /metrics on the worker's Faust web port (FAUST_WEB_PORT), like the web tier's:
liveness is "the event loop answers"; readiness is PostgreSQL and the Kafka brokers reachable."""

from __future__ import annotations

from videoflix.core.health import pipeline_checks, readiness

from .app import app
from .db import engine, in_thread
from .metrics import scrape


@app.page("/healthz")
async def healthz(view, request):
    return view.json({"status": "ok"})


@app.page("/readyz")
async def readyz(view, request):
    checks = pipeline_checks(engine(), app.settings.kafka_bootstrap_servers)
    status, body = await in_thread(readiness, checks)  # both checks block: never on the event loop
    return view.json(body, status=status, headers={"Cache-Control": "no-store"})


@app.page("/metrics")
async def metrics(view, request):
    body = await scrape(app.consumer, app.settings.scratch)
    return view.bytes(body, content_type="text/plain")  # aiohttp refuses parameters in content_type
