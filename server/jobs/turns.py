"""Finalized interview turns leave the live loop through here.

``submit`` never waits: it puts the turn on a bounded in-memory queue. A pump task moves
each turn onto the durable job queue, whose worker writes it to the database; the
metrics of the reply to it follow as a job of their own (``METRICS_JOB_KIND``). The live
session therefore never awaits the database or a disk write.

When the queue's store (the database outbox, or Redis) is down, the pump keeps the turn it
holds and tries again with back-off until the store answers, however long that takes; the
turns finalized meanwhile wait behind it in the buffer, and only a full buffer drops one.
At shutdown it goes on trying for ``stop_timeout_s`` at most, then says how many turns it
could not queue.
"""

from __future__ import annotations

import asyncio
import logging

from pipeline.session import FinalizedTurn
from storage.interviews import turn_to_json
from storage.queue import Backoff, JobQueue

log = logging.getLogger("intrvuer.turns")

JOB_KIND = "interview.turn"
# The metrics of the reply to a turn queued before (the turn goes as soon as it is answered).
METRICS_JOB_KIND = "interview.turn_metrics"

# While the store stays down, one error line per this many failed tries (at the longest
# wait, one a minute) instead of one per try.
_LOG_EVERY_TRIES = 12
# From 0.2 s, doubling up to 5 s; no jitter, as one writer per process retries alone.
_RETRY = Backoff(base_s=0.2, max_s=5.0, jitter=0.0)


class TurnWriter:
    def __init__(
        self,
        queue: JobQueue,
        *,
        capacity: int = 10_000,
        stop_timeout_s: float = 30.0,
        retry: Backoff = _RETRY,
    ) -> None:
        """Waits between tries while the store is down follow ``retry``: a store that is
        back gets the turns within its longest wait, without a tight loop against one that
        is not."""
        self.queue = queue
        self._pending: asyncio.Queue[FinalizedTurn] = asyncio.Queue(capacity)
        self._stop_timeout_s = stop_timeout_s
        self._retry = retry
        # Turns that never reached the queue: the buffer was full, or the store was still
        # down when the server stopped.
        self.dropped = 0

    def submit(self, turn: FinalizedTurn) -> None:
        try:
            self._pending.put_nowait(turn)
        except asyncio.QueueFull:
            # Only reachable if the store has been unreachable for a long time.
            self.dropped += 1
            log.error(
                "turn buffer full; a finalized turn was dropped",
                extra={"interview_id": turn.record.interview_id, "turn": turn.record.turn},
            )

    @property
    def held(self) -> int:
        """Turns in the buffer, besides the one being queued."""
        return self._pending.qsize()

    async def run(self, stop: asyncio.Event) -> None:
        """Move turns to the durable queue until ``stop``; then drain what is left, for
        ``stop_timeout_s`` at most."""
        while not (stop.is_set() and self._pending.empty()):
            getter = asyncio.ensure_future(self._pending.get())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            if not getter.done():
                getter.cancel()
                continue
            if not await self._enqueue(getter.result(), stop):
                self._give_up()
                return

    async def _enqueue(self, turn: FinalizedTurn, stop: asyncio.Event) -> bool:
        """Queue ``turn``, trying until the store answers; False only when the server is
        stopping and ``stop_timeout_s`` passed first."""
        record = turn.record
        if turn.metrics_only:
            kind, key = METRICS_JOB_KIND, f"turn-metrics:{record.interview_id}:{record.turn}"
            payload = {
                "interview_id": record.interview_id,
                "turn": record.turn,
                "metrics": record.metrics,
            }
        else:
            kind, key = JOB_KIND, f"turn:{record.interview_id}:{record.turn}"
            payload = turn_to_json(record)
        loop = asyncio.get_running_loop()
        failed = 0
        first_failure = 0.0
        stop_deadline: float | None = None
        while True:
            try:
                await self.queue.enqueue(kind, payload, idempotency_key=key, user_id=turn.user_id)
            except Exception as error:  # the queue's store is down: keep the turn, retry
                failed += 1
                now = loop.time()
                if failed == 1:
                    first_failure = now
                retry_in_s = self._retry.delay_s(failed)
                if failed == 1 or failed % _LOG_EVERY_TRIES == 0:
                    log.error(
                        "could not queue a finalized turn; it is kept and retried until "
                        "the queue's store answers",
                        extra={
                            "interview_id": record.interview_id,
                            "turn": record.turn,
                            "error_type": type(error).__name__,
                            "failed_tries": failed,
                            "down_for_s": round(now - first_failure, 1),
                            "turns_waiting": self.held + 1,
                            "retry_in_s": round(retry_in_s, 2),
                        },
                    )
                if stop.is_set():
                    if stop_deadline is None:
                        stop_deadline = now + self._stop_timeout_s
                    if now >= stop_deadline:
                        return False
                    retry_in_s = min(retry_in_s, stop_deadline - now)
                await asyncio.sleep(retry_in_s)
                continue
            if failed:
                log.warning(
                    "queued a finalized turn after its store came back",
                    extra={
                        "interview_id": record.interview_id,
                        "turn": record.turn,
                        "failed_tries": failed,
                        "down_for_s": round(loop.time() - first_failure, 1),
                    },
                )
            return True

    def _give_up(self) -> None:
        lost = self.held + 1  # and the one whose tries ran out
        while not self._pending.empty():
            self._pending.get_nowait()
        self.dropped += lost
        log.error(
            "stopped with finalized turns the queue's store never took; they are lost",
            extra={"turns_lost": lost, "stop_timeout_s": self._stop_timeout_s},
        )
