"""What a job is, what a handler is, and the interface every queue implements."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypedDict, Unpack, runtime_checkable


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


@dataclass(frozen=True, slots=True)
class KindLag:
    """How far the workers are behind on one kind of job."""

    kind: str
    pending: int  # not finished: waiting, running or waiting for a retry
    oldest_age_s: float  # since the oldest of them was queued (0 when none waits)


@runtime_checkable
class LagReporting(Protocol):
    """A queue that can say how far behind its workers are, per job kind (for autoscaling
    on ``/metrics``). Apart from ``JobQueue``: wrappers of a queue need not offer it."""

    async def lag(self) -> list[KindLag]:
        """One ``KindLag`` per kind with unfinished jobs, sorted by kind."""
        ...


class EnqueueOptions(TypedDict, total=False):
    """What ``JobQueue.enqueue`` takes besides the kind and the payload; both default to None."""

    # A repeated key returns the first job's id and adds nothing.
    idempotency_key: str | None
    # The account the job belongs to: its jobs are dropped when it is deleted.
    user_id: str | None


@dataclass(frozen=True, slots=True)
class Backoff:
    """Delay before retrying a failed job: ``base_s * 2**(attempt-1)``, at most ``max_s``,
    spread by ``±jitter`` so that jobs failing together do not retry together."""

    base_s: float = 1.0
    max_s: float = 300.0
    jitter: float = 0.1

    def delay_s(self, failed_attempt: int) -> float:
        exponent = min(max(failed_attempt - 1, 0), 60)
        delay = min(self.max_s, self.base_s * 2.0**exponent)
        # Not security-relevant: jitter only spreads retries out.
        spread = 1.0 + self.jitter * (2.0 * random.random() - 1.0)  # noqa: S311
        return max(0.0, delay * spread)


class JobQueue(Protocol):
    """A durable queue with at-least-once delivery: handlers must be idempotent.

    A handler that raises is retried with exponential backoff; after ``max_attempts``
    failed (or abandoned) deliveries the job becomes a dead letter. A job of a kind with no
    handler fails like any other, so it ends among the dead letters instead of stopping
    the worker.
    """

    async def enqueue(
        self, kind: str, payload: dict[str, Any], **options: Unpack[EnqueueOptions]
    ) -> str:
        """Add a job; returns its id."""
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

    async def unfinished(self, kind: str, user_id: str) -> list[dict[str, Any]]:
        """The payloads of ``user_id``'s jobs of ``kind`` that have not finished (waiting,
        running or waiting for a retry), oldest first: what their workers have yet to do,
        e.g. the finalized turns of an interview a killed instance left on the queue."""
        ...

    async def ping(self) -> None:
        """Raise if the queue's store does not answer."""
        ...

    async def close(self) -> None: ...
