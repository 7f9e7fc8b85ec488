"""Redis Streams: one stream read by a consumer group, for deployments with ``REDIS_URL``.

Keys, all under the stream's name ``S``:

- ``S``: jobs to run. An entry is removed (XACK + XDEL) once its job succeeded, was
  retried or died, so the stream holds only unfinished jobs.
- ``S:delayed``: a sorted set of jobs waiting for a retry, scored by when they are due;
  workers move due ones back to ``S`` with a Lua script, so none is lost in between.
- ``S:dead``: the dead-letter stream (capped at ``dead_max_len`` entries). An entry's id
  is the time it died, so purging by age is one ``XTRIM MINID``.
- ``S:idem:<key>``: idempotency key -> job id, for ``idempotency_ttl_s``.
- ``S:dropped:<job id>``: tombstone of a job dropped with its account; checked before a
  delivery runs, for jobs a worker had already read.

An attempt is counted at each delivery: the entry's ``attempts`` field (failures before
this entry was added) plus Redis' delivery counter of the entry, which XAUTOCLAIM raises
when it takes the entry from a consumer that stopped. A live worker renews its claim with
``XCLAIM ... JUSTID`` (which resets the idle time without counting a delivery).

A Redis restart closes every pooled connection; ``redis_client`` retries a command that
met a dropped connection (or a server still loading its data) for a few seconds, with
back-off, instead of failing the request that sent it. The stream, its consumer group and
its pending entries survive the restart only if Redis persists them (``appendonly yes``,
docs/deploy.md); a restarted Redis that lost the group has it recreated by the next read.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from typing import Any, Unpack

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import EqualJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from storage._util import new_id
from storage.queue._delivery import PollingQueue, abandoned_error, decode_payload, deliver, log
from storage.queue.types import Backoff, DeadLetter, EnqueueOptions, Handler, Job, KindLag

# Adds the job unless its idempotency key is known; both or neither, atomically.
# KEYS: stream, idempotency key. ARGV: job id, ttl seconds, then field/value pairs.
_ENQUEUE_ONCE = """
local existing = redis.call('GET', KEYS[2])
if existing then return existing end
redis.call('XADD', KEYS[1], '*', unpack(ARGV, 3))
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
"""

# Moves due retries from the delayed set to the stream; atomic, so a crash cannot lose
# or duplicate one. A member is the JSON list of the stream entry's field/value pairs.
# KEYS: delayed set, stream. ARGV: now (epoch seconds), batch size.
_PROMOTE_DUE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, member in ipairs(due) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('XADD', KEYS[2], '*', unpack(cjson.decode(member)))
end
return #due
"""

# Resets the idle time of an entry this consumer still owns, and only then: a worker that
# stalled past its lease must not take the entry back from the one that claimed it.
# KEYS: stream. ARGV: group, entry id, consumer.
_RENEW_CLAIM = """
local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)
if #pending == 0 or pending[1][2] ~= ARGV[3] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[3], 0, ARGV[2], 'JUSTID')
return 1
"""

# Moves a dead letter back to the stream, once: only the call that removed it adds it.
# KEYS: dead stream, stream. ARGV: dead entry id, then the new entry's field/value pairs.
_REQUEUE_DEAD = """
if redis.call('XDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
return 1
"""

Entry = tuple[str, dict[str, str]]

_DAY_S = 24 * 3600
_SCAN_BATCH = 500

# A command that met a dropped connection is sent again on a new one, up to this many
# times, waiting 0.05 s doubling to 1 s (half of it jittered) in between: 2.75-5.5 s in
# all. That covers a Redis restart (an enqueue sent as a crashed Redis was started again
# went through after 62-90 ms here) without holding a request for long when Redis is gone.
RECONNECT_RETRIES = 8
_RECONNECT_BACKOFF_BASE_S = 0.05
_RECONNECT_BACKOFF_CAP_S = 1.0
# Connecting to an address that does not answer fails after this, not the OS's minutes.
_CONNECT_TIMEOUT_S = 5.0
# A connection idle longer than this is pinged before use, so one that a proxy or a NAT
# dropped silently is replaced instead of hanging the command sent on it.
_HEALTH_CHECK_INTERVAL_S = 30


