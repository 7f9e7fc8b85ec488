"""CPU-heavy pure functions (reading documents, parsing, heuristic scoring), off the loop.

A worker thread keeps such work off the event loop but not off the interpreter: pure
Python holds the GIL, so while a resume is parsed or an interview scored, every live
session of the process waits up to a switch interval (5 ms) at each step, over and over.
A process pool keeps the work out of the interpreter that serves live audio. One pool per
process, made on first use; ``configure(0)`` (``CPU_WORKERS=0``) uses threads instead.

Functions sent to the pool must be importable module-level functions, and their
arguments, results and exceptions picklable.

``cpu_limit_s`` bounds the CPU time of one call in the pool: a document built to keep a
parser busy for minutes would otherwise hold a worker, and every upload queued behind it.
The limit is a CPU-time timer of the worker process (``ITIMER_PROF``), so a busy machine
does not make an honest document fail; in threads (``CPU_WORKERS=0``) there is none, since
signals reach only a process's main thread.

A pool process exits with the server that started it, however the server went: a clean
stop calls ``shutdown``; a SIGKILL or a crash runs no clean-up, so each pool process also
watches its parent (``_follow_parent``) and exits once it is gone.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, ProcessPoolExecutor
from types import FrameType
from typing import TypeVar, TypeVarTuple

R = TypeVar("R")
Ts = TypeVarTuple("Ts")


class WorkerLost(RuntimeError):
    """The process running the function died (killed, out of memory) before answering."""


class CpuLimitExceeded(BaseException):
    """The function used more CPU time than ``run`` allowed it; it was stopped.

    Not an ``Exception``: it is raised inside whatever the function was doing, and a
    reader's ``except Exception`` (a PDF library turning its errors into "damaged file")
    must not take it for a failure of its own.
    """


_lock = threading.Lock()
_workers = 1
_pool: ProcessPoolExecutor | None = None

# prctl(2) option: a signal the kernel sends this process when its parent ends.
_PR_SET_PDEATHSIG = 1
# The fallback watch: a pool process outlives its parent by at most this.
_PARENT_POLL_S = 0.5


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
            _pool = ProcessPoolExecutor(
                max_workers=_workers,
                mp_context=context,
                initializer=_follow_parent,
                initargs=(os.getpid(),),
            )
        return _pool


async def shutdown() -> None:
    """Stop the pool's processes, letting a call already running finish (at most its
    ``cpu_limit_s``); calls still waiting are cancelled. For the server's shutdown; a
    later ``run`` makes a new pool."""
    global _pool
    with _lock:
        old, _pool = _pool, None
    if old is not None:
        await asyncio.to_thread(old.shutdown, wait=True, cancel_futures=True)


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def _follow_parent(parent_pid: int) -> None:
    """In each pool process, first: exit as soon as ``parent_pid`` (the server) is gone.

    Its pipes do not tell it: every pool process holds both ends of the call queue, so a
    dead server leaves it waiting for work forever. On Linux the kernel signals the death
    (PR_SET_PDEATHSIG); elsewhere, and should that fail, a thread sees the parent process
    id change when the process is re-parented."""
    if sys.platform.startswith("linux"):
        _exit_on_parent_death_signal(parent_pid)
    _start_parent_watch(parent_pid)


def _exit_on_parent_death_signal(parent_pid: int) -> None:
    def parent_gone(signum: int, frame: FrameType | None) -> None:
        # The kernel sends the signal when the *thread* that spawned this process ends,
        # and a pool process is spawned by whichever thread first needed it; only a
        # changed parent process id means the server itself is gone.
        if os.getppid() != parent_pid:
            os._exit(1)

    # SIGHUP, "the other end went away": unused by the pool's work, and its default action
    # (exit) is right too should it come before the handler is set.
    signal.signal(signal.SIGHUP, parent_gone)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGHUP), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # the watch thread still sees the parent go, within _PARENT_POLL_S


def _start_parent_watch(parent_pid: int) -> None:
    threading.Thread(
        target=_watch_parent, args=(parent_pid,), name="cpu-parent-watch", daemon=True
    ).start()
    if os.getppid() != parent_pid:
        # The server died before the watch began: nobody is left to signal its death.
        os._exit(1)


def _watch_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(_PARENT_POLL_S)
    os._exit(1)


def _within(limit_s: float, function: Callable[[*Ts], R], *args: *Ts) -> R:
    """In the worker process: ``function(*args)``, stopped after ``limit_s`` of CPU time."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise CpuLimitExceeded(f"stopped after {limit_s:g} s of CPU time")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, limit_s)
    try:
        return function(*args)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


async def run(function: Callable[[*Ts], R], /, *args: *Ts, cpu_limit_s: float | None = None) -> R:
    """``function(*args)`` in the process pool (or a thread), awaited without blocking.

    Raises what ``function`` raised, ``CpuLimitExceeded`` if it ran past ``cpu_limit_s``
    of CPU time (pool only; the worker stays usable), or ``WorkerLost`` if its process
    died; the next call then gets a fresh pool. (Never retried here: the input that
    killed a worker would take the server down with it in a thread.)"""
    pool = _executor()
    if pool is None:
        return await asyncio.to_thread(function, *args)
    loop = asyncio.get_running_loop()
    try:
        if cpu_limit_s is None:
            return await loop.run_in_executor(pool, function, *args)
        return await loop.run_in_executor(pool, _within, cpu_limit_s, function, *args)
    except BrokenExecutor as broken:
        _discard(pool)
        raise WorkerLost("the worker process died") from broken
