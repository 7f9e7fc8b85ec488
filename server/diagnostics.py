"""What the operator is told about the providers: where their model files come from (for
``intrvuer doctor``) and how late the event loop runs (``LOOP_LAG_PROBE_MS``)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from server.settings import Settings

log = logging.getLogger("intrvuer.providers")


def whisper_origin(s: Settings) -> str:
    """Which Whisper model local recognition would load, and why."""
    from voices.whisper import resolve_whisper_model

    try:
        model, source = resolve_whisper_model(s.whisper_model, s.data_dir)
    except LookupError as missing:
        return str(missing)
    return f"Whisper model {model}: {source}"


def kokoro_files(s: Settings) -> str:
    """Where the Kokoro model and voices come from, and why."""
    from voices.models import resolve_kokoro

    try:
        found = resolve_kokoro(
            data_dir=s.data_dir.resolve(),
            model=s.kokoro_model,
            voices=s.kokoro_voices,
            prepare=False,
        )
    except LookupError as missing:
        return f"none: {missing}"
    return found.describe()


class LoopLagProbe:
    """Measures how late the event loop wakes a sleeper (``LOOP_LAG_PROBE_MS``) and logs
    its p50/p99/max every 5 s, with the counters of ``stats``: a blocked loop shows up as
    lag."""

    def __init__(
        self,
        interval_s: float,
        report_s: float = 5.0,
        stats: Callable[[], dict[str, float | int]] = dict,
    ) -> None:
        self.interval_s = interval_s
        self.stats = stats
        self.report_s = report_s
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-probe")

    async def _run(self) -> None:
        window: list[float] = []
        reported = time.monotonic()
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval_s)
            lag_ms = max(0.0, (time.monotonic() - before - self.interval_s) * 1000)
            # Only the report's window is kept: a history of every sample would be
            # memory that grows for the first quarter hour of a run, read by no one.
            window.append(lag_ms)
            if time.monotonic() - reported >= self.report_s and len(window) >= 2:
                cuts = statistics.quantiles(window, n=100)
                log.info(
                    "event loop lag",
                    extra={
                        "lag_p50_ms": round(cuts[49], 2),
                        "lag_p99_ms": round(cuts[98], 2),
                        "lag_max_ms": round(max(window), 2),
                        "samples": len(window),
                        # A task that is never awaited or cancelled shows up as growth
                        # here over a long run (bench/soak.py reads it).
                        "tasks": len(asyncio.all_tasks()),
                        **self.stats(),
                    },
                )
                window = []
                reported = time.monotonic()

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
