"""Start the real application on 127.0.0.1 and a free port, through the fakes' launcher."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from server.app import create_app
from server.live import MAX_FRAME_BYTES
from server.providers import ProviderSet
from server.settings import Settings
from tests.fakes.serving import serve


@dataclass
class RunningServer:
    url: str
    port: int
    app: Starlette
    settings: Settings
    server: uvicorn.Server

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


@contextlib.asynccontextmanager
async def run_server(
    settings: Settings, *, providers: ProviderSet | None = None
) -> AsyncIterator[RunningServer]:
    app = create_app(settings, providers=providers)
    async with serve(
        app,
        start_timeout_s=15,
        lifespan="on",
        ws="websockets-sansio",
        ws_max_size=MAX_FRAME_BYTES,
        # PCM audio does not compress: deflate would only burn CPU on every frame.
        ws_per_message_deflate=False,
    ) as listening:
        yield RunningServer(
            url=listening.url,
            port=listening.port,
            app=app,
            settings=settings,
            server=listening.server,
        )
