"""/healthz (the process answers) and /readyz (PostgreSQL and the brokers are reachable), for orchestrators
and load balancers. Public, outside /api, and without a database session of their own."""

from __future__ import annotations

from pyramid.view import view_config

from ..health import broker_check, database_check, readiness


@view_config(route_name="health.live", request_method=("GET", "HEAD"), renderer="json")
def healthz(request):
    return {"status": "ok"}


@view_config(route_name="health.ready", request_method=("GET", "HEAD"), renderer="json")
def readyz(request):
    settings = request.registry["videoflix.settings"]
    status, body = readiness(
        {
            "database": database_check(request.registry["dbengine"]),
            "broker": broker_check(settings.kafka_bootstrap_servers),
        }
    )
    request.response.status_code = status
    request.response.cache_control = "no-store"
    return body
