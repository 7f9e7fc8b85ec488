"""The load benchmark end to end, small: 2 candidates × 1 answer against a real
``intrvuer serve`` and the fakes, each in its own process; its JSON must be complete."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import INSIDE_SERVER, SERVER_METRICS

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("voice_tools")


def _ordered(stats: dict[str, float | int | None]) -> bool:
    values = [stats[key] for key in ("p50", "p95", "p99", "max")]
    numbers = [float(v) for v in values if isinstance(v, float | int)]
    return len(numbers) == len(values) and numbers == sorted(numbers)


def test_two_sessions_one_answer(tmp_path: Path) -> None:
    out, png = tmp_path / "latency.json", tmp_path / "latency.png"
    command = [
        sys.executable, "-m", "bench.latency", "--sessions", "2", "--answers", "1",
        "--stagger-s", "0.5", "--turn-timeout-s", "20", "--out", str(out), "--plot", str(png),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    assert "server_overhead_ms (sum)" in run.stdout

    result = json.loads(out.read_text())
    assert result["config"]["sessions"] == [2]
    assert result["config"]["answers_per_session"] == 1
    subtracted = result["config"]["subtracted_ms"]
    assert subtracted["total"] == pytest.approx(
        sum(v for k, v in subtracted.items() if k != "total")
    )
    (point,) = result["points"]
    assert point["sessions"] == 2
    assert point["completed"] == 2, point["errors"]
    assert point["errors"] == {} and point["error_events"] == {}
    assert point["answers"] == 2

    for name in SERVER_METRICS:
        stats = point["metrics_ms"][name]
        assert stats["count"] == 2, name
        assert _ordered(stats), (name, stats)
    for name in INSIDE_SERVER:
        assert point["metrics_ms"][name]["p50"] >= 0
    for key in ("server_overhead_ms", "client_voice_to_voice_ms"):
        assert point[key]["count"] == 2 and _ordered(point[key]), key
    # The end of the turn is waited for in real time, so no reply can come sooner.
    v2v = point["metrics_ms"]["voice_to_voice_ms"]
    assert v2v["p50"] >= subtracted["turn_wait"] - 50
    added = point["added_overhead_ms"]["server_measured"]
    assert added["p50"] == pytest.approx(v2v["p50"] - subtracted["total"], abs=0.02)

    cpu = point["cpu"]
    for phase in ("idle", "live", "speaking"):
        for name in ("server", "fakes", "loadgen", "machine"):
            assert cpu[phase][name] is not None and cpu[phase][name] >= 0, (phase, name)
    assert cpu["speaking_window_s"] > 0
    assert cpu["server_per_session_speaking_pct"] > 0
    for name in ("server", "fakes", "loadgen"):
        assert point["rss_mb"][name]["idle"] > 0
    assert point["rss_growth_per_session_mb"]["peak"] is not None
    assert point["loadgen_tick_lateness_ms"]["count"] > 0
    assert isinstance(result["targets"], list) and result["targets"]

    if importlib.util.find_spec("matplotlib") is not None:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
