"""Sliding-window counters for failed logins: in-process by default, Redis when configured."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from typing import Any


class MemoryCounter:
    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    async def hit(self, key: str, window: int) -> int:
        now = time.monotonic()
        q = self._hits[key]
        q.append(now)
        while q and q[0] <= now - window:
            q.popleft()
        return len(q)

    async def count(self, key: str, window: int) -> int:
        now = time.monotonic()
        q = self._hits.get(key)
        if not q:
            return 0
        while q and q[0] <= now - window:
            q.popleft()
        return len(q)

    async def reset(self, key: str) -> None:
        self._hits.pop(key, None)


class RedisCounter:
    """A sorted set per key keeps the timestamps, so every node sees the same count."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis

    async def hit(self, key: str, window: int) -> int:
        now = time.time()
        k = f"xynap:rl:{key}"
        pipe = self.redis.pipeline()
        pipe.zadd(k, {f"{now:.6f}:{id(pipe)}": now})
        pipe.zremrangebyscore(k, 0, now - window)
        pipe.zcard(k)
        pipe.expire(k, window)
        res = await pipe.execute()
        return int(res[2])

    async def count(self, key: str, window: int) -> int:
        now = time.time()
        k = f"xynap:rl:{key}"
        await self.redis.zremrangebyscore(k, 0, now - window)
        return int(await self.redis.zcard(k))

    async def reset(self, key: str) -> None:
        await self.redis.delete(f"xynap:rl:{key}")
