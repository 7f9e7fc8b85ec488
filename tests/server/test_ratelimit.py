"""Failed sign-in throttling, in memory and shared through real Redis."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from server.auth.ratelimit import (
    FailureLimiter,
    MemoryFailureLimiter,
    RedisFailureLimiter,
    limiter_key,
)


async def _blocks_after_limit_and_resets(limiter: FailureLimiter) -> None:
    key = limiter_key("email", "A@Example.org")
    for _ in range(3):
        assert await limiter.retry_after(key) == 0
        await limiter.record_failure(key)
    wait = await limiter.retry_after(key)
    assert 1 <= wait <= 60
    assert await limiter.retry_after(limiter_key("email", "other@example.org")) == 0
    await limiter.reset(key)
    assert await limiter.retry_after(key) == 0


async def test_memory_limiter_blocks_after_limit_and_resets() -> None:
    await _blocks_after_limit_and_resets(MemoryFailureLimiter(limit=3, window_s=60))


@pytest.mark.redis
async def test_redis_limiter_blocks_after_limit_and_resets(redis_url: str) -> None:
    client = aioredis.from_url(redis_url)
    try:
        await _blocks_after_limit_and_resets(RedisFailureLimiter(client, limit=3, window_s=60))
    finally:
        await client.aclose()


async def test_keys_hold_no_personal_data() -> None:
    key = limiter_key("email", "someone@example.org")
    assert "someone" not in key and key.startswith("email:")
    assert key == limiter_key("email", " SomeOne@example.org ")


async def test_window_slides(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("server.auth.ratelimit.time.monotonic", lambda: clock[0])
    limiter = MemoryFailureLimiter(limit=2, window_s=60)
    await limiter.record_failure("k")
    clock[0] += 30
    await limiter.record_failure("k")
    assert await limiter.retry_after("k") == 30
    clock[0] += 31
    assert await limiter.retry_after("k") == 0
