"""The fixed-window counters: a new window after expiry, and expired counters cleaned up by later hits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from videoflix.config import Limit
from videoflix.core.models import RateLimitCounter
from videoflix.errors import TooManyRequests
from videoflix.services.throttle import Throttle


class Clock:
    def __init__(self):
        self.now = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_a_window_allows_its_count_then_refuses_until_it_ends(dbsession):
    clock = Clock()
    throttle = Throttle(dbsession, clock)
    limit = Limit(3, 60)
    for _ in range(3):
        throttle.hit("k", limit)
    clock.now += timedelta(seconds=20)
    with pytest.raises(TooManyRequests) as refused:
        throttle.hit("k", limit)
    assert refused.value.retry_after == 40

    clock.now += timedelta(seconds=40)
    throttle.hit("k", limit)  # a new window
    assert dbsession.scalar(sa.select(RateLimitCounter.hits).where(RateLimitCounter.key == "k")) == 1


def test_check_counts_nothing(dbsession):
    throttle = Throttle(dbsession, Clock())
    limit = Limit(2, 60)
    throttle.check("c", limit)
    throttle.hit("c", limit)
    throttle.check("c", limit)
    throttle.hit("c", limit)
    with pytest.raises(TooManyRequests):
        throttle.check("c", limit)
    assert dbsession.scalar(sa.select(RateLimitCounter.hits).where(RateLimitCounter.key == "c")) == 2


def test_expired_counters_are_purged_by_later_hits(dbsession):
    clock = Clock()
    throttle = Throttle(dbsession, clock)
    for n in range(25):
        throttle.hit(f"sprayed-{n}@example.com", Limit(5, 60))
    clock.now += timedelta(minutes=5)
    for _ in range(3):
        throttle.hit("fresh", Limit(5, 60))
    keys = set(dbsession.scalars(sa.select(RateLimitCounter.key)))
    assert "fresh" in keys and not {k for k in keys if k.startswith("sprayed-")}  # up to 10 go per hit


@pytest.mark.parametrize("text", ["ten/900", "10", "10/0", "-1/60", "10/x"])
def test_bad_limits_are_refused_at_startup(text):
    from pyramid.exceptions import ConfigurationError

    with pytest.raises(ConfigurationError):
        Limit.parse(text)
