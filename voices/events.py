"""The bounded queue between a speech adapter and the reader of its events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

E = TypeVar("E")


class EventQueue(Generic[E]):
    """Events in order, then an end that always gets through: a reader that stopped
    reading loses its oldest event, not the end."""

    def __init__(self, maxsize: int) -> None:
        self._queue: asyncio.Queue[E | None] = asyncio.Queue(maxsize)
        self.ended = False

    async def put(self, event: E) -> None:
        """Waits while the queue is full (the reader is behind)."""
        await self._queue.put(event)

    def end(self) -> None:
        if self.ended:
            return
        self.ended = True
        if self._queue.full():  # nobody is reading: make room for the end marker
            self._queue.get_nowait()
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[E]:
        while (event := await self._queue.get()) is not None:
            yield event
