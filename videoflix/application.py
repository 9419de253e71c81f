"""The web tier's Pyramid application factory (`pserve development.ini` calls `main`, through `egg:videoflix`)."""

from __future__ import annotations

import datetime
import uuid

from pyramid.config import Configurator
from pyramid.renderers import JSON

from . import config as app_config


def main(global_config, **settings):
    raw, typed = app_config.load(settings, here=(global_config or {}).get("here"))
    with Configurator(settings=raw) as config:
        config.registry["videoflix.settings"] = typed
        config.registry["videoflix.storage"] = typed.storage.open(typed.media_root)  # one client per process
        config.add_renderer("json", json_renderer())
        config.include("videoflix.core.models")  # engine, pyramid_tm, request.dbsession
        config.include(".mailer")  # the mail outbox: queued in the transaction, delivered after the commit
        config.include(".services")  # request.accounts, request.auth_sessions, request.account_mails
        config.include(".security")  # JWT cookie security policy, CSRF
        config.include(".cors")  # CORS tween over everything
        config.include(".requestid")  # X-Request-ID on every response and in every log record (outermost)
        config.include(".routes")
        config.scan(".views")
        config.scan(".openapi")
    return config.make_wsgi_app()


def json_renderer() -> JSON:
    renderer = JSON()
    renderer.add_adapter(datetime.datetime, lambda value, request: value.isoformat())
    renderer.add_adapter(uuid.UUID, lambda value, request: str(value))
    return renderer
