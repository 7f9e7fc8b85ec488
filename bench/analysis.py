"""What one sweep point of the load benchmark measured: latency summaries of the turns,
CPU of each process over the idle, live and speaking windows, memory, saturation.

``bench/README.md`` says what each number means.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from typing import Any

from bench import procstat, report
from bench.candidate import CandidateResult, FrameClock


@dataclass
class Sample:
    """A snapshot of every process, with how many candidates spoke when it was taken and
    how often a candidate had started or stopped speaking by then."""

    snapshot: procstat.Snapshot
    speaking: int
    changes: int


def _mb(value: int | None) -> float | None:
    return None if value is None else round(value / 2**20, 2)


def _cpu_over(start: procstat.Snapshot, end: procstat.Snapshot) -> dict[str, float | None]:
    found: dict[str, float | None] = {
        name: _round(procstat.cpu_percent(start, end, name)) for name in start.processes
    }
    found["others"] = _round(procstat.others_percent(start, end))
    found["machine"] = _round(procstat.machine_percent(start, end))
    return found


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def _speaking_windows(samples: list[Sample], sessions: int) -> tuple[float, dict[str, float]]:
    """Seconds during which all ``sessions`` candidates were speaking, and the CPU seconds
    each process (and the machine, as busy seconds) used in them."""
    seconds, used = 0.0, dict[str, float]()
    for a, b in zip(samples, samples[1:], strict=False):
        if a.speaking == b.speaking == sessions and a.changes == b.changes:
            seconds += b.snapshot.at - a.snapshot.at
            for name, sample in b.snapshot.processes.items():
                before = a.snapshot.processes.get(name)
                if before is not None:
                    used[name] = used.get(name, 0.0) + sample.cpu_s - before.cpu_s
            busy = b.snapshot.machine.busy_s - a.snapshot.machine.busy_s
            used["machine"] = used.get("machine", 0.0) + busy
    return seconds, used


def _above_idle(busy: float | None, idle: float | None, sessions: int) -> float | None:
    if busy is None or idle is None:
        return None
    return _round((busy - idle) / sessions)


def _join_cost(marks: dict[str, procstat.Snapshot], sessions: int) -> float | None:
    """Server CPU per session from the first connection to every session ``ready``:
    handshake, authorization, database, opening the provider sockets."""
    start, ready = marks.get("start"), marks.get("connected")
    if start is None or ready is None:
        return None
    a, b = start.processes.get("server"), ready.processes.get("server")
    if a is None or b is None:
        return None
    return round((b.cpu_s - a.cpu_s) / sessions * 1000, 1)


def _saturation(live: dict[str, float | None], clock: FrameClock) -> dict[str, Any]:
    """Who ran out of CPU while the sessions were live, in words and numbers."""
    cores = os.cpu_count() or 1
    machine, server = live.get("machine"), live.get("server")
    late = report.summary(clock.lateness_ms)["p99"]
    if machine is None or server is None:
        verdict = "no live window measured"
    elif machine >= 90:
        shares = ", ".join(
            f"{name} {live[name]:.0f} %"
            for name in ("server", "fakes", "loadgen", "others")
            if live.get(name) is not None
        )
        verdict = (
            f"the machine is saturated: {machine:.0f} % of {cores} cores busy ({shares} of one "
            f"core); the server used {server:.0f} % of the one core its event loop can use"
        )
    elif server >= 90:
        verdict = f"the server's event loop is saturated: {server:.0f} % of one core"
    else:
        verdict = f"not saturated: machine {machine:.0f} %, server {server:.0f} % of one core"
    return {
        "machine_busy_pct": machine,
        "server_core_pct": server,
        "server_headroom_pct": None if server is None else round(max(0.0, 100 - server), 1),
        "loadgen_lateness_p99_ms": late,
        "load_generator_late": late is not None and late > 20,
        "verdict": verdict,
    }


def _timeline(samples: list[Sample], origin: float) -> list[dict[str, Any]]:
    """Per sampling interval: seconds since all sessions were ready, how many candidates
    were speaking, and each process's CPU (% of one core) — to see when saturation came."""
    rows = []
    for a, b in zip(samples, samples[1:], strict=False):
        cpu = {name: _round(procstat.cpu_percent(a.snapshot, b.snapshot, name), 1)
               for name in b.snapshot.processes}  # fmt: skip
        cpu["machine"] = _round(procstat.machine_percent(a.snapshot, b.snapshot), 1)
        rows.append({"t": round(b.snapshot.at - origin, 2), "speaking": b.speaking, "cpu": cpu})
    return rows


