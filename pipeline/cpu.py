"""CPU-heavy pure functions (reading documents, parsing, heuristic scoring), off the loop.

A worker thread keeps such work off the event loop but not off the interpreter: pure
Python holds the GIL, so while a resume is parsed or an interview scored, every live
session of the process waits up to a switch interval (5 ms) at each step, over and over.
A process pool keeps the work out of the interpreter that serves live audio. One pool per
process, made on first use; ``configure(0)`` (``CPU_WORKERS=0``) uses threads instead.

Functions sent to the pool must be importable module-level functions, and their
arguments, results and exceptions picklable.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from typing import TypeVar, TypeVarTuple

R = TypeVar("R")
Ts = TypeVarTuple("Ts")


class WorkerLost(RuntimeError):
    """The process running the function died (killed, out of memory) before answering."""


_lock = threading.Lock()
_workers = 1
_pool: ProcessPoolExecutor | None = None


def configure(workers: int) -> None:
    """Use ``workers`` processes from now on (0: threads). Called once at start-up."""
    global _workers, _pool
    with _lock:
        if workers == _workers:
            return
        _workers = workers
        old, _pool = _pool, None
    if old is not None:
        old.shutdown(wait=False, cancel_futures=False)


def _executor() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _workers <= 0:
            return None
        if _pool is None:
            # Not fork: the server has threads (database, speech models) that a forked
            # child would inherit mid-operation.
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(max_workers=_workers, mp_context=context)
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


async def run(function: Callable[[*Ts], R], /, *args: *Ts) -> R:
    """``function(*args)`` in the process pool (or a thread), awaited without blocking.

    Raises what ``function`` raised, or ``WorkerLost`` if its process died; the next
    call then gets a fresh pool. (Never retried here: the input that killed a worker
    would take the server down with it in a thread.)"""
    pool = _executor()
    if pool is None:
        return await asyncio.to_thread(function, *args)
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(pool, function, *args)
    except BrokenExecutor as broken:
        _discard(pool)
        raise WorkerLost("the worker process died") from broken
