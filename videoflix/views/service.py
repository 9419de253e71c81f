"""The operators' service panel: workers, backlog, jobs in flight, failures and storage in one answer, which the
console polls (videoflix/services/service_panel.py says where each figure comes from)."""

from __future__ import annotations

from pyramid.view import view_config

from ..security import STAFF


@view_config(route_name="admin.service", request_method="GET", renderer="json", permission=STAFF)
def service(request):
    """`{workers, kafka, backlog, jobs, failures, storage}` (staff only); never cached: it is read live."""
    request.response.cache_control = "no-store"
    return request.service_panel.read()
