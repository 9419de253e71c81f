"""Alembic environment: the database URL comes from the .ini given with -c, with the environment laid
over it exactly as the app does (`videoflix.config.merged`). Tests pass an open connection instead."""

from __future__ import annotations

import os

from alembic import context
from pyramid.paster import get_appsettings, setup_logging

from videoflix.config import merged
from videoflix.core.models import Base, get_engine

config = context.config
target_metadata = Base.metadata


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


connection = config.attributes.get("connection")
if connection is not None:
    run_migrations(connection)
else:
    ini = config.config_file_name
    setup_logging(ini)
    settings = merged(get_appsettings(ini), here=os.path.dirname(os.path.abspath(ini)))
    if context.is_offline_mode():
        context.configure(url=settings["sqlalchemy.url"], target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
    else:
        engine = get_engine(settings)
        with engine.connect() as conn:
            run_migrations(conn)
        engine.dispose()
