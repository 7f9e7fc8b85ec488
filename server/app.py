"""The Starlette application: routes, middleware, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from server import jobs
from server.api import ApiRouter, openapi_document
from server.auth.current import authenticate
from server.errors import EXCEPTION_HANDLERS
from server.middleware import BodyLimitMiddleware, RequestContextMiddleware
from server.routes import auth, health, me, oauth
from server.services import Services, open_services
from server.settings import Settings

log = logging.getLogger("intrvuer.app")

ROUTERS: list[ApiRouter] = [health.router, auth.router, oauth.router, me.router]


def _openapi_route(routers: list[ApiRouter]) -> Route:
    endpoints = [endpoint for router in routers for endpoint in router.endpoints]

    async def openapi(request: Request) -> JSONResponse:
        from importlib.metadata import version

        document = openapi_document(
            endpoints,
            title="Intrvuer API",
            version=version("intrvuer"),
            extra_paths={},
        )
        return JSONResponse(document)

    return Route("/openapi.json", openapi, methods=["GET"])


def create_app(settings: Settings | None = None, *, services: Services | None = None) -> Starlette:
    """Build the application. ``services`` lets tests supply already-open services."""
    settings = settings or (services.settings if services else Settings())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = services or await open_services(settings)
        app.state.services = svc
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as background:
            if settings.queue_inprocess_worker:
                background.create_task(
                    svc.queue.run_worker(
                        jobs.handlers(svc), consumer=jobs.consumer_name("serve"), stop=stop
                    ),
                    name="inprocess-worker",
                )
            try:
                yield
            finally:
                stop.set()
        if services is None:
            await svc.close()

    routes: list[BaseRoute] = [_openapi_route(ROUTERS)]
    for router in ROUTERS:
        routes.extend(router.routes(authenticate))
    if settings.web_dir.is_dir():
        routes.append(
            Mount("/", app=StaticFiles(directory=settings.web_dir, html=True), name="web")
        )

    middleware = [
        Middleware(RequestContextMiddleware, hsts=settings.public_url.startswith("https://")),
        Middleware(BodyLimitMiddleware, json_limit=settings.max_json_body_bytes),
    ]
    handlers: Any = EXCEPTION_HANDLERS
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan
    )
