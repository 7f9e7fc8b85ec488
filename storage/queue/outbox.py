"""The database outbox: jobs are rows of the ``jobs`` table, on SQLite or Postgres.

A worker claims a row by leasing it (``locked_by``, ``locked_until``) and renews the
lease while the handler runs; a row whose lease ran out (its worker died) is claimable
again. ``attempts`` goes up on every claim and doubles as a fencing token, so a worker
that lost its lease cannot finish or fail a job that another worker now holds.

Statuses: ``ready`` (waiting, possibly for a retry at ``available_at``), ``running``
(leased), ``done`` and ``dead``. Done rows are kept for ``done_retention_s`` so that an
idempotency key still deduplicates after its job ran; an idle worker deletes older ones.
Dead rows stay until they are retried or purged (``purge_dead_letters``, run by the
retention purge), or dropped with their account.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Unpack

from storage._util import new_id, utcnow
from storage.database import Database
from storage.queue._delivery import (
    PollingQueue,
    abandoned_error,
    decode_payload,
    deliver,
    log,
    wait_for_any,
)
from storage.queue.types import Backoff, DeadLetter, EnqueueOptions, Handler, Job, KindLag
from storage.types import Row

_INSERT = """
INSERT INTO jobs (id, kind, payload, idempotency_key, user_id, status, attempts,
                  max_attempts, available_at, created_at, updated_at)
VALUES ($1, $2, $3, $4, $5, 'ready', 0, $6, $7, $7, $7)
ON CONFLICT (idempotency_key) DO NOTHING
RETURNING id
"""

# A ready job that is due, or a running one whose worker stopped renewing its lease.
_CLAIMABLE = """
SELECT id FROM jobs
WHERE (status = 'ready' AND available_at <= $3)
   OR (status = 'running' AND locked_until <= $3)
ORDER BY available_at
LIMIT 1
"""
_CLAIM = """
UPDATE jobs
SET status = 'running', attempts = attempts + 1, locked_by = $1, locked_until = $2,
    updated_at = $3
WHERE id = ({claimable})
RETURNING id, kind, payload, user_id, attempts, max_attempts, last_error
"""
# SKIP LOCKED lets concurrent Postgres workers each take a different row without waiting;
# SQLite has one writer at a time, so the plain subquery is already exclusive there.
_CLAIM_POSTGRES = _CLAIM.format(claimable=_CLAIMABLE + "FOR UPDATE SKIP LOCKED")
_CLAIM_SQLITE = _CLAIM.format(claimable=_CLAIMABLE)

# Every write by a lease holder names the lease (holder and attempt) it was given:
# "WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3".
_RENEW = """
UPDATE jobs SET locked_until = $4, updated_at = $5
WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3
"""
_COMPLETE = """
UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, updated_at = $4
WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3
"""
_RETRY = """
UPDATE jobs SET status = 'ready', available_at = $4, last_error = $5,
                locked_by = NULL, locked_until = NULL, updated_at = $6
WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3
"""
_BURY = """
UPDATE jobs SET status = 'dead', last_error = $4, locked_by = NULL, locked_until = NULL,
                updated_at = $5
WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3
"""
# Burying a job whose last claim did not run: that claim does not count as an attempt.
_ABANDON = """
UPDATE jobs SET status = 'dead', attempts = attempts - 1, last_error = $4, locked_by = NULL,
                locked_until = NULL, updated_at = $5
