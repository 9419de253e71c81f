"""/healthz (the process answers) and /readyz (PostgreSQL and the brokers are reachable), for orchestrators
and load balancers, and /metrics for Prometheus. Outside /api; the checks use no request session."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from pyramid.view import view_config

from videoflix.core.health import pipeline_checks, readiness

from ..metrics import scrape


@view_config(route_name="health.live", request_method=("GET", "HEAD"), renderer="json")
def healthz(request):
    return {"status": "ok"}


@view_config(route_name="health.ready", request_method=("GET", "HEAD"), renderer="json")
def readyz(request):
    settings = request.registry["videoflix.settings"]
    status, body = readiness(pipeline_checks(request.registry["dbengine"], settings.kafka_bootstrap_servers))
    request.response.status_code = status
    request.response.cache_control = "no-store"
    return body


@view_config(route_name="metrics", request_method="GET")
def metrics(request):
    """Prometheus text format: this process's counters and the pipeline's state from PostgreSQL."""
    response = request.response
    response.body = scrape(request.dbsession.connection(), request.service_panel)
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    response.cache_control = "no-store"
    return response
