"""Failed sign-in and registration throttling, in memory and shared through real Redis."""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio as aioredis

from server.auth.ratelimit import (
    FailureLimiter,
    MemoryFailureLimiter,
    RedisFailureLimiter,
    limiter_key,
)
from storage.audit import AuditRepository
from storage.users import UserRepository
from tests.server.test_auth import PASSWORD
from tests.serving import RunningServer


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


async def _register(http: httpx.AsyncClient, email: str) -> httpx.Response:
    return await http.post(
        "/v1/auth/register",
        json={"email": email, "password": PASSWORD, "name": "R", "confirm_age_16": True},
    )


async def test_registrations_are_throttled_per_ip_before_any_account_is_made(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    svc = server.app.state.services
    assert svc.settings.register_rate_limit == 5  # the default
    for index in range(5):
        assert (await _register(client, f"r{index}@example.org")).status_code == 201
    refused = await _register(client, "sixth@example.org")
    assert refused.status_code == 429, refused.text
    wait = int(refused.headers["retry-after"])
    assert 1 <= wait <= svc.settings.login_rate_window_s
    error = refused.json()["error"]
    assert error["code"] == "too_many_registrations" and f"{wait} seconds" in error["message"]
    # Refused before the password was hashed and the account stored: nothing of it exists.
    assert await UserRepository(svc.db).get_by_email("sixth@example.org") is None
    assert len(await AuditRepository(svc.db).list_by_action("auth.register")) == 5
    # Attempts that fail count too (here: an address already taken).
    assert (await _register(client, "r0@example.org")).status_code == 429
    # Signing in is throttled apart: it still works.
    signed_in = await client.post(
        "/v1/auth/login", json={"email": "r0@example.org", "password": PASSWORD}
    )
    assert signed_in.status_code == 200


async def test_the_registration_window_is_per_address(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    limiter = server.app.state.services.register_limiter
    for _ in range(5):
        await limiter.record_failure(limiter_key("ip", "203.0.113.7"))
    assert (await _register(client, "still@example.org")).status_code == 201