def analyse_point(
    sessions: int,
    results: list[CandidateResult],
    *,
    idle: tuple[procstat.Snapshot, procstat.Snapshot],
    marks: dict[str, procstat.Snapshot],
    samples: list[Sample],
    clock: FrameClock,
    subtracted_ms: float,
    duration_s: float,
) -> dict[str, Any]:
    """One sweep point's entry in the JSON; ``subtracted_ms`` is what voice-to-voice must
    include whatever the server does (``Options.subtracted_ms``)."""
    turns = [answer for result in results for answer in result.answers]
    metrics = {
        name: report.summary(t.server_metrics[name] for t in turns if name in t.server_metrics)
        for name in report.SERVER_METRICS
    }
    overhead = [
        sum(t.server_metrics[name] for name in report.INSIDE_SERVER)
        for t in turns
        if all(name in t.server_metrics for name in report.INSIDE_SERVER)
    ]
    server_v2v = [
        t.server_metrics["voice_to_voice_ms"]
        for t in turns
        if "voice_to_voice_ms" in t.server_metrics
    ]
    client_v2v = [
        t.client_voice_to_voice_ms for t in turns if t.client_voice_to_voice_ms is not None
    ]

    idle_start, idle_end = idle
    live_start = marks.get("connected", idle_end)
    live_end = marks.get("first_done", marks["end"])
    speaking_s, speaking_cpu = _speaking_windows(samples, sessions)
    cores = os.cpu_count() or 1
    speaking_pct: dict[str, float | None] = {
        name: _round(used / speaking_s * 100) if speaking_s else None
        for name, used in speaking_cpu.items()
        if name != "machine"
    }
    busy = speaking_cpu.pop("machine", 0.0)
    ours = sum(speaking_cpu.values())
    speaking_pct["others"] = (
        _round(max(0.0, busy - ours) / speaking_s * 100) if speaking_s else None
    )
    speaking_pct["machine"] = _round(busy / speaking_s / cores * 100) if speaking_s else None
    live_cpu = _cpu_over(live_start, live_end)
    server_speaking = speaking_pct.get("server")
    server_live = live_cpu.get("server")
    idle_server = procstat.cpu_percent(idle_start, idle_end, "server")

    in_window = [s.snapshot for s in samples if live_start.at <= s.snapshot.at <= live_end.at] or [
        live_end
    ]
    rss: dict[str, dict[str, float | None]] = {}
    for name in idle_end.processes:
        peak = max(
            (snap.processes[name].rss_bytes for snap in in_window if name in snap.processes),
            default=None,
        )
        rss[name] = {
            "idle": _mb(idle_end.processes[name].rss_bytes),
            "connected": _mb(live_start.processes[name].rss_bytes)
            if name in live_start.processes
            else None,
            "peak": _mb(peak),
            "end": _mb(marks["end"].processes[name].rss_bytes)
            if name in marks["end"].processes
            else None,
        }
    server_rss = rss.get("server", {})

    def growth(key: str) -> float | None:
        value, base = server_rss.get(key), server_rss.get("idle")
        return None if value is None or base is None else round((value - base) / sessions, 3)

    return {
        "sessions": sessions,
        "completed": sum(result.completed for result in results),
        "errors": dict(Counter(r.error for r in results if r.error)),
        "error_events": dict(sum((r.error_events for r in results), Counter[str]())),
        "answers": len(turns),
        "duration_s": round(duration_s, 1),
        "metrics_ms": metrics,
        "server_overhead_ms": report.summary(overhead),
        "client_voice_to_voice_ms": report.summary(client_v2v),
        "added_overhead_ms": {
            "subtracted_ms": subtracted_ms,
            "server_measured": report.summary(v - subtracted_ms for v in server_v2v),
            "client_measured": report.summary(v - subtracted_ms for v in client_v2v),
        },
        "cpu": {
            "idle": _cpu_over(idle_start, idle_end),
            "live": live_cpu,
            "live_window_s": round(live_end.at - live_start.at, 2),
            "speaking": speaking_pct,
            "speaking_window_s": round(speaking_s, 2),
            "server_per_session_speaking_pct": _round(
                server_speaking / sessions if server_speaking is not None else None
            ),
            "server_per_session_speaking_above_idle_pct": _above_idle(
                server_speaking, idle_server, sessions
            ),
            "server_per_session_live_pct": _round(
                server_live / sessions if server_live is not None else None
            ),
            "runqueue_wait_ms_per_s": {
                name: _round(procstat.runqueue_wait_per_s(live_start, live_end, name), 1)
                for name in live_start.processes
            },
        },
        "rss_mb": rss,
        "rss_growth_per_session_mb": {"connected": growth("connected"), "peak": growth("peak")},
        "server_join_cpu_ms_per_session": _join_cost(marks, sessions),
        "saturation": _saturation(live_cpu, clock),
        "loadgen_tick_lateness_ms": report.summary(clock.lateness_ms),
        "timeline": _timeline(samples, live_start.at),
    }
