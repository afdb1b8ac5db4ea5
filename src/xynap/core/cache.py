"""A tiny in-process TTL cache for hot lookups (permissions, user state)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    def __init__(self, ttl: float, max_entries: int = 100_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._data: dict[Hashable, tuple[float, V]] = {}

    async def get_or_load(self, key: Hashable, load: Callable[[], Awaitable[V]]) -> V:
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = await load()
        if len(self._data) >= self.max_entries:
            self._data.clear()
        self._data[key] = (now + self.ttl, value)
        return value

    def invalidate(self, predicate: Callable[[Hashable], bool] | None = None) -> None:
        if predicate is None:
            self._data.clear()
        else:
            for key in [k for k in self._data if predicate(k)]:
                self._data.pop(key, None)
