"""Catalog endpoints. Until the processing pipeline lands there are no ready videos, so the list is empty;
the authentication in front of it is already the real one."""

from __future__ import annotations

from pyramid.view import view_config

from ..security import AUTHENTICATED


@view_config(route_name="videos.list", request_method="GET", renderer="json", permission=AUTHENTICATED)
def video_list(request):
    return []
