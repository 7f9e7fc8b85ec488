"""With REDIS_URL set: readiness checks Redis, the queue is a Redis Stream, and sign-in
throttling is shared by every server instance."""

from __future__ import annotations

import httpx
import pytest

from server.settings import Settings
from tests.serving import run_server

pytestmark = pytest.mark.redis


async def test_two_instances_share_throttling_and_readiness(
    settings: Settings, redis_url: str
) -> None:
    shared = settings.model_copy(update={"redis_url": redis_url})
    async with run_server(shared) as first, run_server(shared) as second:
        async with (
            httpx.AsyncClient(base_url=first.url) as a,
            httpx.AsyncClient(base_url=second.url) as b,
        ):
            ready = (await a.get("/readyz")).json()
            assert ready["checks"] == {"database": "ok", "redis": "ok"}
            await a.post(
                "/v1/auth/register",
                json={
                    "email": "r@example.org",
                    "password": "redis password",
                    "name": "R",
                    "confirm_age_16": True,
                },
            )
            wrong = {"email": "r@example.org", "password": "not it at all"}
            for index in range(10):
                client = a if index % 2 else b
                assert (await client.post("/v1/auth/login", json=wrong)).status_code == 401
            assert (await a.post("/v1/auth/login", json=wrong)).status_code == 429
            assert (await b.post("/v1/auth/login", json=wrong)).status_code == 429
        from server.services import Services

        services: Services = first.app.state.services
        assert type(services.queue).__name__ == "RedisStreamsQueue"


async def test_two_instances_share_the_registration_throttle(
    settings: Settings, redis_url: str
) -> None:
    shared = settings.model_copy(update={"redis_url": redis_url, "register_rate_limit": 3})
    async with (
        run_server(shared) as first,
        run_server(shared) as second,
        httpx.AsyncClient(base_url=first.url) as a,
        httpx.AsyncClient(base_url=second.url) as b,
    ):
        codes = []
        for index, client in enumerate([a, b, a, b]):
            response = await client.post(
                "/v1/auth/register",
                json={
                    "email": f"r{index}@example.org",
                    "password": "redis password",
                    "name": "R",
                    "confirm_age_16": True,
                },
            )
            codes.append(response.status_code)
        assert codes == [201, 201, 201, 429]
        assert "retry-after" in response.headers
