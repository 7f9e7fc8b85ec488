"""Liveness and readiness probes."""

from __future__ import annotations

import asyncio

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.api import ApiRouter
from server.context import services

router = ApiRouter(tags=["health"])


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
    """The database (and Redis, when configured) answer."""
    svc = services(request)
    checks: dict[str, str] = {}

    async def check(name: str, probe: asyncio.Future[object] | object) -> None:
        try:
            await asyncio.wait_for(probe, timeout=2.0)  # type: ignore[arg-type]
            checks[name] = "ok"
        except Exception as error:  # any failure means "not ready"; the class name says why
            checks[name] = f"error: {error.__class__.__name__}"

    await check("database", svc.db.ping())
    if svc.redis is not None:
        await check("redis", svc.redis.ping())
    ready = all(value == "ok" for value in checks.values())
    body = Readiness(status="ready" if ready else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if ready else 503)
