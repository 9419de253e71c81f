"""Request counters for rate limiting, in PostgreSQL so every web process shares them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from .meta import Base


class RateLimitCounter(Base):
    """Hits on one key (e.g. `login:account:<email>`) in the fixed window that ends at `expires_at`."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
