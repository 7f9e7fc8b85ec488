"""The Starlette application: routes, middleware, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from server import jobs, live, privacy
from server.api import ApiRouter, openapi_document
from server.auth.current import authenticate
from server.errors import EXCEPTION_HANDLERS, ApiError
from server.middleware import BodyLimitMiddleware, RequestContextMiddleware
from server.providers import ProviderSet
from server.routes import (
    account,
    auth,
    feedback,
    health,
    interviews,
    job_descriptions,
    me,
    oauth,
    quizzes,
    reports,
    resumes,
    voices,
)
from server.sentry import init_sentry
from server.services import Services, open_services
from server.settings import Settings

log = logging.getLogger("intrvuer.app")

ROUTERS: list[ApiRouter] = [
    health.router,
    auth.router,
    oauth.router,
    me.router,
    interviews.router,
    resumes.router,
    job_descriptions.router,
    account.router,
    feedback.router,
    reports.router,
    quizzes.router,
    voices.router,
]


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


async def _metrics(request: Request) -> Response:
    """Prometheus metrics; with METRICS_TOKEN set, only for ``Bearer <METRICS_TOKEN>``."""
    svc: Services = request.app.state.services
    expected = svc.settings.metrics_token
    if expected is not None:
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(
            given.encode(), f"Bearer {expected.get_secret_value()}".encode()
        ):
            raise ApiError(401, "not_authenticated", "Metrics need the metrics token.")
    return svc.live_metrics.response()


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    providers: ProviderSet | None = None,
) -> Starlette:
    """Build the application. Tests may supply already-open ``services``, or their own
    speech and interviewer ``providers``."""
    settings = settings or (services.settings if services else Settings())
    init_sentry(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = services or await open_services(settings)
        if providers is not None:
            svc.providers = providers
        app.state.services = svc
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as background:
            background.create_task(svc.turn_writer.run(stop), name="turn-writer")
            if settings.queue_inprocess_worker:
                background.create_task(
                    svc.queue.run_worker(
                        jobs.handlers(svc), consumer=jobs.consumer_name("serve"), stop=stop
                    ),
                    name="inprocess-worker",
                )
            if settings.purge_interval_s > 0:
                background.create_task(
                    privacy.purge_periodically(svc.db, settings, stop), name="retention-purge"
                )
            try:
                yield
            finally:
                stop.set()
        if services is None:
            await svc.close()

    routes: list[BaseRoute] = [_openapi_route(ROUTERS), Route("/metrics", _metrics)]
    for router in ROUTERS:
        routes.extend(router.routes(authenticate))
    routes.extend(live.routes())
    if settings.web_dir.is_dir():
        routes.append(
            Mount("/", app=StaticFiles(directory=settings.web_dir, html=True), name="web")
        )

    middleware = [
        Middleware(RequestContextMiddleware, hsts=settings.public_url.startswith("https://")),
        Middleware(
            BodyLimitMiddleware,
            json_limit=settings.max_json_body_bytes,
            upload_limits={"/v1/resumes": resumes.UPLOAD_BODY_LIMIT},
        ),
    ]
    handlers: Any = EXCEPTION_HANDLERS
    return Starlette(
        routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan
    )