def redis_client(url: str, *, decode_responses: bool = False) -> aioredis.Redis:
    """A client whose commands ride out a Redis restart: one that meets a closed pooled
    connection, a refused connect or a server still loading its data is retried on a
    new connection with back-off (``RECONNECT_RETRIES``), then the error is raised.

    A command whose reply was lost may run twice; for the queue, that is a job added
    twice, which at-least-once delivery already asks handlers to allow for."""
    retry = Retry(
        EqualJitterBackoff(cap=_RECONNECT_BACKOFF_CAP_S, base=_RECONNECT_BACKOFF_BASE_S),
        RECONNECT_RETRIES,
        # BusyLoadingError (a restarted Redis reading its AOF) is a ConnectionError. Not
        # TimeoutError: an address that does not answer would hold the request for
        # every try's connect timeout.
        supported_errors=(RedisConnectionError,),
    )
    return aioredis.from_url(
        url,
        decode_responses=decode_responses,
        retry=retry,
        retry_on_error=[RedisConnectionError],
        socket_connect_timeout=_CONNECT_TIMEOUT_S,
        socket_keepalive=True,
        health_check_interval=_HEALTH_CHECK_INTERVAL_S,
    )


class RedisStreamsQueue(PollingQueue):
    """A durable job queue on Redis Streams with a consumer group."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        stream: str = "intrvuer:jobs",
        group: str = "intrvuer-workers",
        max_attempts: int = 5,
        visibility_timeout_s: float = 60.0,
        poll_interval_s: float = 0.5,
        backoff: Backoff | None = None,
        idempotency_ttl_s: int = 7 * _DAY_S,
        dead_max_len: int = 10_000,
    ) -> None:
        super().__init__(
            max_attempts=max_attempts, poll_interval_s=poll_interval_s, backoff=backoff
        )
        self._redis = client
        self._stream = stream
        self._group = group
        self._delayed = f"{stream}:delayed"
        self._dead = f"{stream}:dead"
        self._visibility_ms = max(1, int(visibility_timeout_s * 1000))
        self._heartbeat_s = visibility_timeout_s / 3
        # How often a worker looks for entries whose consumer stopped.
        self._reclaim_every_s = max(poll_interval_s, visibility_timeout_s / 4)
        self._next_reclaim = 0.0
        self._idempotency_ttl_s = idempotency_ttl_s
        self._dead_max_len = dead_max_len
        self._enqueue_once = client.register_script(_ENQUEUE_ONCE)
        self._promote_due = client.register_script(_PROMOTE_DUE)
        self._renew_claim = client.register_script(_RENEW_CLAIM)
        self._requeue_dead = client.register_script(_REQUEUE_DEAD)

    @classmethod
    async def open(cls, url: str, **options: Any) -> RedisStreamsQueue:
        """Connect and make sure the consumer group exists."""
        client = redis_client(url, decode_responses=True)
        queue = cls(client, **options)
        try:
            await queue._ensure_group()
        except BaseException:
            await client.aclose()
            raise
        return queue

    async def _ensure_group(self) -> None:
        try:
            # From "0", so jobs enqueued before the first worker started are delivered.
            await self._redis.xgroup_create(self._stream, self._group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def enqueue(
        self, kind: str, payload: dict[str, Any], **options: Unpack[EnqueueOptions]
    ) -> str:
        idempotency_key = options.get("idempotency_key")
        job_id = new_id()
        fields = _entry_fields(
            job_id=job_id,
            kind=kind,
            payload=json.dumps(payload, separators=(",", ":")),
            user_id=options.get("user_id"),
            attempts=0,
            last_error="",
        )
        if idempotency_key is None:
            await self._redis.xadd(self._stream, _pairs(fields))  # type: ignore[arg-type]
            return job_id
        result = await self._enqueue_once(
            keys=[self._stream, f"{self._stream}:idem:{idempotency_key}"],
            args=[job_id, self._idempotency_ttl_s, *fields],
        )
        return str(result)

    async def _deliver_next(
        self, handlers: Mapping[str, Handler], consumer: str, stop: asyncio.Event | None
    ) -> bool:
        try:
            entry = await self._next_entry(consumer, stop)
        except ResponseError as error:
            if "NOGROUP" not in str(error):
                raise
            # The stream was deleted (FLUSHDB, or a restarted Redis that did not persist
            # it): recreate it and read next time. Jobs it held are gone.
            log.warning(
                "queue consumer group missing; recreated (did Redis restart without appendonly?)",
                extra={"stream": self._stream, "group": self._group},
            )
            await self._ensure_group()
            return False
        if entry is None:
            return False
        entry_id, fields, delivered = entry
        await self._run(entry_id, fields, delivered, handlers, consumer)
        return True

    async def _next_entry(
        self, consumer: str, stop: asyncio.Event | None
    ) -> tuple[str, dict[str, str], int] | None:
        """The next entry for ``consumer`` and how many times it has been delivered."""
        await self._promote_due(keys=[self._delayed, self._stream], args=[time.time(), 100])
        if stop is None or time.monotonic() >= self._next_reclaim:
            self._next_reclaim = time.monotonic() + self._reclaim_every_s
            reclaimed = await self._reclaim_one(consumer)
            if reclaimed is not None:
                return reclaimed
        # XREADGROUP cannot watch ``stop``; blocking one poll interval bounds the delay.
        block_ms = max(1, int(self.poll_interval_s * 1000)) if stop is not None else None
        reply: Any = await self._redis.xreadgroup(
            self._group, consumer, {self._stream: ">"}, count=1, block=block_ms
        )
        entries = _entries(reply[0][1]) if reply else []
        if not entries:
            return None
        entry_id, fields = entries[0]
        return entry_id, fields, 1

    async def _reclaim_one(self, consumer: str) -> tuple[str, dict[str, str], int] | None:
        # One at a time: entries claimed but not yet started would sit idle under our name
        # and be claimed away again, counting deliveries that never ran.
        # Redis 7 adds a third element (entries deleted meanwhile, dropped from the PEL).
        reply: Any = await self._redis.xautoclaim(
            self._stream,
            self._group,
            consumer,
            min_idle_time=self._visibility_ms,
            start_id="0-0",
            count=1,
        )
        claimed = _entries(reply[1])
        if not claimed:
            return None
        entry_id, fields = claimed[0]
        pending: Any = await self._redis.xpending_range(
            self._stream, self._group, min=entry_id, max=entry_id, count=1
        )
        delivered = int(pending[0]["times_delivered"]) if pending else 2
        log.info(
            "reclaimed a job from a stopped consumer",
            extra={"entry_id": entry_id, "consumer": consumer, "deliveries": delivered},
        )
        return entry_id, fields, delivered

    async def _run(
        self,
        entry_id: str,
        fields: Mapping[str, str] | None,
        delivered: int,
        handlers: Mapping[str, Handler],
        consumer: str,
    ) -> None:
        if not fields or "id" not in fields:
            await self._finish(entry_id)
            return
        job_id = fields["id"]
        if await self._redis.exists(f"{self._stream}:dropped:{job_id}"):
            await self._finish(entry_id)
            return
        attempt = int(fields.get("attempts", "0")) + delivered
        if attempt > self._max_attempts:
            # Every allowed delivery started and none finished: the job keeps killing or
            # stalling its worker, so stop handing it out.
            previous = fields.get("last_error") or None
            await self._bury(entry_id, fields, attempt - 1, abandoned_error(attempt - 1, previous))
            return
        job = Job(
            id=job_id,
            kind=fields.get("kind", ""),
            payload=decode_payload(fields.get("payload", "{}")),
            attempt=attempt,
            user_id=fields.get("user_id") or None,
        )

        async def renew() -> bool:
            owned = await self._renew_claim(
                keys=[self._stream], args=[self._group, entry_id, consumer]
            )
            return bool(owned)

        error = await deliver(
            job, handlers, heartbeat=renew, heartbeat_interval_s=self._heartbeat_s
        )
        if error is None:
            await self._finish(entry_id)
        elif not await renew():
            # A consumer that stalled past its lease and lost the entry must not schedule a
            # second copy of the job; the consumer now holding it settles it.
            log.warning("job lease lost before finishing", extra={"job_id": job_id})
        elif attempt >= self._max_attempts:
            await self._bury(entry_id, fields, attempt, error)
        elif await self._redis.exists(f"{self._stream}:dropped:{job_id}"):
            await self._finish(entry_id)
        else:
            retry = _entry_fields(
                job_id=job_id,
                kind=job.kind,
                payload=fields.get("payload", "{}"),
                user_id=job.user_id,
                attempts=attempt,
                last_error=error,
            )
            due = time.time() + self._backoff.delay_s(attempt)
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.zadd(self._delayed, {json.dumps(retry): due})
                pipe.xack(self._stream, self._group, entry_id)
                pipe.xdel(self._stream, entry_id)
                await pipe.execute()

    async def _finish(self, entry_id: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(self._stream, self._group, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()

    async def _bury(
        self, entry_id: str, fields: Mapping[str, str], attempts: int, error: str
    ) -> None:
        letter = {
            "id": fields["id"],
            "kind": fields.get("kind", ""),
            "payload": fields.get("payload", "{}"),
            "user_id": fields.get("user_id", ""),
            "attempts": str(attempts),
            "last_error": error,
            "died_at": datetime.now(UTC).isoformat(),
        }
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(self._dead, letter, maxlen=self._dead_max_len, approximate=True)  # type: ignore[arg-type]
            pipe.xack(self._stream, self._group, entry_id)
            pipe.xdel(self._stream, entry_id)
            await pipe.execute()
        log.error("job dead-lettered", extra={"job_id": fields["id"], "kind": letter["kind"]})

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        entries = _entries(await self._redis.xrevrange(self._dead, count=limit))
        return [
            DeadLetter(
                id=fields["id"],
                kind=fields.get("kind", ""),
                payload=decode_payload(fields.get("payload", "{}")),
                attempts=int(fields.get("attempts", "0")),
                last_error=fields.get("last_error", ""),
                died_at=datetime.fromisoformat(fields["died_at"]),
                user_id=fields.get("user_id") or None,
            )
            for _, fields in entries
        ]

    async def retry_dead_letter(self, job_id: str) -> bool:
        # An operator's command over at most ``dead_max_len`` entries: a scan will do.
        found = [entry async for entry in self._scan(self._dead) if entry[1].get("id") == job_id]
        if not found:
            return False
        entry_id, fields = found[-1]
        requeued = _entry_fields(
            job_id=job_id,
            kind=fields.get("kind", ""),
            payload=fields.get("payload", "{}"),
            user_id=fields.get("user_id") or None,
            attempts=0,
            last_error=fields.get("last_error", ""),
        )
        moved = await self._requeue_dead(
            keys=[self._dead, self._stream], args=[entry_id, *requeued]
        )
        return bool(moved)

    async def purge_dead_letters(self, before: datetime) -> int:
        cutoff_ms = max(0, int(before.timestamp() * 1000))
        purged = await self._redis.xtrim(self._dead, minid=cutoff_ms, approximate=False)
        return int(purged)

    async def drop_user_jobs(self, user_id: str) -> int:
        # Account deletion is rare and the stream holds only unfinished jobs, so scanning
        # beats keeping a per-user index on every enqueue.
        entry_ids: list[str] = []
        job_ids: set[str] = set()
        async for entry_id, fields in self._scan(self._stream):
            if fields.get("user_id") == user_id:
                entry_ids.append(entry_id)
                job_ids.add(fields["id"])
        delayed_members: list[str] = []
        members: list[str] = await self._redis.zrange(self._delayed, 0, -1)  # type: ignore[assignment]
        for member in members:
            fields = _pairs(json.loads(member))
            if fields.get("user_id") == user_id:
                delayed_members.append(member)
                job_ids.add(fields["id"])
        dead_ids = [
            entry_id
            async for entry_id, fields in self._scan(self._dead)
            if fields.get("user_id") == user_id
        ]
        async with self._redis.pipeline(transaction=True) as pipe:
            # Tombstones first: a worker may already hold one of these entries.
            for job_id in job_ids:
                pipe.set(f"{self._stream}:dropped:{job_id}", "1", ex=self._idempotency_ttl_s)
            if entry_ids:
                pipe.xack(self._stream, self._group, *entry_ids)
                pipe.xdel(self._stream, *entry_ids)
            if delayed_members:
                pipe.zrem(self._delayed, *delayed_members)
            if dead_ids:
                pipe.xdel(self._dead, *dead_ids)
            await pipe.execute()
        return len(job_ids)

    async def _scan(self, stream: str) -> AsyncIterator[Entry]:
        start = "-"
        while True:
            batch = _entries(
                await self._redis.xrange(stream, min=start, max="+", count=_SCAN_BATCH)
            )
            for entry_id, fields in batch:
                yield entry_id, fields
            if len(batch) < _SCAN_BATCH:
                return
            start = "(" + batch[-1][0]

    async def unfinished(self, kind: str, user_id: str) -> list[dict[str, Any]]:
        # The stream holds only unfinished jobs (and the delayed set the retries), so a
        # scan of both is short when the workers keep up.
        found = [
            fields
            async for _, fields in self._scan(self._stream)
            if fields.get("kind") == kind and fields.get("user_id") == user_id
        ]
        members: list[str] = await self._redis.zrange(self._delayed, 0, -1)  # type: ignore[assignment]
        for member in members:
            fields = _pairs(json.loads(member))
            if fields.get("kind") == kind and fields.get("user_id") == user_id:
                found.append(fields)
        return [dict(json.loads(fields["payload"])) for fields in found]

    async def pending_count(self) -> int:
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.xlen(self._stream)
            pipe.zcard(self._delayed)
            in_stream, delayed = await pipe.execute()
        return int(in_stream) + int(delayed)

    async def lag(self) -> list[KindLag]:
        """From the stream (unfinished jobs; an entry's id is when it was added) and the
        delayed retries (counted as pending; their wait is deliberate, so no age). Reads
        at most ``_LAG_SCAN_MAX`` entries: a backlog past that is reported as that many."""
        counts: dict[str, int] = {}
        oldest_ms: dict[str, int] = {}
        start = "-"
        scanned = 0
        while scanned < _LAG_SCAN_MAX:
            batch = _entries(await self._redis.xrange(self._stream, start, "+", count=500))
            if start != "-":
                batch = batch[1:]  # the range starts at the last entry already counted
            if not batch:
                break
            for entry_id, fields in batch:
                kind = str(fields.get("kind", "?"))
                counts[kind] = counts.get(kind, 0) + 1
                added_ms = int(entry_id.split("-", 1)[0])
                oldest_ms[kind] = min(oldest_ms.get(kind, added_ms), added_ms)
            scanned += len(batch)
            start = batch[-1][0]
        members: list[str] = await self._redis.zrange(self._delayed, 0, _LAG_SCAN_MAX)  # type: ignore[assignment]
        for member in members:
            try:
                kind = str(_pairs(json.loads(member)).get("kind", "?"))
            except (ValueError, TypeError):
                kind = "?"
            counts[kind] = counts.get(kind, 0) + 1
        now_ms = time.time() * 1000
        return [
            KindLag(
                kind,
                counts[kind],
                max(0.0, (now_ms - oldest_ms[kind]) / 1000) if kind in oldest_ms else 0.0,
            )
            for kind in sorted(counts)
        ]

    async def ping(self) -> None:
        await self._redis.ping()

    async def close(self) -> None:
        await self._redis.aclose()


_LAG_SCAN_MAX = 10_000  # entries ``lag`` reads at most, per scrape


def _entry_fields(
    *,
    job_id: str,
    kind: str,
    payload: str,
    user_id: str | None,
    attempts: int,
    last_error: str,
) -> list[str]:
    """A stream entry as a flat field/value list (the form Lua's XADD takes)."""
    fields = ["id", job_id, "kind", kind, "payload", payload, "attempts", str(attempts)]
    if user_id is not None:
        fields += ["user_id", user_id]
    if last_error:
        fields += ["last_error", last_error]
    return fields


def _entries(raw: Any) -> list[Entry]:
    """Stream entries as the client returns them (with ``decode_responses``), typed."""
    return [(str(entry_id), dict(fields or {})) for entry_id, fields in raw or []]


def _pairs(flat: list[str]) -> dict[str, str]:
    return dict(zip(flat[::2], flat[1::2], strict=True))
