"""Percentiles, summaries and target checks of the benchmark report."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench import procstat
from bench.report import evaluate_targets, percentile, summary


def test_percentile_interpolates_between_neighbours() -> None:
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile([7.0], 95) == 7.0
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_of_nothing_has_no_values() -> None:
    assert summary([]) == {
        "count": 0, "p50": None, "p95": None, "p99": None, "max": None, "mean": None,
    }  # fmt: skip
    stats = summary([3.0, 1.0, 2.0])
    assert stats["count"] == 3 and stats["p50"] == 2.0 and stats["max"] == 3.0


def _point(
    sessions: int, overhead_p99: float, v2v_p95: float, server_cpu: float = 0.0
) -> dict[str, Any]:
    return {
        "sessions": sessions,
        "server_overhead_ms": {"p50": 2.0, "p99": overhead_p99},
        "metrics_ms": {"voice_to_voice_ms": {"p95": v2v_p95}},
        "cpu": {
            "server_per_session_speaking_pct": server_cpu / sessions,
            "speaking": {"server": server_cpu},
        },
        "rss_growth_per_session_mb": {"peak": 1.0},
    }


def test_targets_compare_with_the_one_session_point() -> None:
    targets = evaluate_targets([_point(1, 10, 950), _point(100, 60, 990), _point(150, 40, 1100)])
    verdicts = {t["target"]: t["met"] for t in targets}
    assert verdicts["server overhead p99 ≤ 20 ms, 1 session"] is True
    assert verdicts["server overhead p99 ≤ 50 ms, 100 sessions"] is False
    assert verdicts["server overhead p99 ≤ 50 ms, 150 sessions"] is True
    assert verdicts["voice-to-voice p95 − 1-session p95 ≤ 100 ms, 150"] is False


def test_cpu_per_added_session_is_the_slope_of_the_sweep() -> None:
    # One session at 2 % of a core (a process woken for every frame) misses the
    # per-session target on its own; what each added session costs is the slope.
    targets = evaluate_targets([_point(1, 1, 600, 2.0), _point(101, 1, 600, 42.0)])
    found = {t["target"]: t for t in targets}
    assert found["server CPU per session while speaking ≤ 0.75 %, 1"]["met"] is False
    added = found["server CPU per added session ≤ 0.75 %, 1→101"]
    assert added["value"] == pytest.approx(0.4) and added["met"] is True


def test_procstat_reads_this_process() -> None:
    before = procstat.snapshot({"me": os.getpid()})
    sum(i * i for i in range(200_000))  # burn a little CPU
    after = procstat.snapshot({"me": os.getpid()})
    assert after.processes["me"].rss_bytes > 0
    used = procstat.cpu_percent(before, after, "me")
    assert used is not None and used > 0
    assert procstat.sample_process(2**22 + 12345) is None  # no such process
