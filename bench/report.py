"""Summaries of a benchmark run: percentiles, the targets, a table and a plot; and what
every benchmark's command shares: its options, the fields its result opens with, and
writing it out."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import math
import os
import platform
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from bench.processes import code_version
from pipeline import metrics as turn_metrics

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# Per-turn metrics the server reports in each ``metrics`` event (docs/protocol.md).
SERVER_METRICS = turn_metrics.TURN_METRICS
INSIDE_SERVER = turn_metrics.INSIDE_SERVER


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of sorted values, interpolating between neighbours
    (numpy's default, "linear")."""
    if not ordered:
        raise ValueError("no values")
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summary(values: Iterable[float]) -> dict[str, float | int | None]:
    """count, p50, p95, p99, max and mean, in the values' unit (None when empty)."""
    ordered = sorted(values)
    if not ordered:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None}
    return {
        "count": len(ordered),
        "p50": round(percentile(ordered, 50), 2),
        "p95": round(percentile(ordered, 95), 2),
        "p99": round(percentile(ordered, 99), 2),
        "max": round(ordered[-1], 2),
        "mean": round(sum(ordered) / len(ordered), 2),
    }


def _find(points: Sequence[Mapping[str, Any]], sessions: int) -> Mapping[str, Any] | None:
    return next((p for p in points if p["sessions"] == sessions), None)


def _target(name: str, point: int, value: float | None, limit: float) -> dict[str, Any]:
    return {
        "target": name,
        "sessions": point,
        "value": None if value is None else round(value, 2),
        "limit": limit,
        "met": None if value is None else value <= limit,
    }


def evaluate_targets(points: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The issue's targets, for the sweep points that exist."""
    found: list[dict[str, Any]] = []
    one = _find(points, 1)
    if one is not None:
        overhead = one["server_overhead_ms"]
        found.append(_target("server overhead p50 ≤ 5 ms, 1 session", 1, overhead["p50"], 5))
        found.append(_target("server overhead p99 ≤ 20 ms, 1 session", 1, overhead["p99"], 20))
    for point in points:
        n = point["sessions"]
        if n >= 100:
            p99 = point["server_overhead_ms"]["p99"]
            found.append(_target(f"server overhead p99 ≤ 50 ms, {n} sessions", n, p99, 50))
    for point in points:
        n = point["sessions"]
        cpu = point["cpu"]["server_per_session_speaking_pct"]
        found.append(_target(f"server CPU per session while speaking ≤ 0.75 %, {n}", n, cpu, 0.75))
        if n >= 10:  # one session's growth is mostly noise of the allocator
            rss = point["rss_growth_per_session_mb"]["peak"]
            found.append(_target(f"server RSS growth per session ≤ 5 MB, {n}", n, rss, 5))
    sized = sorted(points, key=lambda point: point["sessions"])
    if len(sized) >= 2 and sized[-1]["sessions"] >= 10:
        # What each added session costs: one session's figure also holds the fixed cost
        # of a process woken for every 20 ms frame, which many sessions share.
        low, high = sized[0], sized[-1]
        added = high["sessions"] - low["sessions"]
        slope = (high["cpu"]["speaking"]["server"] - low["cpu"]["speaking"]["server"]) / added
        name = f"server CPU per added session ≤ 0.75 %, {low['sessions']}→{high['sessions']}"
        found.append(_target(name, high["sessions"], slope, 0.75))
    if one is not None and one["metrics_ms"]["voice_to_voice_ms"]["p95"] is not None:
        base = one["metrics_ms"]["voice_to_voice_ms"]["p95"]
        for point in points:
            n = point["sessions"]
            p95 = point["metrics_ms"]["voice_to_voice_ms"]["p95"]
            if n >= 150 and p95 is not None:
                found.append(
                    _target(f"voice-to-voice p95 − 1-session p95 ≤ 100 ms, {n}", n, p95 - base, 100)
                )
    return found


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = "  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True))
    body = ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, "-" * len(line), *body])