WHERE id = $1 AND status = 'running' AND locked_by = $2 AND attempts = $3
"""

_DAY_S = 24 * 3600.0


class OutboxQueue(PollingQueue):
    """A durable job queue in the application database (the embedded default)."""

    def __init__(
        self,
        db: Database,
        *,
        max_attempts: int = 5,
        visibility_timeout_s: float = 60.0,
        poll_interval_s: float = 0.5,
        backoff: Backoff | None = None,
        done_retention_s: float = 7 * _DAY_S,
    ) -> None:
        super().__init__(
            max_attempts=max_attempts, poll_interval_s=poll_interval_s, backoff=backoff
        )
        self._db = db
        self._visibility = timedelta(seconds=visibility_timeout_s)
        self._heartbeat_s = visibility_timeout_s / 3
        self._done_retention = timedelta(seconds=done_retention_s)
        self._claim_sql = _CLAIM_POSTGRES if db.dialect == "postgres" else _CLAIM_SQLITE
        # Wakes this process's idle workers at once when this process enqueues; workers
        # elsewhere find the job on their next poll.
        self._enqueued = asyncio.Event()
        self._next_purge = 0.0

    async def enqueue(
        self, kind: str, payload: dict[str, Any], **options: Unpack[EnqueueOptions]
    ) -> str:
        idempotency_key, user_id = options.get("idempotency_key"), options.get("user_id")
        encoded = json.dumps(payload, separators=(",", ":"))
        # Twice at most: the row holding the key may be purged between INSERT and SELECT.
        for _ in range(2):
            now = utcnow()
            job_id = await self._db.fetchval(
                _INSERT, new_id(), kind, encoded, idempotency_key, user_id, self._max_attempts, now
            )
            if job_id is None:
                job_id = await self._db.fetchval(
                    "SELECT id FROM jobs WHERE idempotency_key = $1", idempotency_key
                )
            if job_id is not None:
                self._enqueued.set()
                return str(job_id)
        raise RuntimeError(f"could not enqueue job with idempotency key {idempotency_key!r}")

    async def _deliver_next(
        self, handlers: Mapping[str, Handler], consumer: str, stop: asyncio.Event | None
    ) -> bool:
        # Clear before looking, so an enqueue racing with an empty claim still wakes us.
        self._enqueued.clear()
        now = utcnow()
        row = await self._db.fetchrow(self._claim_sql, consumer, now + self._visibility, now)
        if row is None:
            if stop is not None:
                await wait_for_any([stop, self._enqueued], self.poll_interval_s)
            return False
        await self._run(row, handlers, consumer)
        return True

    async def _run(self, row: Row, handlers: Mapping[str, Handler], consumer: str) -> None:
        job_id, attempt = str(row["id"]), int(row["attempts"])
        lease = (job_id, consumer, attempt)
        max_attempts = int(row["max_attempts"])
        if attempt > max_attempts:
            # Every allowed delivery was claimed and none finished: the job keeps killing
            # or stalling its worker, so stop handing it out.
            await self._db.execute(
                _ABANDON, *lease, abandoned_error(attempt - 1, row["last_error"]), utcnow()
            )
            log.error("job abandoned", extra={"job_id": job_id, "kind": row["kind"]})
            return
        payload = decode_payload(row["payload"])
        job = Job(
            id=job_id,
            kind=str(row["kind"]),
            payload=payload,
            attempt=attempt,
            user_id=row["user_id"],
        )

        async def renew() -> bool:
            now = utcnow()
            return await self._db.execute(_RENEW, *lease, now + self._visibility, now) == 1

        error = await deliver(
            job, handlers, heartbeat=renew, heartbeat_interval_s=self._heartbeat_s
        )
        now = utcnow()
        if error is None:
            changed = await self._db.execute(_COMPLETE, *lease, now)
        elif attempt >= max_attempts:
            changed = await self._db.execute(_BURY, *lease, error, now)
            log.error("job dead-lettered", extra={"job_id": job_id, "kind": job.kind})
        else:
            retry_at = now + timedelta(seconds=self._backoff.delay_s(attempt))
            changed = await self._db.execute(_RETRY, *lease, retry_at, error, now)
        if changed == 0:
            # Our lease ran out and another worker took the job; its outcome wins.
            log.warning("job lease lost before finishing", extra={"job_id": job_id})

    async def _housekeeping(self) -> None:
        if time.monotonic() < self._next_purge:
            return
        self._next_purge = time.monotonic() + min(3600.0, self._done_retention.total_seconds())
        await self._db.execute(
            "DELETE FROM jobs WHERE status = 'done' AND updated_at < $1",
            utcnow() - self._done_retention,
        )

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        rows = await self._db.fetch(
            "SELECT id, kind, payload, user_id, attempts, last_error, updated_at FROM jobs"
            " WHERE status = 'dead' ORDER BY updated_at DESC, id LIMIT $1",
            limit,
        )
        return [
            DeadLetter(
                id=row["id"],
                kind=row["kind"],
                payload=decode_payload(row["payload"]),
                attempts=int(row["attempts"]),
                last_error=row["last_error"] or "",
                died_at=_as_datetime(row["updated_at"]),
                user_id=row["user_id"],
            )
            for row in rows
        ]

    async def retry_dead_letter(self, job_id: str) -> bool:
        # The last error stays until the next attempt's outcome replaces it.
        now = utcnow()
        changed = await self._db.execute(
            "UPDATE jobs SET status = 'ready', attempts = 0, available_at = $2, updated_at = $2"
            " WHERE id = $1 AND status = 'dead'",
            job_id,
            now,
        )
        if changed:
            self._enqueued.set()
        return changed == 1

    async def purge_dead_letters(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM jobs WHERE status = 'dead' AND updated_at < $1", before
        )

    async def drop_user_jobs(self, user_id: str) -> int:
        # Finished rows go too: their payloads belong to the deleted account.
        rows = await self._db.fetch("DELETE FROM jobs WHERE user_id = $1 RETURNING status", user_id)
        return sum(1 for row in rows if row["status"] in ("ready", "running"))

    async def pending_count(self) -> int:
        count = await self._db.fetchval(
            "SELECT count(*) FROM jobs WHERE status IN ('ready', 'running')"
        )
        return int(count)

    async def unfinished(self, kind: str, user_id: str) -> list[dict[str, Any]]:
        rows = await self._db.fetch(
            "SELECT payload FROM jobs WHERE kind = $1 AND user_id = $2"
            " AND status IN ('ready', 'running') ORDER BY created_at, id",
            kind,
            user_id,
        )
        return [dict(json.loads(row["payload"])) for row in rows]

    async def lag(self) -> list[KindLag]:
        rows = await self._db.fetch(
            "SELECT kind, count(*) AS pending, min(created_at) AS oldest FROM jobs"
            " WHERE status IN ('ready', 'running') GROUP BY kind ORDER BY kind"
        )
        now = utcnow()
        return [
            KindLag(
                kind=str(row["kind"]),
                pending=int(row["pending"]),
                oldest_age_s=max(0.0, (now - _as_datetime(row["oldest"])).total_seconds()),
            )
            for row in rows
        ]

    async def ping(self) -> None:
        await self._db.ping()

    async def close(self) -> None:
        """Nothing to release: the database belongs to whoever opened it."""


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
