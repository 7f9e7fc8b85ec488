"""The durable job queue: the database outbox, or Redis Streams when ``REDIS_URL`` is set.

Delivery is at least once, so handlers must be idempotent. ``open_queue`` picks the
implementation; ``MemoryQueue`` is the in-process fake for unit tests.
"""

from __future__ import annotations

from typing import Literal

from storage.database import Database
from storage.queue.memory import MemoryQueue
from storage.queue.outbox import OutboxQueue
from storage.queue.types import (
    Backoff,
    DeadLetter,
    EnqueueOptions,
    Handler,
    Job,
    JobQueue,
    KindLag,
    LagReporting,
)

QueueBackend = Literal["auto", "outbox", "redis", "memory"]

__all__ = [
    "Backoff",
    "DeadLetter",
    "EnqueueOptions",
    "Handler",
    "Job",
    "JobQueue",
    "KindLag",
    "LagReporting",
    "MemoryQueue",
    "OutboxQueue",
    "QueueBackend",
    "open_queue",
]


async def open_queue(
    *,
    db: Database,
    redis_url: str = "",
    max_attempts: int = 5,
    visibility_timeout_s: float = 60.0,
    poll_interval_s: float = 0.5,
    stream: str = "intrvuer:jobs",
    retry_base_s: float = 1.0,
    retry_max_s: float = 300.0,
    backend: QueueBackend = "auto",
) -> JobQueue:
    """Open the job queue. ``auto`` means Redis Streams when ``redis_url`` is set, else
    the outbox in ``db``.

    ``visibility_timeout_s`` is how long a job stays leased to a worker that stopped
    answering before another worker may take it (live workers renew it every third of
    that). A failed job is retried after ``retry_base_s * 2**(attempt-1)`` seconds, at
    most ``retry_max_s``, until ``max_attempts`` deliveries; then it is a dead letter.
    """
    backoff = Backoff(base_s=retry_base_s, max_s=retry_max_s)
    chosen = backend if backend != "auto" else ("redis" if redis_url else "outbox")
    if chosen == "redis":
        if not redis_url:
            raise ValueError("the redis queue backend needs a redis_url")
        # Imported here so that the redis client is only loaded where it is used.
        from storage.queue.redis_streams import RedisStreamsQueue

        return await RedisStreamsQueue.open(
            redis_url,
            stream=stream,
            max_attempts=max_attempts,
            visibility_timeout_s=visibility_timeout_s,
            poll_interval_s=poll_interval_s,
            backoff=backoff,
        )
    if chosen == "memory":
        return MemoryQueue(
            max_attempts=max_attempts, poll_interval_s=poll_interval_s, backoff=backoff
        )
    if chosen == "outbox":
        return OutboxQueue(
            db,
            max_attempts=max_attempts,
            visibility_timeout_s=visibility_timeout_s,
            poll_interval_s=poll_interval_s,
            backoff=backoff,
        )
    raise ValueError(f"unknown queue backend {backend!r}; use auto, outbox, redis or memory")
