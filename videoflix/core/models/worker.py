"""The workers' census (stream_workers/census.py): one row per worker process, renewed every CENSUS_SECONDS
while it runs, so the operators' service panel (videoflix/services/service_panel.py) reads who is online and
what the pipeline's Kafka group and backlog looked like from PostgreSQL. The web tier never speaks Kafka (it
holds no broker credentials); the workers, which do, report here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base

#: how often each worker renews its row
CENSUS_SECONDS = 10.0
#: a row not renewed for this long is a worker gone (killed, frozen, or cut off from the database)
GONE_AFTER = 3 * CENSUS_SECONDS
#: rows not renewed for this long are removed (a worker gone a day is history, not the service's state)
FORGOTTEN_AFTER = 86400.0


class Worker(Base):
    __tablename__ = "workers"

    #: `host:pid`, unique while the process lives
    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    host: Mapped[str] = mapped_column(String(200), default="", server_default="")
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: renewed by each census (GONE_AFTER)
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    #: set when the worker stopped cleanly (it says so on its way out)
    stopped_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: jobs running in it (transcodes, parts, captions) when last seen
    jobs: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: the Kafka view it last took: {"group": {state, members}, "topics": {name: {end, done, lag}}}
    kafka: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default=text("'{}'"))
