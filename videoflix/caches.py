"""Small in-process caches for the lookups every streaming request would otherwise make.

cachetools provides the eviction (LRU, time-to-live); waitress serves requests from several threads, so each
cache sits behind one lock. Entries are per process: what another process changes shows here at the latest
when an entry expires, so time-to-live caches hold only facts that may lag by a few seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable, MutableMapping
from typing import Generic, TypeVar

V = TypeVar("V")


class LockedCache(Generic[V]):
    def __init__(self, cache: MutableMapping[Hashable, V]):
        self._cache = cache
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            return self._cache.get(key)

    def put(self, key: Hashable, value: V) -> V:
        with self._lock:
            self._cache[key] = value
        return value

    def pop(self, key: Hashable) -> V | None:
        with self._lock:
            return self._cache.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
