"""Processes as Linux's /proc shows them, for tests of what outlives what."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest

PROC = Path("/proc")


@dataclass(frozen=True, slots=True)
class Process:
    """A process, told apart from a later one given the same pid by its start time."""

    pid: int
    parent_pid: int
    started_ticks: int
    state: str


def _read(pid: int) -> Process | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (command) state ppid ..."; the command may hold spaces and parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    return Process(
        pid=pid, parent_pid=int(fields[1]), started_ticks=int(fields[19]), state=fields[0]
    )


def require_proc() -> None:
    if not (PROC / str(os.getpid()) / "stat").exists():
        pytest.skip("needs Linux's /proc")


def process(pid: int) -> Process | None:
    return _read(pid)


def children(pid: int) -> list[Process]:
    """The processes whose parent is ``pid`` now."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            child = _read(int(entry.name))
            if child is not None and child.parent_pid == pid:
                found.append(child)
    return found


def running(proc: Process) -> bool:
    """Whether ``proc`` still runs: a zombie has exited, only its parent has not reaped it
    (an orphan's new parent, PID 1 of a container, may never do so)."""
    now = _read(proc.pid)
    return now is not None and now.started_ticks == proc.started_ticks and now.state not in "ZX"
