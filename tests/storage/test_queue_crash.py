"""A worker process killed mid-job loses nothing, and the job's effect happens once.

A real worker process claims the job and is killed with SIGKILL while its handler runs;
a consumer in the test process then takes the job over once the dead worker's lease (or
Redis pending entry) has gone idle for the visibility timeout, and finishes it.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from storage import Database
from storage.queue import Job, JobQueue, QueueBackend, open_queue
from tests.storage.queue_worker_proc import EFFECT_TABLE, record_effect

ROOT = Path(__file__).resolve().parents[2]
VISIBILITY_S = 0.5
WAIT_S = 10.0  # bounds, not delays: process start-up plus one visibility timeout

QUEUES = [
    pytest.param(("outbox", "sqlite"), id="outbox-sqlite"),
    pytest.param(("outbox", "postgres"), id="outbox-postgres", marks=pytest.mark.postgres),
    pytest.param(("redis", "sqlite"), id="redis", marks=pytest.mark.redis),
]


@pytest.fixture(params=QUEUES)
def queue_kind(request: pytest.FixtureRequest) -> tuple[QueueBackend, str]:
    kind: tuple[QueueBackend, str] = request.param
    return kind


@pytest.fixture
def backend(queue_kind: tuple[QueueBackend, str]) -> str:
    # Overrides the conftest fixture: each queue names the one database backend it uses.
    return queue_kind[1]


@pytest.fixture
def queue_redis_url(queue_kind: tuple[QueueBackend, str], request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("redis_url")) if queue_kind[0] == "redis" else ""


@pytest.fixture
def stream() -> str:
    return f"test:{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def queue(db: Database, queue_redis_url: str, stream: str) -> AsyncIterator[JobQueue]:
    await db.execute(f"CREATE TABLE {EFFECT_TABLE} (job_id TEXT PRIMARY KEY, worker TEXT NOT NULL)")
    opened = await open_queue(
        db=db,
        redis_url=queue_redis_url,
        stream=stream,
        visibility_timeout_s=VISIBILITY_S,
        poll_interval_s=0.05,
    )
    yield opened
    await opened.close()


async def run_worker_until_killed(
    database_url: str, redis_url: str, stream: str, mode: str, job_id: str
) -> None:
    """Start a worker process, wait until its handler runs ``job_id``, then SIGKILL it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.storage.queue_worker_proc",
        database_url,
        redis_url,
        stream,
        "doomed",
        str(VISIBILITY_S),
        mode,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), WAIT_S)
    finally:
        process.kill()
        _, errors = await process.communicate()
    assert line.decode().split() == ["started", job_id, "1"], errors.decode()[-2000:]
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("mode", ["before-effect", "after-effect"])
async def test_job_survives_a_killed_worker_and_takes_effect_once(
    queue: JobQueue,
    queue_kind: tuple[QueueBackend, str],
    db: Database,
    database_url: str,
    queue_redis_url: str,
    stream: str,
    mode: str,
) -> None:
    """``before-effect``: the worker dies before doing anything. ``after-effect``: it dies
    after the handler's effect but before acknowledging, so the job runs twice and the
    idempotent handler must leave one effect."""
    job_id = await queue.enqueue("crash.effect", {"interview": "i1"})
    await run_worker_until_killed(database_url, queue_redis_url, stream, mode, job_id)

    runs: list[Job] = []
    finished = asyncio.Event()

    async def survivor_handler(job: Job) -> None:
        runs.append(job)
        await record_effect(db, job, "survivor")
        finished.set()

    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(
            queue.run_worker({"crash.effect": survivor_handler}, consumer="survivor", stop=stop)
        )
        try:
            await asyncio.wait_for(finished.wait(), WAIT_S)
        finally:
            stop.set()

    assert [(job.id, job.attempt) for job in runs] == [(job_id, 2)]
    effects = await db.fetch(f"SELECT job_id, worker FROM {EFFECT_TABLE}")
    first_writer = "doomed" if mode == "after-effect" else "survivor"
    assert effects == [{"job_id": job_id, "worker": first_writer}]
    assert await queue.pending_count() == 0
    assert await queue.dead_letters() == []

    if queue_kind[0] == "redis":
        client = aioredis.from_url(queue_redis_url, decode_responses=True)
        try:
            summary = await client.xpending(stream, "intrvuer-workers")
            consumers = {
                c["name"]: c["pending"]
                for c in await client.xinfo_consumers(stream, "intrvuer-workers")
            }
        finally:
            await client.aclose()
        assert summary["pending"] == 0
        assert consumers["doomed"] == 0
    else:
        row = await db.fetchrow(
            "SELECT status, attempts, locked_by FROM jobs WHERE id = $1", job_id
        )
        assert row == {"status": "done", "attempts": 2, "locked_by": None}
