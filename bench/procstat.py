"""CPU time, memory and run-queue wait of processes, read from ``/proc`` (Linux only).

Reads of procfs never touch a disk, so the benchmark takes them on its event loop.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class ProcessSample:
    cpu_s: float  # CPU seconds (user + system) of the process's threads
    rss_bytes: int
    runqueue_wait_s: float  # time its threads were runnable but waited for a CPU


@dataclass(frozen=True, slots=True)
class MachineSample:
    busy_s: float  # CPU seconds spent on anything but idle and I/O wait, all cores
    total_s: float


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float  # time.monotonic()
    processes: dict[str, ProcessSample]
    machine: MachineSample


def sample_process(pid: int) -> ProcessSample | None:
    """The process's counters now, or None once it has exited."""
    root = Path(f"/proc/{pid}")
    try:
        stat = (root / "stat").read_text()
        status = (root / "status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    rss_kib = 0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            rss_kib = int(line.split()[1])
            break
    scheduled = _schedstat(root)
    if scheduled is not None:
        ran_s, waited_s = scheduled
        return ProcessSample(ran_s, rss_kib * 1024, waited_s)
    # The command name (field 2) may hold spaces; fields after it are plain numbers.
    fields = stat[stat.rindex(")") + 2 :].split()
    cpu_s = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime
    return ProcessSample(cpu_s, rss_kib * 1024, 0.0)


def _schedstat(root: Path) -> tuple[float, float] | None:
    """Nanosecond run time and run-queue wait, summed over the live threads.

    Preferred to ``stat``'s utime + stime, which count in clock ticks (10 ms): too coarse
    for a few seconds of a process that uses a few percent of a core. Threads that ended
    are missing from the sum; the processes measured here keep theirs (thread pools).
    """
    ran_ns = waited_ns = 0
    try:
        tasks = list((root / "task").iterdir())
    except FileNotFoundError:
        return None
    for task in tasks:
        try:
            fields = (task / "schedstat").read_text().split()
            ran_ns += int(fields[0])
            waited_ns += int(fields[1])
        except FileNotFoundError:
            continue  # a thread that ended between the listing and the read
        except (IndexError, ValueError):
            return None  # a kernel without schedstat
    return ran_ns / 1e9, waited_ns / 1e9


def sample_machine() -> MachineSample:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    # user nice system idle iowait irq softirq steal (guest time is inside user already)
    total = sum(values[:8])
    idle = values[3] + values[4]
    return MachineSample((total - idle) / CLOCK_TICKS, total / CLOCK_TICKS)


def snapshot(pids: Mapping[str, int]) -> Snapshot:
    """Counters of every named process (those still running) and of the whole machine."""
    found = {name: sample_process(pid) for name, pid in pids.items()}
    return Snapshot(
        time.monotonic(),
        {name: sample for name, sample in found.items() if sample is not None},
        sample_machine(),
    )


def _rate(start: Snapshot, end: Snapshot, name: str, seconds: str) -> float | None:
    """How many seconds per second of the field ``seconds`` of ``name`` grew by between
    two snapshots."""
    a, b = start.processes.get(name), end.processes.get(name)
    elapsed = end.at - start.at
    if a is None or b is None or elapsed <= 0:
        return None
    return float(getattr(b, seconds) - getattr(a, seconds)) / elapsed


def cpu_percent(start: Snapshot, end: Snapshot, name: str) -> float | None:
    """CPU used by ``name`` between two snapshots, in % of one core."""
    rate = _rate(start, end, name, "cpu_s")
    return None if rate is None else rate * 100


def runqueue_wait_per_s(start: Snapshot, end: Snapshot, name: str) -> float | None:
    """Milliseconds per second that ``name``'s threads waited for a CPU between snapshots."""
    rate = _rate(start, end, name, "runqueue_wait_s")
    return None if rate is None else rate * 1000


def others_percent(start: Snapshot, end: Snapshot) -> float | None:
    """CPU used by everything else on the machine between two snapshots, in % of one core:
    busy time of all cores less that of the named processes."""
    elapsed = end.at - start.at
    if elapsed <= 0:
        return None
    ours = sum(
        sample.cpu_s - start.processes[name].cpu_s
        for name, sample in end.processes.items()
        if name in start.processes
    )
    busy = end.machine.busy_s - start.machine.busy_s
    return max(0.0, busy - ours) / elapsed * 100


def machine_percent(start: Snapshot, end: Snapshot) -> float | None:
    """How busy all cores were between two snapshots, in % of the whole machine."""
    total = end.machine.total_s - start.machine.total_s
    if total <= 0:
        return None
    return (end.machine.busy_s - start.machine.busy_s) / total * 100
