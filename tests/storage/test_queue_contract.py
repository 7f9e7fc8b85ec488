"""The job queue contract: every implementation behaves the same.

Each test runs against the in-memory fake, the database outbox on SQLite and on Postgres,
and Redis Streams (with an SQLite database beside it, as a deployment would have).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any, Protocol

import pytest

from storage import Database
from storage._util import utcnow
from storage.queue import Job, JobQueue, QueueBackend, open_queue

QUEUES = [
    pytest.param(("memory", "sqlite"), id="memory"),
    pytest.param(("outbox", "sqlite"), id="outbox-sqlite"),
    pytest.param(("outbox", "postgres"), id="outbox-postgres", marks=pytest.mark.postgres),
    pytest.param(("redis", "sqlite"), id="redis", marks=pytest.mark.redis),
]
# Queues that another process could share, and so lease their jobs.
LEASED = [param for param in QUEUES if param.id != "memory"]

POLL_S = 0.05
WAIT_S = 3.0  # upper bound for anything a test waits on; a passing test waits far less


class MakeQueue(Protocol):
    def __call__(self, **options: Any) -> Awaitable[JobQueue]: ...


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
    # Only Redis queues need (and may skip for lack of) a Redis server.
    return str(request.getfixturevalue("redis_url")) if queue_kind[0] == "redis" else ""


@pytest.fixture
async def make_queue(
    queue_kind: tuple[QueueBackend, str], db: Database, queue_redis_url: str
) -> AsyncIterator[MakeQueue]:
    opened: list[JobQueue] = []
    stream = f"test:{uuid.uuid4().hex[:8]}"

    async def make(**options: Any) -> JobQueue:
        settings: dict[str, Any] = {
            "max_attempts": 3,
            "visibility_timeout_s": 1.0,
            "poll_interval_s": POLL_S,
            "retry_base_s": 0.0,
        }
        settings.update(options)
        queue = await open_queue(
            db=db, redis_url=queue_redis_url, stream=stream, backend=queue_kind[0], **settings
        )
        opened.append(queue)
        return queue

    yield make
    for queue in opened:
        await queue.close()


@pytest.fixture
async def queue(make_queue: MakeQueue) -> JobQueue:
    return await make_queue()


class Recorder:
    """Handlers that record what they saw, and can fail on purpose."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []
        self.ran = asyncio.Event()

    async def ok(self, job: Job) -> None:
        self.jobs.append(job)
        self.ran.set()

    async def boom(self, job: Job) -> None:
        self.jobs.append(job)
        raise ValueError(f"boom on attempt {job.attempt}")

    async def fail_first(self, job: Job) -> None:
        self.jobs.append(job)
        if job.attempt == 1:
            raise RuntimeError("transient")