def render(result: Mapping[str, Any]) -> str:
    """A readable report of a whole run."""
    points = result["points"]
    out = [f"Live interview latency — {result['machine']['cpus']} CPUs, {result['created']}"]
    config = result["config"]
    out.append(
        "injected provider latency: "
        + ", ".join(f"{k} {v} ms" for k, v in config["injected_ms"].items())
        + f"; subtracted for 'added': {config['subtracted_ms']['total']} ms"
    )
    rows = []
    for p in points:
        v2v, client = p["metrics_ms"]["voice_to_voice_ms"], p["client_voice_to_voice_ms"]
        over, added = p["server_overhead_ms"], p["added_overhead_ms"]["server_measured"]
        cpu, rss = p["cpu"], p["rss_growth_per_session_mb"]
        rows.append(
            [
                str(p["sessions"]),
                f"{p['completed']}/{p['sessions']}",
                _fmt(v2v["p50"], 0),
                _fmt(v2v["p95"], 0),
                _fmt(v2v["p99"], 0),
                _fmt(client["p95"], 0),
                _fmt(over["p50"], 2),
                _fmt(over["p95"], 2),
                _fmt(over["p99"], 2),
                _fmt(added["p50"], 0),
                _fmt(added["p95"], 0),
                _fmt(cpu["server_per_session_speaking_pct"], 3),
                _fmt(rss["peak"], 2),
                _fmt(cpu["live"].get("server"), 0),
                _fmt(cpu["live"].get("fakes"), 0),
                _fmt(cpu["live"].get("loadgen"), 0),
                _fmt(cpu["live"].get("others"), 0),
                _fmt(cpu["live"].get("machine"), 0),
            ]
        )
    out.append("")
    out.append(
        _table(
            [
                "sess",
                "done",
                "v2v50",
                "v2v95",
                "v2v99",
                "cli95",
                "srv50",
                "srv95",
                "srv99",
                "add50",
                "add95",
                "cpu%/s",
                "MB/s",
                "srv%",
                "fake%",
                "gen%",
                "oth%",
                "mach%",
            ],
            rows,
        )
    )
    out.append(
        "v2v: server voice_to_voice_ms; cli: client-side voice-to-voice; srv: sum of the "
        "server_* metrics (time inside the server);\nadd: v2v minus injected provider time, "
        "endpointing and patience; cpu%/s: server CPU per session while all candidates "
        "speak (% of one core);\nMB/s: server RSS growth per session; srv/fake/gen/oth%: CPU "
        "of the server, the fakes, the load generator and all other processes while sessions "
        "are live (% of one core); mach%: all cores busy."
    )
    for p in points:
        out.append("")
        out.append(f"{p['sessions']} session(s), {p['answers']} answers — per-turn metrics (ms)")
        named = [
            *p["metrics_ms"].items(),
            ("server_overhead_ms (sum)", p["server_overhead_ms"]),
            ("client_voice_to_voice_ms", p["client_voice_to_voice_ms"]),
            ("added_overhead_ms (server)", p["added_overhead_ms"]["server_measured"]),
            ("added_overhead_ms (client)", p["added_overhead_ms"]["client_measured"]),
            ("loadgen tick lateness", p["loadgen_tick_lateness_ms"]),
        ]
        metric_rows = [
            [name, *(_fmt(stats[k], 2) for k in ("p50", "p95", "p99", "max")), str(stats["count"])]
            for name, stats in named
        ]
        out.append(_table(["metric", "p50", "p95", "p99", "max", "n"], metric_rows))
        out.append(_process_table(p))
        out.append(
            f"server CPU to join, per session: {_fmt(p['server_join_cpu_ms_per_session'])} ms; "
            f"per session while speaking: {_fmt(p['cpu']['server_per_session_speaking_pct'], 3)} % "
            f"({_fmt(p['cpu']['server_per_session_speaking_above_idle_pct'], 3)} % above idle)"
        )
        out.append(f"saturation: {p['saturation']['verdict']}")
        if p["errors"] or p["error_events"]:
            out.append(f"errors: {p['errors']}  error events: {p['error_events']}")
    if result.get("targets"):
        out.append("")
        out.append("targets:")
        for t in result["targets"]:
            verdict = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
            out.append(f"  [{verdict:>6}] {t['target']}: {_fmt(t['value'], 2)} (≤ {t['limit']})")
    return "\n".join(out)


def _process_table(point: Mapping[str, Any]) -> str:
    cpu, rss = point["cpu"], point["rss_mb"]
    rows = []
    for name in ("server", "fakes", "loadgen"):
        rows.append(
            [
                name,
                _fmt(cpu["idle"].get(name), 1),
                _fmt(cpu["live"].get(name), 1),
                _fmt(cpu["speaking"].get(name), 1),
                _fmt(cpu["runqueue_wait_ms_per_s"].get(name), 1),
                _fmt(rss.get(name, {}).get("idle"), 1),
                _fmt(rss.get(name, {}).get("connected"), 1),
                _fmt(rss.get(name, {}).get("peak"), 1),
            ]
        )
    # Without a process of their own: no run-queue wait or memory to show.
    for name in ("others", "machine"):
        phases = [_fmt(cpu[phase].get(name), 1) for phase in ("idle", "live", "speaking")]
        rows.append([name, *phases, "-", "-", "-", "-"])
    header = [
        "process", "idle%", "live%", "speak%", "rq ms/s", "RSS idle", "RSS conn", "RSS peak"
    ]  # fmt: skip
    return _table(header, rows)


