"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api import ApiRouter
from server.context import services

router = ApiRouter(tags=["health"])

# Longer than a Redis command's reconnect retries take to succeed after a restart (well
# under a second), shorter than a load balancer's check timeout.
_PROBE_TIMEOUT_S = 2.0


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    checks: dict[str, str]


@router.get("/healthz", response=Health, auth=False)
async def healthz(request: Request) -> Health:
    """The process is up."""
    return Health(status="ok")


@router.get("/readyz", response=Readiness, auth=False, extra_responses={503: "Not ready"})
async def readyz(request: Request) -> JSONResponse:
    """The database (and Redis, when configured) answer: 503 while one does not, for
    instance while it restarts, and 200 again once it is back. 503 too while the instance
    drains (``"drain": "draining"``): it takes no new live session."""
    svc = services(request)
    checks: dict[str, str] = {}
    if request.app.state.drain.draining:
        checks["drain"] = "draining"

    async def check(name: str, *probes: Callable[[], Awaitable[object]]) -> None:
        try:
            async with asyncio.timeout(_PROBE_TIMEOUT_S):
                for probe in probes:
                    await probe()
            checks[name] = "ok"
        except Exception as error:  # any failure means "not ready"; the class name says why
            checks[name] = f"error: {error.__class__.__name__}"

    await check("database", svc.db.ping)
    if svc.redis is not None:
        # Both clients: the queue's (enqueues from requests) and the shared one
        # (throttling); each has its own connections to lose in a Redis restart.
        await check("redis", svc.redis.ping, svc.queue.ping)
    ready = all(value == "ok" for value in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
