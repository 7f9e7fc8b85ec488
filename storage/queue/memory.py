"""An in-process queue for unit tests: the same contract, no durability.

Jobs live in a dict and die with the process, so nothing ever needs a lease: a job being
handled is simply marked as running.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Unpack

from storage._util import new_id, utcnow
from storage.queue._delivery import PollingQueue, abandoned_error, deliver, log, wait_for_any
from storage.queue.types import Backoff, DeadLetter, EnqueueOptions, Handler, Job, KindLag


@dataclass(slots=True)
class _Entry:
    id: str
    kind: str
    payload: dict[str, Any]
    user_id: str | None
    attempts: int = 0
    due: float = 0.0  # time.monotonic() at which it may run
    running: bool = False
    queued_at: float = field(default_factory=time.monotonic)


async def _always_leased() -> bool:
    return True


class MemoryQueue(PollingQueue):
    """A ``JobQueue`` in memory; for tests and throwaway runs only."""

    def __init__(
        self,
        *,
        max_attempts: int = 5,
        poll_interval_s: float = 0.5,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(
            max_attempts=max_attempts, poll_interval_s=poll_interval_s, backoff=backoff
        )
        self._pending: dict[str, _Entry] = {}  # insertion order is delivery order
        self._by_key: dict[str, str] = {}
        self._dead: list[DeadLetter] = []
        self._enqueued = asyncio.Event()

    async def enqueue(
        self, kind: str, payload: dict[str, Any], **options: Unpack[EnqueueOptions]
    ) -> str:
        idempotency_key = options.get("idempotency_key")
        if idempotency_key is not None and idempotency_key in self._by_key:
            return self._by_key[idempotency_key]
        job_id = new_id()
        # A copy, as a store would keep: later changes by the caller must not leak in.
        self._pending[job_id] = _Entry(job_id, kind, dict(payload), options.get("user_id"))
        if idempotency_key is not None:
            self._by_key[idempotency_key] = job_id
        self._enqueued.set()
        return job_id

    async def _deliver_next(
        self, handlers: Mapping[str, Handler], consumer: str, stop: asyncio.Event | None
    ) -> bool:
        self._enqueued.clear()
        now = time.monotonic()
        entry = next((e for e in self._pending.values() if not e.running and e.due <= now), None)
        if entry is None:
            if stop is not None:
                await wait_for_any([stop, self._enqueued], self.poll_interval_s)
            return False
        entry.running = True
        entry.attempts += 1
        if entry.attempts > self._max_attempts:
            # Earlier deliveries were cancelled before finishing, as a crash would leave them.
            self._bury(entry, abandoned_error(entry.attempts - 1, None))
            return True
        job = Job(entry.id, entry.kind, dict(entry.payload), entry.attempts, entry.user_id)
        try:
            error = await deliver(
                job, handlers, heartbeat=_always_leased, heartbeat_interval_s=3600.0
            )
        finally:
            entry.running = False
        if entry.id not in self._pending:  # dropped while it ran
            return True
        if error is None:
            del self._pending[entry.id]
        elif entry.attempts >= self._max_attempts:
            self._bury(entry, error)
        else:
            entry.due = time.monotonic() + self._backoff.delay_s(entry.attempts)
        return True

    def _bury(self, entry: _Entry, error: str) -> None:
        del self._pending[entry.id]
        attempts = min(entry.attempts, self._max_attempts)
        letter = DeadLetter(
            entry.id, entry.kind, entry.payload, attempts, error, utcnow(), entry.user_id
        )
        self._dead.append(letter)
        log.error("job dead-lettered", extra={"job_id": entry.id, "kind": entry.kind})

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        return list(reversed(self._dead))[:limit]

    async def retry_dead_letter(self, job_id: str) -> bool:
        letter = next((letter for letter in self._dead if letter.id == job_id), None)
        if letter is None:
            return False
        self._dead.remove(letter)
        self._pending[job_id] = _Entry(job_id, letter.kind, dict(letter.payload), letter.user_id)
        self._enqueued.set()
        return True

    async def purge_dead_letters(self, before: datetime) -> int:
        kept = [letter for letter in self._dead if letter.died_at >= before]
        purged = len(self._dead) - len(kept)
        self._dead = kept
        return purged

    async def drop_user_jobs(self, user_id: str) -> int:
        dropped = [job_id for job_id, e in self._pending.items() if e.user_id == user_id]
        for job_id in dropped:
            del self._pending[job_id]
        self._dead = [letter for letter in self._dead if letter.user_id != user_id]
        return len(dropped)

    async def pending_count(self) -> int:
        return len(self._pending)

    async def unfinished(self, kind: str, user_id: str) -> list[dict[str, Any]]:
        return [
            dict(entry.payload)
            for entry in self._pending.values()
            if entry.kind == kind and entry.user_id == user_id
        ]

    async def lag(self) -> list[KindLag]:
        now = time.monotonic()
        oldest: dict[str, float] = {}
        counts: dict[str, int] = {}
        for entry in self._pending.values():
            counts[entry.kind] = counts.get(entry.kind, 0) + 1
            oldest[entry.kind] = min(oldest.get(entry.kind, now), entry.queued_at)
        return [KindLag(kind, counts[kind], now - oldest[kind]) for kind in sorted(counts)]

    async def ping(self) -> None:
        """Always answers."""

    async def close(self) -> None:
        """Nothing to release."""
