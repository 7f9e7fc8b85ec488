"""Audio a recognizer was sent but has not passed on yet, with its control marks.

Both recognizers queue what ``send`` gets without waiting, and a worker drains the queue in
order. The queue is bounded in bytes (``buffer_s`` of audio): a stalled worker must not hold
a whole interview in memory, and the oldest audio is the least useful once speech is late.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

from voices.events import EventQueue
from voices.types import SAMPLE_WIDTH, RecognitionEvent, SpeechError

A = TypeVar("A")


class Control(enum.Enum):
    FINALIZE = "finalize"
    CLOSE = "close"


class PendingAudio(Generic[A]):
    """A FIFO of audio items (of ``size`` bytes each) and ``Control`` marks; ``wake`` is set
    whenever something is added. Past ``max_bytes`` the oldest audio goes, and ``log`` warns
    once until the worker reports the queue drained."""

    def __init__(
        self,
        *,
        max_bytes: int,
        sample_rate: int,
        size: Callable[[A], int],
        log: logging.Logger,
        what: str,
    ) -> None:
        self.wake = asyncio.Event()
        self.bytes = 0
        self._items: deque[A | Control] = deque()
        self._max_bytes = max_bytes
        self._sample_rate = sample_rate
        self._size = size
        self._log = log
        self._what = what  # the audio's state in the warning: "unsent", "unprocessed"
        self._dropping = False  # warned about dropping, until the queue drains

    def __bool__(self) -> bool:
        return bool(self._items)

    def put(self, audio: A) -> None:
        self._items.append(audio)
        self.bytes += self._size(audio)
        if self.bytes > self._max_bytes:
            self._drop_oldest()
        self.wake.set()

    def mark(self, control: Control) -> None:
        self._items.append(control)
        self.wake.set()

    def first(self) -> A | Control:
        return self._items[0]

    def first_audio(self) -> A | None:
        return next((item for item in self._items if not isinstance(item, Control)), None)

    def pop(self) -> A | Control:
        item = self._items.popleft()
        if not isinstance(item, Control):
            self.bytes -= self._size(item)
        return item

    def drained(self) -> None:
        self._dropping = False

    def _drop_oldest(self) -> None:
        dropped = 0
        while self.bytes > self._max_bytes:
            oldest = self.first_audio()
            assert oldest is not None  # over the bound means some audio is queued
            self._items.remove(oldest)
            self.bytes -= self._size(oldest)
            dropped += self._size(oldest) // SAMPLE_WIDTH
        if not self._dropping:
            self._dropping = True
            self._log.warning(
                f"speech recognition is behind: dropping the oldest {self._what} audio",
                extra={"dropped_s": round(dropped / self._sample_rate, 3)},
            )


class RecognitionEvents:
    """The part of a recognition stream both recognizers share: the bounded queue of
    events its reader iterates, and whether the stream still takes input."""

    def __init__(self, events_max: int) -> None:
        self._events: EventQueue[RecognitionEvent] = EventQueue(events_max)
        self._closing = False

    @property
    def _accepting(self) -> bool:
        return not (self._closing or self._events.ended)

    def events(self) -> AsyncIterator[RecognitionEvent]:
        return aiter(self._events)

    async def _emit(self, event: RecognitionEvent) -> None:
        await self._events.put(event)

    async def _stop_working(self) -> None:
        """The recognizer failed for good: say so in the stream, then end it."""
        await self._emit(
            SpeechError(
                "stt_unavailable",
                "speech recognition stopped working; please type your answers",
                fatal=True,
            )
        )
        self._events.end()
