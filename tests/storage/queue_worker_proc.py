"""A queue worker to be killed: run by the crash tests as a separate process.

Its handler for ``crash.effect`` (optionally) records the job's effect, prints
``started <job id> <attempt>`` and then hangs, so the test can ``kill -9`` it mid-job.

    python -m tests.storage.queue_worker_proc DATABASE_URL REDIS_URL STREAM CONSUMER
        VISIBILITY_S {before-effect|after-effect}

REDIS_URL may be empty (then the queue is the database outbox).
"""

from __future__ import annotations

import asyncio
import sys

from storage import Database, connect
from storage.queue import Job, open_queue

EFFECT_TABLE = "queue_test_effects"


async def record_effect(db: Database, job: Job, worker: str) -> None:
    """The idempotent effect of a job: one row per job id, whoever writes it first."""
    await db.execute(
        f"INSERT INTO {EFFECT_TABLE} (job_id, worker) VALUES ($1, $2)"
        " ON CONFLICT (job_id) DO NOTHING",
        job.id,
        worker,
    )


async def main(argv: list[str]) -> None:
    database_url, redis_url, stream, consumer, visibility_s, mode = argv
    db = await connect(database_url, ssl_mode="disable")
    queue = await open_queue(
        db=db,
        redis_url=redis_url,
        stream=stream,
        visibility_timeout_s=float(visibility_s),
        poll_interval_s=0.05,
    )

    async def crash_effect(job: Job) -> None:
        if mode == "after-effect":
            await record_effect(db, job, consumer)
        print(f"started {job.id} {job.attempt}", flush=True)
        await asyncio.Event().wait()  # until killed

    try:
        await queue.run_worker(
            {"crash.effect": crash_effect}, consumer=consumer, stop=asyncio.Event()
        )
    finally:
        await queue.close()
        await db.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
