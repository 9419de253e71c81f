"""The server `pserve` runs (`use = egg:videoflix#main` in the .ini files): waitress, stopping gracefully.

Plain waitress under pserve dies on SIGTERM with requests half answered (and on Ctrl-C stops its loop before
running requests are sent). Here SIGTERM or SIGINT first closes the listening sockets (new connections are
refused, so a load balancer moves on), then keeps serving the requests already received, including bodies
still arriving, until they are answered or `drain_timeout` seconds (default 30, below Docker's grace period
of the web service) have passed; then it exits.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.server import BaseWSGIServer, create_server
from waitress.utilities import RequestEntityTooLarge

from .security import body_gate
from .startup import listen_problem

log = logging.getLogger(__name__)


def serve_paste(app, global_conf, **settings) -> int:
    drain_timeout = float(settings.pop("drain_timeout", 30))
    logging.basicConfig()
    settings["max_request_body_size"] = str(request_body_bound(app, settings.get("max_request_body_size")))
    if proxy := os.environ.get("TRUSTED_PROXY", "").strip():  # the reverse proxy's address where it is not fixed
        settings["trusted_proxy"] = proxy
    try:
        server = create_server(app, **settings)
    except OSError as exc:  # one line, no traceback (pserve and `videoflix serve` alike)
        listen = settings.get("listen") or f"{settings.get('host', '*')}:{settings.get('port', 8080)}"
        host, _, port = listen.split()[0].rpartition(":")
        how = "choose another in the settings file's [server:main] listen (or `videoflix dev --port N`)"
        print(f"videoflix: {listen_problem(host, int(port), exc, how)}", file=sys.stderr, flush=True)
        # (not SystemExit: pserve catches it and exits 0, and a supervisor would take the failure for a stop)
        os._exit(2)
    server.print_listen("Serving on http://{}:{}")
    socket_map = server.map if hasattr(server, "map") else server._map
    small = app.registry["videoflix.settings"].max_json_body
    channel = type("VideoflixChannel", (HTTPChannel,), {"parser_class": bounded_parser(app.registry, small)})
    for listener in [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]:
        listener.channel_class = channel
    poll = {"use_poll": server.adj.asyncore_use_poll}

    stop: list[int] = []
    previous = {
        sig: signal.signal(sig, lambda signum, frame: stop.append(signum)) for sig in (signal.SIGTERM, signal.SIGINT)
    }
    try:
        while not stop:
            wasyncore.loop(timeout=server.adj.asyncore_loop_timeout, map=socket_map, count=1, **poll)
        log.info("stopping: no new connections; finishing the requests in progress (at most %.0f s)", drain_timeout)
        for listener in [d for d in socket_map.values() if isinstance(d, BaseWSGIServer)]:
            wasyncore.dispatcher.close(listener)  # the listening socket only; its wake-up trigger stays
        deadline = time.monotonic() + drain_timeout
        while busy(socket_map) and time.monotonic() < deadline:
            wasyncore.loop(timeout=0.05, map=socket_map, count=1, **poll)
        left = sum(1 for _ in busy_channels(socket_map))
        if left:
            log.warning("stopping with %d request(s) unfinished after %.0f s", left, drain_timeout)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        server.task_dispatcher.shutdown()
        wasyncore.close_all(socket_map)
    return 0


def bounded_parser(registry, small: int) -> type[HTTPRequestParser]:
    """waitress's request parser, which also refuses (413, at once, the connection closed) a body past `small`
    bytes (`max_json_body`), or chunked, from anyone but a staff session (`security.body_gate`), whatever the
    method, before a byte of it is read: waitress reads and spools a whole body before the app runs, so
    without this any client could make the web process hold MAX_REQUEST_BODY per connection (nginx bounds
    what passes it; this bounds what reaches the app directly)."""
    may_send_body = body_gate(registry)

    class BoundedBodyParser(HTTPRequestParser):
        def received(self, data):
            had_headers = self.headers_finished
            consumed = super().received(data)
            large = self.chunked or self.content_length > small
            if not had_headers and self.headers_finished and not self.error and large:
                environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_NAME": "gate", "SERVER_PORT": "80",
                           "wsgi.url_scheme": "http", "HTTP_COOKIE": self.headers.get("COOKIE", "")}  # fmt: skip
                if not may_send_body(environ):
                    self.error = RequestEntityTooLarge(f"only an operator may send a body of more than {small} bytes")
                    self.completed = True
            return consumed

    return BoundedBodyParser


def request_body_bound(app, configured: str | None) -> int:
    """waitress reads and spools a whole request body before the app (and so any permission check) runs, and
    answers 413 itself past `max_request_body_size`: that bound is the app's MAX_REQUEST_BODY (one setting, the
    environment's or the .ini's), or a smaller one set in [server:main]."""
    bound = app.registry["videoflix.settings"].max_request_body
    return min(bound, int(configured)) if configured else bound


def busy_channels(socket_map):
    """Connections with a request being received, handled, or answered."""
    for channel in list(socket_map.values()):
        if isinstance(channel, HTTPChannel) and (
            channel.request is not None or channel.requests or channel.total_outbufs_len
        ):
            yield channel


def busy(socket_map) -> bool:
    return next(busy_channels(socket_map), None) is not None