async def eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = WAIT_S) -> None:
    """Wait until ``check`` holds (for state another worker changes), or fail."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout_s} s")
        await asyncio.sleep(0.02)


async def test_enqueue_then_process(queue: JobQueue) -> None:
    seen = Recorder()
    first = await queue.enqueue("mail.send", {"to": "a", "n": [1, 2]}, user_id="u1")
    second = await queue.enqueue("mail.send", {"to": "b"})
    assert first != second
    assert await queue.pending_count() == 2

    assert await queue.process_available({"mail.send": seen.ok}, consumer="w1") == 2

    assert [(job.id, job.payload, job.attempt, job.user_id) for job in seen.jobs] == [
        (first, {"to": "a", "n": [1, 2]}, 1, "u1"),
        (second, {"to": "b"}, 1, None),
    ]
    assert {job.kind for job in seen.jobs} == {"mail.send"}
    assert await queue.pending_count() == 0
    assert await queue.process_available({"mail.send": seen.ok}, consumer="w1") == 0


async def test_idempotency_key_enqueues_once(queue: JobQueue) -> None:
    seen = Recorder()
    first = await queue.enqueue("report", {"v": 1}, idempotency_key="turn-7")
    again = await queue.enqueue("report", {"v": 2}, idempotency_key="turn-7")
    other = await queue.enqueue("report", {"v": 3}, idempotency_key="turn-8")
    assert again == first
    assert other != first
    assert await queue.pending_count() == 2

    assert await queue.process_available({"report": seen.ok}, consumer="w1") == 2
    assert sorted(job.payload["v"] for job in seen.jobs) == [1, 3]
    # The key still deduplicates after its job ran.
    assert await queue.enqueue("report", {"v": 4}, idempotency_key="turn-7") == first
    assert await queue.process_available({"report": seen.ok}, consumer="w1") == 0


async def test_failed_job_is_retried_then_succeeds(queue: JobQueue) -> None:
    seen = Recorder()
    job_id = await queue.enqueue("flaky", {})

    assert await queue.process_available({"flaky": seen.fail_first}, consumer="w1") == 2

    assert [(job.id, job.attempt) for job in seen.jobs] == [(job_id, 1), (job_id, 2)]
    assert await queue.pending_count() == 0
    assert await queue.dead_letters() == []


async def test_retry_waits_for_its_backoff(make_queue: MakeQueue) -> None:
    queue = await make_queue(retry_base_s=60.0)
    seen = Recorder()
    await queue.enqueue("flaky", {})

    assert await queue.process_available({"flaky": seen.fail_first}, consumer="w1") == 1
    assert await queue.process_available({"flaky": seen.fail_first}, consumer="w1") == 0
    assert await queue.pending_count() == 1
    assert len(seen.jobs) == 1


async def test_dead_letter_after_max_attempts(queue: JobQueue) -> None:
    seen = Recorder()
    job_id = await queue.enqueue("doomed", {"k": "v"}, user_id="u1")

    assert await queue.process_available({"doomed": seen.boom}, consumer="w1") == 3

    assert [job.attempt for job in seen.jobs] == [1, 2, 3]
    [letter] = await queue.dead_letters()
    assert (letter.id, letter.kind, letter.payload, letter.attempts) == (
        job_id,
        "doomed",
        {"k": "v"},
        3,
    )
    assert letter.last_error == "ValueError: boom on attempt 3"
    assert letter.user_id == "u1"
    assert letter.died_at.tzinfo is not None
    assert await queue.pending_count() == 0
    assert await queue.process_available({"doomed": seen.boom}, consumer="w1") == 0


async def test_dead_letters_newest_first_and_limited(queue: JobQueue) -> None:
    seen = Recorder()
    older = await queue.enqueue("doomed", {})
    await queue.process_available({"doomed": seen.boom}, consumer="w1")
    newer = await queue.enqueue("doomed", {})
    await queue.process_available({"doomed": seen.boom}, consumer="w1")

    assert [letter.id for letter in await queue.dead_letters()] == [newer, older]
    assert [letter.id for letter in await queue.dead_letters(limit=1)] == [newer]


async def test_unknown_kind_goes_to_dead_letters(queue: JobQueue) -> None:
    seen = Recorder()
    job_id = await queue.enqueue("no.such.kind", {})

    assert await queue.process_available({"known": seen.ok}, consumer="w1") == 3

    [letter] = await queue.dead_letters()
    assert letter.id == job_id
    assert "no handler for job kind 'no.such.kind'" in letter.last_error
    assert "known" in letter.last_error


async def test_a_dead_letter_can_be_retried(queue: JobQueue) -> None:
    seen = Recorder()
    job_id = await queue.enqueue("doomed", {"k": "v"}, user_id="u1")
    assert await queue.process_available({"doomed": seen.boom}, consumer="w1") == 3
    assert await queue.retry_dead_letter("no-such-job") is False

    assert await queue.retry_dead_letter(job_id) is True

    assert await queue.dead_letters() == []
    assert await queue.pending_count() == 1
    assert await queue.retry_dead_letter(job_id) is False  # it is no longer dead
    # Fixed meanwhile: it runs again as the same job, its attempts counted afresh.
    assert await queue.process_available({"doomed": seen.ok}, consumer="w1") == 1
    (job,) = seen.jobs[3:]
    assert (job.id, job.kind, job.payload, job.attempt, job.user_id) == (
        job_id,
        "doomed",
        {"k": "v"},
        1,
        "u1",
    )
    assert await queue.pending_count() == 0 and await queue.dead_letters() == []


async def test_a_retried_dead_letter_that_fails_again_dies_again(queue: JobQueue) -> None:
    seen = Recorder()
    job_id = await queue.enqueue("doomed", {})
    await queue.process_available({"doomed": seen.boom}, consumer="w1")
    assert await queue.retry_dead_letter(job_id)

    assert await queue.process_available({"doomed": seen.boom}, consumer="w1") == 3

    assert [job.attempt for job in seen.jobs] == [1, 2, 3, 1, 2, 3]
    [letter] = await queue.dead_letters()
    assert (letter.id, letter.attempts) == (job_id, 3)


async def test_dead_letters_are_purged_by_the_time_they_died(queue: JobQueue) -> None:
    seen = Recorder()
    older = await queue.enqueue("doomed", {"n": 1})
    await queue.process_available({"doomed": seen.boom}, consumer="w1")
    # Clocks count in milliseconds (Redis stream ids): keep the deaths apart.
    await asyncio.sleep(0.01)
    between = utcnow()
    await asyncio.sleep(0.01)
    newer = await queue.enqueue("doomed", {"n": 2})
    await queue.process_available({"doomed": seen.boom}, consumer="w1")
    alive = await queue.enqueue("work", {})

    assert await queue.purge_dead_letters(between - timedelta(hours=1)) == 0
    assert await queue.purge_dead_letters(between) == 1

    assert [letter.id for letter in await queue.dead_letters()] == [newer]
    assert await queue.retry_dead_letter(older) is False
    assert await queue.purge_dead_letters(between) == 0
    assert await queue.pending_count() == 1  # waiting jobs are not dead letters
    assert await queue.process_available({"work": seen.ok}, consumer="w1") == 1
    assert seen.jobs[-1].id == alive


async def test_drop_user_jobs(make_queue: MakeQueue) -> None:
    queue = await make_queue(retry_base_s=60.0, max_attempts=1)
    seen = Recorder()
    await queue.enqueue("bad", {}, user_id="gone")  # dies at once: max_attempts=1
    assert await queue.process_available({"bad": seen.boom}, consumer="w1") == 1
    await queue.enqueue("work", {"n": 1}, user_id="gone")
    await queue.enqueue("work", {"n": 2}, user_id="gone")
    await queue.enqueue("work", {"n": 3}, user_id="stays")
    assert len(await queue.dead_letters()) == 1

    assert await queue.drop_user_jobs("gone") == 2
    assert await queue.drop_user_jobs("nobody") == 0

    assert await queue.pending_count() == 1
    assert await queue.process_available({"work": seen.ok}, consumer="w1") == 1
    assert [(job.payload, job.user_id) for job in seen.jobs[1:]] == [({"n": 3}, "stays")]
    assert await queue.dead_letters() == []


async def test_drop_user_jobs_reaches_jobs_waiting_for_a_retry(make_queue: MakeQueue) -> None:
    queue = await make_queue(retry_base_s=0.2)
    seen = Recorder()
    await queue.enqueue("flaky", {}, user_id="gone")
    assert await queue.process_available({"flaky": seen.fail_first}, consumer="w1") == 1

    assert await queue.drop_user_jobs("gone") == 1

    assert await queue.pending_count() == 0

    async def nothing_more_runs() -> bool:
        await queue.process_available({"flaky": seen.fail_first}, consumer="w1")
        return len(seen.jobs) == 1

    # Past the retry's due time, the dropped job still does not come back.
    deadline = time.monotonic() + 0.4
    while time.monotonic() < deadline:
        assert await nothing_more_runs()
        await asyncio.sleep(0.05)


async def test_run_worker_processes_and_stops_promptly(queue: JobQueue) -> None:
    seen = Recorder()
    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        worker = tasks.create_task(
            queue.run_worker({"job": seen.ok}, consumer="w1", stop=stop), name="worker"
        )
        await queue.enqueue("job", {"n": 1})
        await asyncio.wait_for(seen.ran.wait(), WAIT_S)
        stopped_at = time.monotonic()
        stop.set()
        await asyncio.wait_for(worker, WAIT_S)
        took_s = time.monotonic() - stopped_at
    assert [job.payload for job in seen.jobs] == [{"n": 1}]
    assert took_s < 10 * POLL_S
    assert await queue.pending_count() == 0


async def test_run_worker_survives_failures_and_unknown_kinds(queue: JobQueue) -> None:
    failing, healthy = Recorder(), Recorder()
    stop = asyncio.Event()
    await queue.enqueue("unknown", {})
    await queue.enqueue("doomed", {})
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(
            queue.run_worker({"doomed": failing.boom, "job": healthy.ok}, consumer="w1", stop=stop)
        )

        async def both_dead() -> bool:
            return len(await queue.dead_letters()) == 2

        try:
            await eventually(both_dead)
            # The same worker is still there to take new work.
            await queue.enqueue("job", {"after": "failures"})
            await asyncio.wait_for(healthy.ran.wait(), WAIT_S)
        finally:
            stop.set()
    assert [job.payload for job in healthy.jobs] == [{"after": "failures"}]
    assert len(failing.jobs) == 3


async def test_unfinished_lists_a_users_jobs_of_a_kind_until_they_are_done(
    make_queue: MakeQueue,
) -> None:
    queue = await make_queue(retry_base_s=60.0)
    seen = Recorder()
    await queue.enqueue("turn", {"n": 1}, user_id="ada")
    await queue.enqueue("turn", {"n": 2}, user_id="ada")
    await queue.enqueue("turn", {"n": 9}, user_id="bob")
    await queue.enqueue("mail", {"n": 3}, user_id="ada")
    assert await queue.unfinished("turn", "ada") == [{"n": 1}, {"n": 2}]

    # A job waiting for its retry has not finished; one that succeeded has.
    handlers = {"turn": seen.fail_first, "mail": seen.ok}
    assert await queue.process_available(handlers, consumer="w1") == 4
    assert sorted(job["n"] for job in await queue.unfinished("turn", "ada")) == [1, 2]
    assert await queue.unfinished("mail", "ada") == []
    assert await queue.unfinished("turn", "nobody") == []


async def test_pending_count_follows_the_jobs(make_queue: MakeQueue) -> None:
    queue = await make_queue(retry_base_s=60.0)
    seen = Recorder()
    assert await queue.pending_count() == 0
    await queue.enqueue("flaky", {})
    await queue.enqueue("flaky", {})
    await queue.enqueue("flaky", {}, idempotency_key="same")
    await queue.enqueue("flaky", {}, idempotency_key="same")
    assert await queue.pending_count() == 3

    # Failed jobs waiting for their retry are still pending.
    assert await queue.process_available({"flaky": seen.fail_first}, consumer="w1") == 3
    assert await queue.pending_count() == 3


async def test_ping(queue: JobQueue) -> None:
    await queue.ping()


@pytest.mark.parametrize("queue_kind", LEASED, indirect=True)
async def test_live_worker_keeps_a_long_job(make_queue: MakeQueue) -> None:
    """The heartbeat renews the lease, so a job running past its visibility timeout is
    not handed to another worker."""
    queue = await make_queue(visibility_timeout_s=0.3)
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def long_job(job: Job) -> None:
        runs.append(job.id)
        started.set()
        await release.wait()

    async def stolen(job: Job) -> None:
        runs.append(job.id)

    await queue.enqueue("long", {})
    async with asyncio.TaskGroup() as tasks:
        holder = tasks.create_task(queue.process_available({"long": long_job}, consumer="a"))
        await asyncio.wait_for(started.wait(), WAIT_S)
        # Three visibility timeouts: without renewal, "b" would take the job.
        deadline = time.monotonic() + 0.9
        while time.monotonic() < deadline:
            assert await queue.process_available({"long": stolen}, consumer="b") == 0
            await asyncio.sleep(0.05)
        release.set()
        assert await asyncio.wait_for(holder, WAIT_S) == 1
    assert len(runs) == 1
    assert await queue.pending_count() == 0


async def test_job_that_keeps_crashing_its_worker_is_dead_lettered(make_queue: MakeQueue) -> None:
    """A delivery that never finishes (its worker crashed) counts as an attempt; after
    max_attempts of them the job is a dead letter instead of a poison pill."""
    queue = await make_queue(visibility_timeout_s=0.2)
    job_id = await queue.enqueue("poison", {})
    for attempt in (1, 2, 3):
        started = asyncio.Event()

        async def crash(job: Job, started: asyncio.Event = started) -> None:
            started.set()
            await asyncio.Event().wait()  # hangs until cancelled, like a dying worker

        stop = asyncio.Event()
        worker = asyncio.create_task(
            queue.run_worker({"poison": crash}, consumer=f"w{attempt}", stop=stop)
        )
        try:
            await asyncio.wait_for(started.wait(), WAIT_S)
        finally:
            worker.cancel()
            with pytest.raises(asyncio.CancelledError):
                await worker

    async def buried() -> bool:
        await queue.process_available({}, consumer="last")
        return bool(await queue.dead_letters())

    await eventually(buried)
    [letter] = await queue.dead_letters()
    assert letter.id == job_id
    assert letter.attempts == 3
    assert letter.last_error.startswith("Abandoned: 3 deliveries")
    assert await queue.pending_count() == 0


async def test_concurrent_workers_share_the_jobs_without_duplicates(queue: JobQueue) -> None:
    handled: list[str] = []
    all_done = asyncio.Event()
    job_ids = {await queue.enqueue("job", {"n": n}) for n in range(20)}

    async def handle(job: Job) -> None:
        handled.append(job.id)
        await asyncio.sleep(0)  # let the other workers interleave
        if len(handled) >= len(job_ids):
            all_done.set()

    stop = asyncio.Event()
    async with asyncio.TaskGroup() as tasks:
        for n in range(4):
            tasks.create_task(queue.run_worker({"job": handle}, consumer=f"w{n}", stop=stop))
        try:
            await asyncio.wait_for(all_done.wait(), WAIT_S)
        finally:
            stop.set()
    assert sorted(handled) == sorted(job_ids)
    assert await queue.pending_count() == 0
