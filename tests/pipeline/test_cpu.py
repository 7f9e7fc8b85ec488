"""CPU-heavy work in a worker process: results, exceptions, a dying worker, and workers
that end with the process that started them."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import pytest

from pipeline import cpu
from pipeline.documents.extract import extract_text
from pipeline.documents.types import DocumentError
from tests.polling import eventually
from tests.processes import process, require_proc, running

ROOT = Path(__file__).resolve().parents[2]
# Writes its pool worker's pid to the file it is given, then waits to be killed. (Not to
# its stdout: a worker that outlived it would hold that pipe open, and the test would
# hang on it instead of failing.)
POOL_PARENT = """
import asyncio, os, pathlib, sys
from pipeline import cpu
cpu.configure(1)
pathlib.Path(sys.argv[1]).write_text(str(asyncio.run(cpu.run(os.getpid))))
sys.stdin.read()
"""
# The same with the fallback alone: a pool whose workers only watch their parent's pid.
WATCH_ONLY_PARENT = """
import multiprocessing, os, pathlib, sys
from concurrent.futures import ProcessPoolExecutor
from pipeline import cpu
pool = ProcessPoolExecutor(
    1, mp_context=multiprocessing.get_context("spawn"),
    initializer=cpu._start_parent_watch, initargs=(os.getpid(),),
)
pathlib.Path(sys.argv[1]).write_text(str(pool.submit(os.getpid).result()))
sys.stdin.read()
"""


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


@pytest.mark.parametrize("parent", [POOL_PARENT, WATCH_ONLY_PARENT], ids=["signal", "watch"])
async def test_a_worker_exits_when_its_parent_is_killed(parent: str, tmp_path: Path) -> None:
    require_proc()
    pid_file = tmp_path / "worker.pid"
    started = await asyncio.create_subprocess_exec(
        sys.executable, "-c", parent, str(pid_file), cwd=ROOT, stdin=asyncio.subprocess.PIPE
    )
    try:

        async def written() -> str:
            return pid_file.read_text() if pid_file.exists() else ""

        worker = process(int(await eventually(written, bool, within=30)))
        assert worker is not None and worker.parent_pid == started.pid
    finally:
        started.kill()
        await started.wait()

    async def worker_runs() -> bool:
        return running(worker)

    # Within one watch interval (0.5 s), with room for a loaded machine.
    await eventually(worker_runs, lambda alive: not alive, within=5)


async def test_a_worker_outlives_the_thread_that_started_it() -> None:
    # The kernel's parent-death signal comes when the spawning *thread* ends; the worker
    # must tell that apart from its server dying.
    require_proc()
    await cpu.shutdown()
    spawned: list[int] = []
    starter = threading.Thread(target=lambda: spawned.append(asyncio.run(cpu.run(os.getpid))))
    starter.start()
    await asyncio.to_thread(starter.join)
    assert await cpu.run(os.getpid) == spawned[0]


async def test_shutdown_stops_the_workers() -> None:
    require_proc()
    worker = process(await cpu.run(os.getpid))
    assert worker is not None
    await cpu.shutdown()
    assert not running(worker)
    assert await cpu.run(os.getpid) != worker.pid  # a new pool on the next call
