"""Start the real application under uvicorn on 127.0.0.1 and a free port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from server.app import create_app
from server.live import MAX_FRAME_BYTES
from server.providers import ProviderSet
from server.settings import Settings


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
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        log_config=None,
        access_log=False,
        lifespan="on",
        ws="websockets-sansio",
        ws_max_size=MAX_FRAME_BYTES,
        # PCM audio does not compress: deflate would only burn CPU on every frame.
        ws_per_message_deflate=False,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(15):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("server stopped during start-up")
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield RunningServer(
            url=f"http://127.0.0.1:{port}", port=port, app=app, settings=settings, server=server
        )
    finally:
        server.should_exit = True
        await task
