"""Request ids: every request gets one (the proxy's `X-Request-ID` when it is a sane token, else a new one),
every log record written while it runs carries it as `request_id`, and the response sends it back. An error's
reference is the same id, so a user's report leads straight to the log lines.

The id travels in a context variable, so logs from any module need nothing passed to them; records written
outside a request say "-".
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from pyramid.tweens import INGRESS

HEADER = "X-Request-ID"
_SANE = re.compile(r"[A-Za-z0-9._-]{8,64}")
current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def _install_record_factory() -> None:
    previous = logging.getLogRecordFactory()
    if getattr(previous, "videoflix_request_id", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        record.request_id = current.get()
        return record

    factory.videoflix_request_id = True
    logging.setLogRecordFactory(factory)


def request_id_tween_factory(handler, registry):
    def request_id_tween(request):
        offered = request.headers.get(HEADER, "")
        request.request_id = offered if _SANE.fullmatch(offered) else uuid.uuid4().hex
        token = current.set(request.request_id)
        try:
            response = handler(request)
        finally:
            current.reset(token)
        response.headers[HEADER] = request.request_id
        return response

    return request_id_tween


def includeme(config) -> None:
    _install_record_factory()
    config.add_tween(
        "videoflix.requestid.request_id_tween_factory", under=INGRESS, over="videoflix.cors.cors_tween_factory"
    )
