"""Pieces of the job queue that need no store: backoff, and choosing an implementation."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from storage import Database
from storage.queue import Backoff, Job, MemoryQueue, OutboxQueue, open_queue


def test_backoff_doubles_up_to_its_cap() -> None:
    backoff = Backoff(base_s=1.0, max_s=10.0, jitter=0.0)
    assert [backoff.delay_s(attempt) for attempt in (1, 2, 3, 4, 5, 60, 10_000)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        10.0,
        10.0,
        10.0,
    ]


def test_backoff_jitter_stays_within_its_spread() -> None:
    backoff = Backoff(base_s=2.0, max_s=100.0, jitter=0.25)
    delays = [backoff.delay_s(2) for _ in range(200)]
    assert all(3.0 <= delay <= 5.0 for delay in delays)
    assert len(set(delays)) > 1


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_open_queue_picks_by_redis_url_and_name(db: Database) -> None:
    assert isinstance(await open_queue(db=db), OutboxQueue)
    assert isinstance(await open_queue(db=db, backend="memory"), MemoryQueue)
    with pytest.raises(ValueError, match="needs a redis_url"):
        await open_queue(db=db, backend="redis")
    with pytest.raises(ValueError, match="max_attempts"):
        await open_queue(db=db, max_attempts=0)


@pytest.mark.redis
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_redis_worker_recovers_when_its_stream_is_deleted(
    db: Database, redis_url: str
) -> None:
    queue = await open_queue(
        db=db, redis_url=redis_url, stream="test:flushed", poll_interval_s=0.05
    )
    ran = asyncio.Event()

    async def handle(job: Job) -> None:
        ran.set()

    client = aioredis.from_url(redis_url)
    try:
        await client.delete("test:flushed")  # the consumer group goes with it
        stop = asyncio.Event()
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(queue.run_worker({"job": handle}, consumer="w1", stop=stop))
            try:
                await queue.enqueue("job", {})
                await asyncio.wait_for(ran.wait(), 3.0)
            finally:
                stop.set()
    finally:
        await client.aclose()
        await queue.close()
