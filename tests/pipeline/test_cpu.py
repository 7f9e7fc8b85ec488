"""CPU-heavy work in a worker process: results, exceptions and a dying worker."""

from __future__ import annotations

import os

import pytest

from pipeline import cpu
from pipeline.documents.extract import extract_text
from pipeline.documents.types import DocumentError


def _pid_and_square(value: int) -> tuple[int, int]:
    return os.getpid(), value * value


def _die(code: int) -> None:
    os._exit(code)


def _spin() -> None:
    while True:
        pass


@pytest.fixture(autouse=True)
def one_worker() -> None:
    cpu.configure(1)


async def test_work_runs_in_another_process() -> None:
    pid, square = await cpu.run(_pid_and_square, 12)
    assert square == 144
    assert pid != os.getpid()


async def test_a_document_error_crosses_back_whole() -> None:
    with pytest.raises(DocumentError) as raised:
        await cpu.run(extract_text, b"")
    assert (raised.value.status, raised.value.code) == (422, "empty_file")


async def test_a_dead_worker_is_reported_and_replaced() -> None:
    with pytest.raises(cpu.WorkerLost):
        await cpu.run(_die, 3)
    pid, square = await cpu.run(_pid_and_square, 3)
    assert square == 9 and pid != os.getpid()


async def test_a_call_past_its_cpu_limit_is_stopped_and_the_worker_carries_on() -> None:
    before, _ = await cpu.run(_pid_and_square, 1)
    with pytest.raises(cpu.CpuLimitExceeded, match="0.2 s of CPU time"):
        await cpu.run(_spin, cpu_limit_s=0.2)
    after, square = await cpu.run(_pid_and_square, 5, cpu_limit_s=5)
    assert (after, square) == (before, 25)  # the same process, its timer off again


async def test_zero_workers_means_a_thread_of_this_process() -> None:
    cpu.configure(0)
    try:
        pid, _ = await cpu.run(_pid_and_square, 2)
        assert pid == os.getpid()
    finally:
        cpu.configure(1)
