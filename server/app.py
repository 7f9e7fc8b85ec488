"""The Starlette application: routes, middleware, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Final

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from server import conclusion, live, privacy
from server.api import ApiRouter, openapi_document
from server.auth.current import authenticate
from server.drain import Drain
from server.errors import EXCEPTION_HANDLERS, ApiError
from server.jobs import handlers as jobs
from server.middleware import BodyLimitMiddleware, DrainMiddleware, RequestContextMiddleware
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
    policy,
    quizzes,
    reports,
    resumes,
    voices,
)
from server.sentry import init_sentry
from server.services import Services, open_services
from server.settings import Settings

if TYPE_CHECKING:
    from server.supervisor import WorkerSlot

log = logging.getLogger("intrvuer.app")

# Garbage collector thresholds of `intrvuer serve`: young collections every 10,000 net
# allocations (CPython: 700), the middle generation every 5 of them, a full collection
# at most every 50 of those (and only once the long-lived objects grew by a quarter).
GC_THRESHOLDS: Final = (10_000, 5, 50)

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
    policy.router,
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
    await svc.live_metrics.read_queue(svc.queue)
    return svc.live_metrics.response()


def _settle_heap(svc: Services) -> None:
    """Keep full garbage collections short while interviews are live.

    CPython's full collection walks every container object of the process while the event
    loop stands still. After start-up most of them are the imported modules' functions,
    classes and dicts (about 140,000 with the provider SDKs loaded), which live as long as
    the process: walking them took 70 ms on an idle 2-core machine and 150-180 ms with 150
    live sessions, a pause every session in the middle of a turn waits through. So: import
    what live interviews will, then ``gc.freeze()`` everything allocated so far; full
    collections walk only what sessions hold. Frozen objects are still freed by reference
    counting; only a reference cycle among them would never be collected.

    Then the thresholds (``GC_THRESHOLDS``). With CPython's (700, 10, 10), 150 live
    sessions still ran a full collection every 10 s (80-90 ms each, over the sessions'
    own 120,000 objects), because objects that live a few milliseconds (a frame's message
    in a queue) were alive at the frequent young collections and got promoted until a full
    one was due. Young collections every 10,000 allocations let those die young; in the
    same benchmark no full collection ran while sessions were live, and the middle
    generation's collections took 8-34 ms every 8 s.
    """
    warm = getattr(svc.providers, "warm", None)
    if warm is not None:
        warm()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    log.info(
        "heap settled",
        extra={"frozen_objects": gc.get_freeze_count(), "gc_thresholds": GC_THRESHOLDS},
    )


def create_app(
    settings: Settings | None = None,
    *,
    services: Services | None = None,
    providers: ProviderSet | None = None,
    settle_heap: bool = False,
    drain: Drain | None = None,
    worker: WorkerSlot | None = None,
) -> Starlette:
    """Build the application. Tests may supply already-open ``services``, or their own
    speech and interviewer ``providers``. ``settle_heap`` (``intrvuer serve``) freezes
    what start-up allocated out of the garbage collector's way; see ``_settle_heap``.
    ``drain`` is the process's drain state (``DrainingServer`` moves it on); ``worker``
    its place among the workers of ``--workers N``."""
    settings = settings or (services.settings if services else Settings())
    drain = drain or Drain(settings.drain_timeout_s)
    init_sentry(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        svc = services or await open_services(settings)
        if providers is not None:
            svc.providers = providers
        app.state.services = svc
        svc.live_metrics.watch_instance(drain, worker)
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
            background.create_task(conclusion.sweep_periodically(svc, stop), name="interview-sweep")
            if settings.purge_interval_s > 0:
                background.create_task(
                    privacy.purge_periodically(svc.db, settings, stop, queue=svc.queue),
                    name="retention-purge",
                )
            if settle_heap:
                _settle_heap(svc)
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
        Middleware(DrainMiddleware, drain=drain),
        Middleware(
            BodyLimitMiddleware,
            json_limit=settings.max_json_body_bytes,
            upload_limits={"/v1/resumes": resumes.UPLOAD_BODY_LIMIT},
        ),
    ]
    handlers: Any = EXCEPTION_HANDLERS
    app = Starlette(
        routes=routes, middleware=middleware, exception_handlers=handlers, lifespan=lifespan
    )
    app.state.drain = drain
    return app
