"""`videoflix serve INI [--port N]`: what `pserve INI` does (the ini's logging, app and server options, the
same graceful waitress),
with the port replaceable. PasteDeploy never lets a command-line variable override a value the file sets,
so `videoflix dev --port` (and the tests, which need free ports) go through this instead."""

from __future__ import annotations

from pathlib import Path


def add_parser(commands) -> None:
    parser = commands.add_parser("serve", help="serve the API with waitress, like pserve")
    parser.add_argument("ini", help="settings file, e.g. development.ini")
    parser.add_argument("--port", type=int, help="listen on this port instead of the ini's")
    parser.set_defaults(run=run)


def waitress_options(ini: str, port: int | None = None) -> dict[str, str]:
    import plaster

    options = dict(plaster.get_loader(ini, protocols=["wsgi"]).get_settings("server:main"))
    options.pop("use", None)
    if port is not None:
        host = options.get("listen", "127.0.0.1:8000").split()[0].rsplit(":", 1)[0]
        options["listen"] = f"{host}:{port}"
    return options


def run(args) -> int:
    from pyramid.paster import get_app, setup_logging

    from ..server import serve_paste

    ini = str(Path(args.ini).resolve())
    setup_logging(ini)
    return serve_paste(get_app(ini), {}, **waitress_options(ini, args.port))
