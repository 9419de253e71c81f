"""Names say one thing (issue 34): a Pyramid route and a Kafka topic never share a name (`videos.progress` was
both the viewer's playback-progress route and the topic of transcoding progress)."""

from __future__ import annotations

from pyramid.config import Configurator

from videoflix.core import events
from videoflix.routes import includeme as add_routes


def test_no_route_is_named_like_a_topic():
    config = Configurator()
    add_routes(config)
    config.commit()
    routes = {route.name for route in config.get_routes_mapper().get_routes()}
    topics = {value for value in vars(events).values() if isinstance(value, str) and value.startswith("videos.")}
    assert {events.PARTS, events.LADDER_PARTS, events.CAPTIONS} <= topics
    assert "videos.watch_progress" in routes
    assert routes & topics == set()
