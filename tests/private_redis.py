"""A redis-server a test owns and may stop, kill and start again on the same port and
directory (the shared one is never restarted)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import redis.asyncio as aioredis

from tests.conftest import service_missing
from tests.polling import eventually


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PrivateRedis:
    """A redis-server this test owns, in ``directory``, restartable on the same port."""

    def __init__(self, directory: Path, *, appendonly: bool, fsync: str = "everysec") -> None:
        self.directory = directory
        self.appendonly = appendonly
        self.fsync = fsync
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        """Start the server; returns at once, before it accepts connections."""
        binary = shutil.which("redis-server")
        if binary is None:
            service_missing("redis-server", FileNotFoundError("redis-server is not on PATH"))
        self._process = await asyncio.create_subprocess_exec(
            str(binary), "--port", str(self.port), "--bind", "127.0.0.1",
            "--save", "", "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", self.fsync, "--dir", str(self.directory),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    async def answering(self) -> None:
        client = aioredis.from_url(self.url)
        try:

            async def ping() -> bool:
                with contextlib.suppress(aioredis.ConnectionError, OSError):
                    return bool(await client.ping())
                return False

            await eventually(ping, bool)
        finally:
            await client.aclose()

    async def stop(self) -> None:
        """A clean shutdown (SIGTERM): Redis writes and syncs its AOF before it exits."""
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            await self._process.wait()

    async def kill(self) -> None:
        """A crash (SIGKILL): only what Redis had written to its AOF survives."""
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()


@contextlib.asynccontextmanager
async def private_redis(
    directory: Path, *, appendonly: bool, fsync: str = "everysec"
) -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis(directory, appendonly=appendonly, fsync=fsync)
    await server.start()
    try:
        await server.answering()
        yield server
    finally:
        await server.kill()