def plot(result: Mapping[str, Any], path: Path) -> bool:
    """Write the PNG; False when matplotlib is not installed (the ``bench`` extra)."""
    plt = pyplot()
    if plt is None:
        return False
    points = sorted(result["points"], key=lambda p: p["sessions"])
    sessions = [p["sessions"] for p in points]
    figure, (v2v_axes, over_axes, cpu_axes) = plt.subplots(1, 3, figsize=(16, 5))
    for q, style in (("p50", "-o"), ("p95", "-s"), ("p99", "-^")):
        v2v_axes.plot(
            sessions,
            [p["metrics_ms"]["voice_to_voice_ms"][q] for p in points],
            style,
            label=f"server {q}",
        )
        v2v_axes.plot(
            sessions,
            [p["client_voice_to_voice_ms"][q] for p in points],
            style,
            alpha=0.5,
            label=f"client {q}",
        )
        over_axes.plot(sessions, [p["server_overhead_ms"][q] for p in points], style, label=q)
    v2v_axes.set(title="voice-to-voice", xlabel="concurrent sessions", ylabel="ms")
    over_axes.set(
        title="time inside the server (sum of server_* metrics)",
        xlabel="concurrent sessions",
        ylabel="ms",
    )
    for name in ("server", "fakes", "loadgen", "others", "machine"):
        values = [p["cpu"]["live"].get(name) for p in points]
        label = {"machine": "machine (% of all cores)", "others": "other processes"}.get(name, name)
        cpu_axes.plot(sessions, values, "-o", label=label)
    cores = result["machine"]["cpus"]
    cpu_axes.axhline(100, color="grey", linestyle=":", label="one core")
    cpu_axes.set(
        title=f"CPU while sessions are live ({cores} cores)",
        xlabel="concurrent sessions",
        ylabel="% of one core",
    )
    for axes in (v2v_axes, over_axes, cpu_axes):
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return True


def pyplot() -> Any | None:
    """matplotlib's pyplot drawing to files, or None when it is not installed (the
    ``bench`` extra)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    return plt


def publish(
    result: Mapping[str, Any],
    out: Path,
    text: str,
    plot_path: Path | None,
    draw: Callable[[Any, Path], bool],
) -> None:
    """Write a benchmark's JSON, print its summary, and draw its PNG when asked to."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(text)
    print(f"\nJSON: {out}")
    if plot_path is not None and draw(result, plot_path):
        print(f"plot: {plot_path}")


class Published(Protocol):
    """The options of a benchmark that writes a JSON and may draw a PNG."""

    @property
    def out(self) -> Path: ...

    @property
    def plot(self) -> Path | None: ...


OptionsT = TypeVar("OptionsT", bound=Published)
DataclassT = TypeVar("DataclassT", bound="DataclassInstance")


def options_from(cls: type[DataclassT], args: argparse.Namespace, **given: Any) -> DataclassT:
    """A benchmark's options from its parsed command line: each field from the argument of
    the same name, unless ``given`` holds it (a value the command works out); a field with
    neither keeps its default."""
    parsed = {
        field.name: getattr(args, field.name)
        for field in dataclasses.fields(cls)
        if field.name not in given and hasattr(args, field.name)
    }
    return cls(**parsed, **given)


def command(
    argv: Sequence[str] | None,
    parse_options: Callable[[Sequence[str] | None], OptionsT],
    benchmark: Callable[[OptionsT], Coroutine[Any, Any, dict[str, Any]]],
    render: Callable[[dict[str, Any]], str],
    draw: Callable[[Any, Path], bool],
) -> int:
    """A benchmark's ``main``: its options, one run, then its JSON, summary and PNG."""
    options = parse_options(argv)
    result = asyncio.run(benchmark(options))
    publish(result, options.out, render(result), options.plot, draw)
    return 0


def now() -> str:
    """The time as results record it: UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def opening(benchmark: str, created: str, code: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields a result starts with: which benchmark, when it started (``created``) and
    finished (now), the code measured (read now unless ``code`` was read at the start) and
    the machine."""
    return {
        "benchmark": benchmark,
        "created": created,
        "finished": now(),
        "code": code_version() if code is None else code,
        "machine": machine(),
    }


def machine() -> dict[str, Any]:
    """The machine a result was measured on, with its load when the run ended."""
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": os.getloadavg(),
    }
