"""The skeleton both synthesis streams share: text gathered by ``speak``, one job per
``flush``, and a generation counter that ``clear`` bumps so that every older job and every
event it would still produce is void. The subclass builds a job from the flushed texts and
runs a worker that takes jobs from ``_jobs`` and hands events to ``_emit_at``."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Generic, TypeVar

from voices.types import SynthesisEvent

J = TypeVar("J")
T = TypeVar("T")


class JobStream(Generic[J]):
    def __init__(self, *, jobs_max: int, events_max: int) -> None:
        self._texts: list[str] = []
        # Bounded both ways: a full ``_jobs`` makes ``flush`` wait, a full ``_events``
        # makes synthesis wait for the reader.
        self._jobs: asyncio.Queue[J] = asyncio.Queue(jobs_max)
        self._events: asyncio.Queue[tuple[int, SynthesisEvent] | None] = asyncio.Queue(events_max)
        self._generation = 0  # bumped by clear(): older jobs and their events are void
        self._closed = False

    def _job(self, generation: int, texts: list[str]) -> J:
        raise NotImplementedError

    async def speak(self, text: str) -> None:
        """Add text; nothing is synthesized before ``flush``."""
        if text and not self._closed:
            self._texts.append(text)

    async def flush(self) -> None:
        """Synthesize the text given since the last flush; its audio is followed by
        exactly one ``SynthesisDone`` (or a ``SpeechError``), unless it is cleared."""
        if self._closed:
            return
        job = self._job(self._generation, self._texts)
        self._texts = []
        await self._jobs.put(job)

    def warm(self) -> None:
        """Nothing to open, unless the voice is reached over a connection (it overrides)."""

    def _void_pending(self) -> bool:
        """The start of every ``clear``: forget the text, jobs and events not yet delivered.
        False when the stream is closed and there is nothing to clear."""
        if self._closed:
            return False
        self._generation += 1
        self._texts = []
        drain(self._jobs)
        drain(self._events)
        return True

    def events(self) -> AsyncIterator[SynthesisEvent]:
        return self._iterate_events()

    async def _iterate_events(self) -> AsyncIterator[SynthesisEvent]:
        while (item := await self._events.get()) is not None:
            generation, event = item
            if generation == self._generation:
                yield event

    async def _emit_at(self, generation: int, event: SynthesisEvent) -> bool:
        """Deliver ``event`` of a job of ``generation``; False when the job was cleared."""
        if generation != self._generation:
            return False
        await self._events.put((generation, event))
        return True

    def _end_events(self) -> None:
        """The end of ``close``: undelivered events go, and the reader's iteration ends."""
        drain(self._events)
        self._events.put_nowait(None)


def drain(queue: asyncio.Queue[T]) -> None:
    while not queue.empty():
        queue.get_nowait()
