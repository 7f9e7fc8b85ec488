"""Replies begun before the turn is decided (at the end of speech, or at a recognizer's
eager end of turn): their text is kept, unspoken, until the turn is taken on exactly the
words a reply was begun on; any other words discard it, its LLM stream closed."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from pipeline.interviewer.types import Instruction, InterviewerError
from pipeline.plan import PlanCursor


@dataclass
class Speculation:
    """A reply begun before the turn was decided: its text is kept here, unspoken."""

    answer: str  # the words it answers
    plan: PlanCursor  # the plan as it will be once this reply is given
    instruction: Instruction
    started_at: float
    deltas: list[str] = field(default_factory=list)
    first_token_at: float | None = None
    done: bool = False
    failure: InterviewerError | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    async def pull(self, stream: AsyncIterator[str], clock: Callable[[], float]) -> None:
        try:
            async for delta in stream:
                if self.first_token_at is None:
                    self.first_token_at = clock()
                self.deltas.append(delta)
                self.changed.set()
        except InterviewerError as failure:
            self.failure = failure
        finally:
            self.done = True
            self.changed.set()
            closing = getattr(stream, "aclose", None)
            if closing is not None:
                with contextlib.suppress(Exception):
                    await closing()  # the LLM stream closes at once when cancelled

    async def text(self) -> AsyncIterator[str]:
        """The reply's deltas: those already received, then the rest as they come."""
        taken = 0
        while True:
            if taken < len(self.deltas):
                taken += 1
                yield self.deltas[taken - 1]
                continue
            if self.done:
                break
            self.changed.clear()
            await self.changed.wait()
        if self.failure is not None:
            raise self.failure

    def cancel(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()


class Speculations:
    """The one reply begun for the answer being heard, and what became of those before it
    (for the reply's metrics)."""

    def __init__(self) -> None:
        self.current: Speculation | None = None
        self.started = 0  # for the answer being heard
        self.discarded = 0

    def begun_on(self, answer: str) -> bool:
        return self.current is not None and self.current.answer == " ".join(answer.split())

    def begun(self, speculation: Speculation) -> None:
        self.discard()
        self.current = speculation
        self.started += 1

    def discard(self) -> None:
        speculation, self.current = self.current, None
        if speculation is not None:
            speculation.cancel()
            self.discarded += 1

    def take(self, answer: str) -> Speculation | None:
        """The reply begun on exactly ``answer``, taken; any other is discarded."""
        if answer.strip() and self.begun_on(answer):
            taken, self.current = self.current, None
            return taken
        self.discard()
        return None

    def metrics(self, used: Speculation | None, decided_at: float) -> dict[str, float]:
        """The reply's ``speculative_*`` metrics; the counts start again for the next answer."""
        values = {
            "speculative_started": float(self.started),
            "speculative_used": 1.0 if used is not None else 0.0,
            "speculative_discarded": float(self.discarded),
        }
        if used is not None:
            # The LLM time that overlapped the wait instead of following it.
            overlapped_until = min(decided_at, used.first_token_at or decided_at)
            values["speculative_saved_ms"] = round((overlapped_until - used.started_at) * 1000, 2)
        self.started = self.discarded = 0
        return values
