"""What a job is, what a handler is, and the interface every queue implements."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Job:
    """One delivery of a job to a handler."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempt: int  # 1 for the first delivery; a redelivery after a crash counts too
    user_id: str | None


Handler = Callable[[Job], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A job that failed ``attempts`` times and will not be tried again."""

    id: str
    kind: str
    payload: dict[str, Any]
    attempts: int
    last_error: str
    died_at: datetime
    user_id: str | None = None


class JobQueue(Protocol):
    """A durable queue with at-least-once delivery: handlers must be idempotent.

    A handler that raises is retried with exponential backoff; after ``max_attempts``
    failed (or abandoned) deliveries the job becomes a dead letter. A job of a kind with no
    handler fails like any other, so it ends among the dead letters instead of stopping
    the worker.
    """

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        idempotency_key: str | None = None,
        user_id: str | None = None,
    ) -> str:
        """Add a job; returns its id. A repeated ``idempotency_key`` returns the first id
        and adds nothing."""
        ...

    async def run_worker(
        self, handlers: Mapping[str, Handler], *, consumer: str, stop: asyncio.Event
    ) -> None:
        """Consume jobs until ``stop`` is set. ``consumer`` names this worker, uniquely.

        Returns within about one poll interval of ``stop`` when idle; a handler already
        running is allowed to finish first."""
        ...

    async def process_available(self, handlers: Mapping[str, Handler], *, consumer: str) -> int:
        """Handle every job that is ready now, without waiting; returns the number of
        deliveries handled (successes, failures and dead-letterings alike)."""
        ...

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """The most recent dead letters, newest first."""
        ...

    async def retry_dead_letter(self, job_id: str) -> bool:
        """Queue a dead letter again, its attempts counted from zero (an operator fixed
        what made it fail); False when there is no dead letter with this id."""
        ...

    async def purge_dead_letters(self, before: datetime) -> int:
        """Erase the dead letters that died before ``before`` (they may hold personal
        data, so they are kept only for a while); returns how many."""
        ...

    async def drop_user_jobs(self, user_id: str) -> int:
        """Forget a deleted account's jobs: its pending jobs will not run, and its dead
        letters are erased. Returns the number of pending jobs dropped."""
        ...

    async def pending_count(self) -> int:
        """Jobs that have not finished: waiting, running or waiting for a retry."""
        ...

    async def ping(self) -> None:
        """Raise if the queue's store does not answer."""
        ...

    async def close(self) -> None: ...
