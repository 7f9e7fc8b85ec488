"""What every queue implementation shares: retry backoff, running one delivery under a
heartbeat, and the worker loop."""

from __future__ import annotations

import asyncio
import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from storage.queue.types import Backoff, Handler, Job

log = logging.getLogger("intrvuer.queue")

# Stored errors are for the operator reading dead letters, not a full traceback dump.
_MAX_ERROR_CHARS = 2000
# How long a worker waits after the store failed, at most, before trying again: a worker
# picks up work within this of a restarted Postgres or Redis answering again.
_MAX_ERROR_PAUSE_S = 5.0


def describe_error(error: BaseException) -> str:
    text = f"{type(error).__name__}: {error}"
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 1] + "…"


def decode_payload(raw: str) -> dict[str, Any]:
    """A stored payload back as a dict; never raises, so one bad record cannot stop a worker."""
    try:
        value = json.loads(raw)
    except ValueError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"_value": value}


def unknown_kind_error(kind: str, handlers: Mapping[str, Handler]) -> str:
    known = ", ".join(sorted(handlers)) or "none"
    return f"UnknownJobKind: no handler for job kind {kind!r} (this worker handles: {known})"


def abandoned_error(attempts: int, previous: str | None) -> str:
    text = (
        f"Abandoned: {attempts} deliveries ended without the worker finishing "
        "(it stopped or lost its lease)"
    )
    return f"{text}; last error before that: {previous}" if previous else text


async def deliver(
    job: Job,
    handlers: Mapping[str, Handler],
    *,
    heartbeat: Callable[[], Awaitable[bool]],
    heartbeat_interval_s: float,
) -> str | None:
    """Run the job's handler while renewing its lease; returns ``None`` on success, else
    the error to record. Only ``Exception`` is caught: a cancelled worker leaves the job
    leased, and the lease expiring hands it to another worker."""
    handler = handlers.get(job.kind)
    if handler is None:
        return unknown_kind_error(job.kind, handlers)
    beating = asyncio.create_task(
        _keep_leased(job, heartbeat, heartbeat_interval_s), name=f"queue-heartbeat-{job.id}"
    )
    try:
        await handler(job)
    except Exception as error:
        # The message may quote user content; it goes to the job record, not the log.
        log.warning(
            "job failed",
            extra={
                "job_id": job.id,
                "kind": job.kind,
                "attempt": job.attempt,
                "error_type": type(error).__name__,
            },
        )
        return describe_error(error)
    finally:
        await cancel_and_wait(beating)
    return None


async def _keep_leased(
    job: Job, heartbeat: Callable[[], Awaitable[bool]], interval_s: float
) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            still_ours = await heartbeat()
        except Exception as error:
            # A missed beat is not fatal: the lease is several beats long.
            log.warning(
                "job heartbeat failed",
                extra={"job_id": job.id, "error_type": type(error).__name__},
            )
            continue
        if not still_ours:
            log.warning(
                "job lease lost; another worker may run it too",
                extra={"job_id": job.id, "kind": job.kind, "attempt": job.attempt},
            )
            return


async def cancel_and_wait(task: asyncio.Task[Any]) -> None:
    """Cancel a task we own and wait for it, without swallowing our own cancellation."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise


async def wait_for_any(events: Sequence[asyncio.Event], timeout_s: float) -> None:
    """Return when one of ``events`` is set, or after ``timeout_s``."""
    if any(event.is_set() for event in events):
        return
    waiters = [asyncio.create_task(event.wait()) for event in events]
    try:
        await asyncio.wait(waiters, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            await cancel_and_wait(waiter)


class PollingQueue(ABC):
    """The worker loop, over one method that hands out a single delivery."""

    def __init__(self, *, max_attempts: int, poll_interval_s: float, backoff: Backoff | None):
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        self._max_attempts = max_attempts
        self.poll_interval_s = poll_interval_s
        self._backoff = backoff or Backoff()

    @abstractmethod
    async def _deliver_next(
        self,
        handlers: Mapping[str, Handler],
        consumer: str,
        stop: asyncio.Event | None,
    ) -> bool:
        """Handle one delivery if one is ready; returns whether it did. With ``stop``, an
        empty queue may be waited on for up to one poll interval (returning early if
        ``stop`` is set, where the store allows); without, it must not wait."""

    async def _housekeeping(self) -> None:
        """Periodic cleanup an idle worker may do; nothing by default."""
        return None

    async def process_available(self, handlers: Mapping[str, Handler], *, consumer: str) -> int:
        count = 0
        while await self._deliver_next(handlers, consumer, None):
            count += 1
        return count

    async def run_worker(
        self, handlers: Mapping[str, Handler], *, consumer: str, stop: asyncio.Event
    ) -> None:
        log.info(
            "queue worker started",
            extra={"consumer": consumer, "queue": type(self).__name__, "kinds": sorted(handlers)},
        )
        failures = 0
        while not stop.is_set():
            try:
                if not await self._deliver_next(handlers, consumer, stop):
                    await self._housekeeping()
                if failures:
                    log.warning(
                        "queue worker reached its store again",
                        extra={"consumer": consumer, "failed_tries": failures},
                    )
                failures = 0
            except Exception as error:
                # The store is down or misbehaving: keep the worker alive, back off, retry.
                failures += 1
                pause_s = min(_MAX_ERROR_PAUSE_S, self.poll_interval_s * 2.0 ** min(failures, 8))
                log.error(
                    "queue worker could not reach its store; retrying",
                    extra={
                        "consumer": consumer,
                        "error_type": type(error).__name__,
                        "retry_in_s": round(pause_s, 2),
                    },
                )
                await wait_for_any([stop], pause_s)
        log.info("queue worker stopped", extra={"consumer": consumer})
