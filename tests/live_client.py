"""A client of the live protocol for tests and benchmarks: connects, records every event
and the interviewer audio, and lets a test wait for an event."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class LiveClient:
    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.events: list[dict[str, Any]] = []
        self.audio = bytearray()
        self.audio_frames = 0
        self.closed = asyncio.Event()
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        try:
            async for message in self.connection:
                async with self._changed:
                    if isinstance(message, bytes):
                        self.audio.extend(message)
                        self.audio_frames += 1
                    else:
                        self.events.append(json.loads(message))
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            async with self._changed:
                self._changed.notify_all()

    async def send(self, message: dict[str, Any] | bytes) -> None:
        await self.connection.send(message if isinstance(message, bytes) else json.dumps(message))

    def matching(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events
            if event["type"] == kind and all(event.get(k) == v for k, v in fields.items())
        ]

    async def wait_for(
        self, kind: str, count: int = 1, *, within: float = 15, **fields: Any
    ) -> dict[str, Any]:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(
                lambda: len(self.matching(kind, **fields)) >= count or self.closed.is_set()
            )
        found = self.matching(kind, **fields)
        if len(found) < count:
            raise AssertionError(f"connection closed before {kind} #{count}: {self.events}")
        return found[count - 1]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]


@contextlib.asynccontextmanager
async def live(url: str, **options: Any) -> AsyncIterator[LiveClient]:
    async with connect(url, max_size=2**20, **options) as connection:
        client = LiveClient(connection)
        reader = asyncio.create_task(client._read())
        try:
            yield client
        finally:
            await connection.close()
            await reader
