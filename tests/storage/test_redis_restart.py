"""A Redis restart under a running queue: enqueueing goes on, the worker goes on, and a
Redis that persists its data (AOF) loses no queued job.

Each test starts a redis-server of its own on a free port (the shared one is never
restarted). A clean restart (SIGTERM) keeps every job with the AOF's default
``appendfsync everysec``; a crash (SIGKILL) keeps every acknowledged one only with
``appendfsync always`` (with ``everysec`` 4 of 60 crashes here lost the job added just
before, as docs/deploy.md says).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage.queue import Job
from storage.queue.redis_streams import RedisStreamsQueue
from tests.polling import eventually
from tests.private_redis import private_redis

pytestmark = pytest.mark.redis


class Seen:
    """What a worker's handler received, by job id."""

    def __init__(self) -> None:
        self.ids: list[str] = []

    async def handle(self, job: Job) -> None:
        self.ids.append(job.id)


@contextlib.asynccontextmanager
async def worker(queue: RedisStreamsQueue, seen: Seen) -> AsyncIterator[asyncio.Task[None]]:
    stop = asyncio.Event()
    task = asyncio.create_task(
        queue.run_worker({"probe": seen.handle}, consumer="restart-test", stop=stop)
    )
    try:
        yield task
    finally:
        stop.set()
        await asyncio.wait_for(task, timeout=10)


@pytest.mark.parametrize(
    ("how", "fsync"), [("restart", "everysec"), ("crash", "always")], ids=["restart", "crash"]
)
async def test_enqueue_right_after_a_restart_succeeds_and_no_job_is_lost(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str, fsync: str
) -> None:
    async with private_redis(tmp_path, appendonly=True, fsync=fsync) as server:
        queue = await RedisStreamsQueue.open(server.url, poll_interval_s=0.05)
        try:
            before = await queue.enqueue("probe", {"n": 1})
            queued = await queue.enqueue("probe", {"n": 2}, idempotency_key="queued")
            # The queue's pooled connection is open when Redis goes; it is started again at
            # once, and the next enqueue is sent before it accepts connections.
            await (server.stop() if how == "restart" else server.kill())
            await server.start()
            started = time.monotonic()
            after = await queue.enqueue("probe", {"n": 3})
            again = await queue.enqueue("probe", {"n": 4}, idempotency_key="after")
            took_s = time.monotonic() - started
            assert took_s < 10, f"enqueue waited {took_s:.2f} s for the restarted Redis"
            # The idempotency key written before the crash is still known.
            assert await queue.enqueue("probe", {"n": 2}, idempotency_key="queued") == queued
            seen = Seen()
            async with worker(queue, seen):
                await eventually(lambda: _settled(queue), lambda n: n == 0)
            assert sorted(seen.ids) == sorted([before, queued, after, again])
        finally:
            await queue.close()
    assert "could not reach its store" not in caplog.text


async def test_a_worker_runs_on_through_a_restart(tmp_path: Path) -> None:
    async with private_redis(tmp_path, appendonly=True) as server:
        queue = await RedisStreamsQueue.open(server.url, poll_interval_s=0.05)
        seen = Seen()
        try:
            async with worker(queue, seen) as running:
                first = await queue.enqueue("probe", {"n": 1})
                await eventually(lambda: _ids(seen), lambda ids: first in ids)
                # Killed while the worker waits in XREADGROUP on its connection.
                await server.kill()
                await server.start()
                second = await queue.enqueue("probe", {"n": 2})
                await eventually(lambda: _ids(seen), lambda ids: second in ids)
                assert not running.done()
            assert seen.ids == [first, second]
        finally:
            await queue.close()


async def test_a_restarted_redis_without_the_group_gets_it_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # No persistence: the restarted Redis is empty, the stream and its group gone. Jobs
    # queued before are lost (docs/deploy.md says to turn AOF on); new ones must flow.
    async with private_redis(tmp_path, appendonly=False) as server:
        queue = await RedisStreamsQueue.open(server.url, poll_interval_s=0.05)
        seen = Seen()
        try:
            async with worker(queue, seen) as running:
                first = await queue.enqueue("probe", {"n": 1})
                await eventually(lambda: _ids(seen), lambda ids: first in ids)
                await server.kill()
                await server.start()
                await server.answering()
                later = [await queue.enqueue("probe", {"n": n}) for n in (2, 3)]
                await eventually(lambda: _ids(seen), lambda ids: set(later) <= set(ids))
                assert not running.done()
            assert seen.ids == [first, *later]
        finally:
            await queue.close()
    assert "queue consumer group missing; recreated" in caplog.text


async def _settled(queue: RedisStreamsQueue) -> int:
    return await queue.pending_count()


async def _ids(seen: Seen) -> list[str]:
    return list(seen.ids)
