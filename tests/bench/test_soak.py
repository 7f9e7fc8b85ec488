"""The soak benchmark's verdicts on a run (bench/soak.py ``analyse``)."""

from __future__ import annotations

from typing import Any

from bench.soak import Tally, analyse


def _minute(at_s: float, rss_mb: float, fds: int, tasks: int) -> dict[str, Any]:
    return {"at_s": at_s, "rss_mb": rss_mb, "open_fds": fds, "threads": 12, "tasks": tasks}


def test_growth_counts_from_the_first_quarter_to_the_end_of_the_run() -> None:
    minutes = [
        _minute(30, 150.0, 170, 1100),  # warm-up: heaps and pools fill
        _minute(120, 160.0, 178, 1190),
        _minute(180, 161.0, 179, 1195),
        _minute(240, 163.5, 180, 1192),
        # After the last minute the candidates wind down: their sockets and tasks close.
        _minute(250, 163.6, 29, 113),
    ]
    tally = Tally(answers=[(30.0, 400.0), (230.0, 420.0)], interviews=10)
    result = analyse(minutes, tally, duration_s=240)
    assert result["growth_after_first_quarter"] == {
        "rss_mb": 3.5,
        "open_fds": 2,
        "threads": 0,
        "tasks": 2,
    }
    assert result["targets"]["rss_growth_mb"]["met"] is True
    assert result["voice_to_voice_ms"]["p95_change_pct"] == 5.0
    assert result["targets"]["v2v_p95_change_pct"]["met"] is True


def test_a_heap_that_keeps_growing_misses_the_target() -> None:
    minutes = [_minute(60.0 * n, 150.0 + 2 * n, 178, 1190) for n in range(1, 11)]
    result = analyse(minutes, Tally(), duration_s=600)
    assert result["growth_after_first_quarter"]["rss_mb"] == 14.0
    assert result["targets"]["rss_growth_mb"]["met"] is False
    # No answers, no verdict on voice-to-voice.
    assert result["targets"]["v2v_p95_change_pct"]["met"] is False
