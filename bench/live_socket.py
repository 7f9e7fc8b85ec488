"""One candidate's live socket for the benchmarks that speak into a real server: what
the server sent, stamped on arrival, and a microphone that sends a 20 ms frame every
20 ms (the clip being said, else silence), as a browser streams without pause."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from bench.audio import FRAME_S, SILENT_FRAME


class Spoken(Protocol):
    def frames(self) -> list[bytes]: ...


@dataclass
class Listener:
    """What the server sent, stamped on arrival: events, and each audio frame's time."""

    events: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    frames: list[float] = field(default_factory=list)  # arrival of each audio frame
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def count(self, kind: str) -> int:
        return sum(1 for _, event in self.events if event.get("type") == kind)

    def first(self, kind: str, after: float) -> tuple[float, dict[str, Any]] | None:
        for at, event in self.events:
            if at >= after and event.get("type") == kind:
                return at, event
        return None

    def candidate_has_floor(self) -> bool:
        """The interviewer has spoken and is not speaking now."""
        ends = self.count("agent_turn_end")
        return ends > 0 and ends == self.count("agent_turn_start")

    async def until(self, check: Callable[[], bool], timeout_s: float) -> bool:
        """Until ``check()`` holds (True) or the connection closed (False)."""
        async with asyncio.timeout(timeout_s):
            while not check():
                if self.closed:
                    return False
                self.changed.clear()
                await self.changed.wait()
        return True


class Microphone:
    """A 20 ms frame every 20 ms: the clip being said, else silence."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[bytes] = []
        self.next = 0
        self.started_at: float | None = None
        self.done = asyncio.Event()

    def say(self, spoken: Spoken) -> None:
        self.frames, self.next, self.started_at = spoken.frames(), 0, None
        self.done.clear()

    async def run(self) -> None:
        start, tick = time.monotonic(), 0
        while True:
            tick += 1
            delay = start + tick * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if self.next < len(self.frames):
                frame = self.frames[self.next]
                self.next += 1
                if self.next == 1:
                    self.started_at = time.monotonic()
                if self.next == len(self.frames):
                    self.done.set()
            else:
                frame = SILENT_FRAME
            try:
                await self.connection.send(frame)
            except ConnectionClosed:
                self.done.set()
                return


async def read(connection: ClientConnection, listener: Listener) -> None:
    try:
        async for message in connection:
            now = time.monotonic()
            if isinstance(message, bytes):
                listener.frames.append(now)
            else:
                listener.events.append((now, json.loads(message)))
            listener.changed.set()
    except ConnectionClosed:
        pass
    finally:
        listener.closed = True
        listener.changed.set()


@contextlib.asynccontextmanager
async def live_session(url: str) -> AsyncIterator[tuple[Listener, Microphone]]:
    """A started live interview at ``url``: what the server sent, and a microphone
    streaming; stopped and closed when the block ends."""
    async with connect(url, max_size=2**20, open_timeout=30, ping_interval=None) as connection:
        listener = Listener()
        reader = asyncio.create_task(read(connection, listener))
        microphone = Microphone(connection)
        sender = asyncio.create_task(microphone.run())
        try:
            await connection.send(json.dumps({"type": "start"}))
            yield listener, microphone
        finally:
            sender.cancel()
            with contextlib.suppress(Exception):
                await connection.send(json.dumps({"type": "stop"}))
            await connection.close()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            await reader
