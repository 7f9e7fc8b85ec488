"""The turn writer keeps a finalized turn while the queue's store is down, and queues it
once the store is back; at shutdown it gives up after its timeout and says so."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipeline.session import FinalizedTurn
from server.jobs.turns import JOB_KIND, TurnWriter
from storage.queue import Backoff, MemoryQueue
from tests.polling import eventually
from tests.records import a_turn

FAST_RETRY = Backoff(base_s=0.01, max_s=0.05, jitter=0.0)


class FlakyQueue(MemoryQueue):
    """A queue whose store refuses every enqueue while ``down`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.refused = 0

    async def enqueue(self, kind: str, payload: dict[str, Any], **options: Any) -> str:
        if self.down:
            self.refused += 1
            raise ConnectionRefusedError("the store is restarting")
        return await super().enqueue(kind, payload, **options)


def finalized(turn: int) -> FinalizedTurn:
    record = a_turn("interview-1", turn)
    return FinalizedTurn(record=record, user_id="user-1")


@pytest.fixture
async def queue() -> AsyncIterator[FlakyQueue]:
    flaky = FlakyQueue()
    yield flaky
    await flaky.close()


async def queued_turns(queue: FlakyQueue) -> list[int]:
    turns: list[int] = []

    async def take(job: Any) -> None:
        assert job.kind == JOB_KIND
        turns.append(job.payload["turn"])

    await queue.process_available({JOB_KIND: take}, consumer="test")
    return turns


async def test_turns_wait_out_a_store_outage(
    queue: FlakyQueue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="intrvuer.turns")
    writer = TurnWriter(queue, retry=FAST_RETRY)
    stop = asyncio.Event()
    pump = asyncio.create_task(writer.run(stop))
    try:
        queue.down = True
        for turn in (1, 2, 3):
            writer.submit(finalized(turn))
        # Many more tries than the five after which the writer used to forget the turn.
        await eventually(lambda: _now(queue.refused), lambda n: n >= 30)
        assert writer.held == 2
        queue.down = False
        await eventually(queue.pending_count, lambda n: n == 3)
    finally:
        stop.set()
        await asyncio.wait_for(pump, timeout=10)
    assert await queued_turns(queue) == [1, 2, 3]
    assert writer.dropped == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    # A line when the outage began and one every 12 tries, not one per try.
    assert len(errors) == 1 + queue.refused // 12
    assert errors[0].__dict__["turns_waiting"] == 3
    assert "queued a finalized turn after its store came back" in caplog.text


async def test_at_shutdown_it_gives_up_after_its_timeout_and_says_so(
    queue: FlakyQueue, caplog: pytest.LogCaptureFixture
) -> None:
    writer = TurnWriter(queue, stop_timeout_s=0.5, retry=FAST_RETRY)
    stop = asyncio.Event()
    pump = asyncio.create_task(writer.run(stop))
    queue.down = True
    writer.submit(finalized(1))
    writer.submit(finalized(2))
    await eventually(lambda: _now(queue.refused), lambda n: n >= 1)
    stop.set()
    await asyncio.wait_for(pump, timeout=10)
    assert writer.dropped == 2
    lost = [r for r in caplog.records if "they are lost" in r.getMessage()]
    assert [r.__dict__["turns_lost"] for r in lost] == [2]


async def test_a_full_buffer_drops_the_newest_turn(queue: FlakyQueue) -> None:
    writer = TurnWriter(queue, capacity=1)
    writer.submit(finalized(1))
    writer.submit(finalized(2))
    assert (writer.held, writer.dropped) == (1, 1)


async def _now(value: int) -> int:
    return value
