"""Finalized interview turns leave the live loop through here.

``submit`` never waits: it puts the turn on a bounded in-memory queue. A pump task moves
each turn onto the durable job queue, whose worker writes it to the database. The live
session therefore never awaits the database or a disk write.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict

from pipeline.session import FinalizedTurn
from storage.queue import JobQueue

log = logging.getLogger("intrvuer.turns")

JOB_KIND = "interview.turn"


class TurnWriter:
    def __init__(self, queue: JobQueue, *, capacity: int = 10_000) -> None:
        self.queue = queue
        self._pending: asyncio.Queue[FinalizedTurn] = asyncio.Queue(capacity)
        self.dropped = 0

    def submit(self, turn: FinalizedTurn) -> None:
        try:
            self._pending.put_nowait(turn)
        except asyncio.QueueFull:
            # Only reachable if the database has been unreachable for a long time.
            self.dropped += 1
            log.error(
                "turn buffer full; a finalized turn was dropped",
                extra={"interview_id": turn.record.interview_id, "turn": turn.record.turn},
            )

    async def run(self, stop: asyncio.Event) -> None:
        """Move turns to the durable queue until ``stop``; then drain what is left."""
        while not (stop.is_set() and self._pending.empty()):
            getter = asyncio.ensure_future(self._pending.get())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not getter.done():
                getter.cancel()
                continue
            await self._enqueue(getter.result())

    async def _enqueue(self, turn: FinalizedTurn) -> None:
        record = turn.record
        payload = asdict(record)
        payload["created_at"] = record.created_at.isoformat()
        for attempt in range(5):
            try:
                await self.queue.enqueue(
                    JOB_KIND,
                    payload,
                    idempotency_key=f"turn:{record.interview_id}:{record.turn}",
                    user_id=turn.user_id,
                )
                return
            except Exception:  # the queue's store is down: retry, then keep going
                log.exception("could not enqueue a finalized turn", extra={"attempt": attempt})
                await asyncio.sleep(0.5 * 2**attempt)

    async def drain(self) -> None:
        while not self._pending.empty():
            await self._enqueue(self._pending.get_nowait())
