"""Serve an ASGI app under uvicorn on 127.0.0.1 and a free port, in the test's own loop.

The one launcher for the fakes and for the application (``tests.serving.run_server``). It
imports nothing of ours, so a fake can use it without loading the server.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.types import ASGIApp


@dataclass(frozen=True)
class Listening:
    url: str
    port: int
    server: uvicorn.Server


@contextlib.asynccontextmanager
async def serve(
    app: ASGIApp, *, start_timeout_s: float = 10.0, **options: Any
) -> AsyncIterator[Listening]:
    """Serves ``app`` until the block ends; ``options`` go to ``uvicorn.Config``."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, log_config=None, access_log=False, **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(start_timeout_s):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("the server stopped during start-up")
                await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield Listening(url=f"http://127.0.0.1:{port}", port=port, server=server)
    finally:
        server.should_exit = True
        await task


@contextlib.asynccontextmanager
async def serve_app(app: ASGIApp, **options: Any) -> AsyncIterator[str]:
    """A fake's app: yields its URL. No lifespan, and at most 5 s for connections to close."""
    options.setdefault("lifespan", "off")
    options.setdefault("timeout_graceful_shutdown", 5)
    async with serve(app, **options) as listening:
        yield listening.url
