"""Throttling of failed sign-ins per IP and per e-mail, of registrations per IP, and of
e-mails with a link per account, address and IP, in memory or in Redis.

A sliding window: a key is blocked while it has ``limit`` recorded attempts within the
last ``window_s`` seconds (failed sign-ins; every registration). The Redis variant keeps
the window in a sorted set so every server instance sees the same count.
"""

from __future__ import annotations

import hashlib
import math
import time
import uuid
from collections import deque
from typing import Protocol

import redis.asyncio as aioredis

from server.errors import ApiError


class FailureLimiter(Protocol):
    async def retry_after(self, key: str) -> int:
        """Seconds until ``key`` may try again; 0 when it is not blocked."""
        ...

    async def record_failure(self, key: str) -> None:
        """Count one attempt of ``key`` in the window."""
        ...

    async def reset(self, key: str) -> None: ...


def limiter_key(kind: str, value: str) -> str:
    # Hash the e-mail/IP so the limiter's store holds no personal data in clear.
    digest = hashlib.sha256(value.strip().lower().encode()).hexdigest()[:32]
    return f"{kind}:{digest}"


def throttled(code: str, message: str, wait: int) -> ApiError:
    """The 429 for a blocked key: ``message``, when to try again, and ``Retry-After``."""
    return ApiError(
        429, code, f"{message} Try again in {wait} seconds.", headers={"Retry-After": str(wait)}
    )


async def admit(*checks: tuple[FailureLimiter, str]) -> int:
    """Count one attempt against each (limiter, key) unless one of them is blocked;
    returns the seconds to wait (then nothing was counted), or 0."""
    waits = [await limiter.retry_after(key) for limiter, key in checks]
    if any(waits):
        return max(waits)
    for limiter, key in checks:
        await limiter.record_failure(key)
    return 0


class MemoryFailureLimiter:
    """For one process (the embedded default). Bounded: old keys are pruned on use."""

    def __init__(self, *, limit: int, window_s: int, max_keys: int = 100_000) -> None:
        self.limit = limit
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _window(self, key: str, now: float) -> deque[float]:
        entries = self._failures.get(key)
        if entries is None:
            return deque()
        while entries and entries[0] <= now - self.window_s:
            entries.popleft()
        if not entries:
            del self._failures[key]
        return entries

    async def retry_after(self, key: str) -> int:
        now = time.monotonic()
        entries = self._window(key, now)
        if len(entries) < self.limit:
            return 0
        return max(1, math.ceil(entries[-self.limit] + self.window_s - now))

    async def record_failure(self, key: str) -> None:
        now = time.monotonic()
        if len(self._failures) >= self.max_keys:
            for stale in [
                k for k, v in self._failures.items() if not v or v[-1] <= now - self.window_s
            ]:
                del self._failures[stale]
        self._failures.setdefault(key, deque()).append(now)

    async def reset(self, key: str) -> None:
        self._failures.pop(key, None)


class RedisFailureLimiter:
    """Shared across instances."""

    def __init__(
        self, client: aioredis.Redis, *, limit: int, window_s: int, prefix: str = "intrvuer:fail:"
    ) -> None:
        self.client = client
        self.limit = limit
        self.window_s = window_s
        self.prefix = prefix

    async def retry_after(self, key: str) -> int:
        name = self.prefix + key
        now = time.time()
        pipe = self.client.pipeline()
        pipe.zremrangebyscore(name, 0, now - self.window_s)
        pipe.zrange(name, -self.limit, -self.limit, withscores=True)
        pipe.zcard(name)
        _, oldest_in_limit, count = await pipe.execute()
        if count < self.limit or not oldest_in_limit:
            return 0
        oldest: float = oldest_in_limit[0][1]
        return max(1, math.ceil(oldest + self.window_s - now))

    async def record_failure(self, key: str) -> None:
        name = self.prefix + key
        now = time.time()
        pipe = self.client.pipeline()
        pipe.zadd(name, {uuid.uuid4().hex: now})
        pipe.expire(name, self.window_s + 1)
        await pipe.execute()

    async def reset(self, key: str) -> None:
        await self.client.delete(self.prefix + key)
