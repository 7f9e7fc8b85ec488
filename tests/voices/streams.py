"""Reading a speech stream's events in the background, so a test can wait on them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Generic, Protocol, TypeVar

from voices.types import RecognitionEvent, SynthesisEvent, Transcript

E = TypeVar("E")
E_co = TypeVar("E_co", covariant=True)
C = TypeVar("C", bound="Collected[Any]")


class _Stream(Protocol[E_co]):
    def events(self) -> AsyncIterator[E_co]: ...


class Collected(Generic[E]):
    """Every event of ``stream`` as it arrives; ``until`` waits for a condition."""

    def __init__(self, stream: _Stream[E]) -> None:
        self.events: list[E] = []
        self.ended = False
        self._changed = asyncio.Condition()
        self._reader = asyncio.create_task(self._read(stream))

    async def _read(self, stream: _Stream[E]) -> None:
        try:
            async for event in stream.events():
                async with self._changed:
                    self.events.append(event)
                    self._changed.notify_all()
        finally:
            async with self._changed:
                self.ended = True
                self._changed.notify_all()

    async def until(self: C, done: Callable[[C], bool], within: float = 30.0) -> None:
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: done(self))

    async def stop(self) -> None:
        self._reader.cancel()
        await asyncio.wait({self._reader})

    def of(self, kind: type[Any]) -> list[Any]:
        return [e for e in self.events if isinstance(e, kind)]

    def count(self, kind: type[Any]) -> int:
        return len(self.of(kind))


class Heard(Collected[RecognitionEvent]):
    """What a recognition stream said."""

    @property
    def finals(self) -> list[Transcript]:
        return [e for e in self.of(Transcript) if e.is_final]

    @property
    def worded_finals(self) -> list[Transcript]:
        """Final transcripts with words in them (Deepgram also sends empty ones)."""
        return [e for e in self.finals if e.text]

    @property
    def interims(self) -> list[Transcript]:
        return [e for e in self.of(Transcript) if not e.is_final]


class Played(Collected[SynthesisEvent]):
    """What a synthesis stream produced."""
