"""The event loop of the benchmark's own processes (the load generator and the fakes)."""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any

from server.app import GC_THRESHOLDS

LOOPS = ("auto", "asyncio", "uvloop")


def add_loop_option(parser: argparse.ArgumentParser, help: str) -> None:
    """``--loop auto|asyncio|uvloop``: auto is uvloop when installed."""
    parser.add_argument("--loop", choices=LOOPS, default="auto", help=help)


def run(coroutine_factory: Callable[[], Coroutine[Any, Any, None]], loop: str) -> None:
    """Run ``coroutine_factory()`` on the chosen event loop.

    The fakes and the load generator stand in for remote providers and browsers, which
    pause for no Python garbage collector: like the server (``server.app``), they freeze
    their start-up objects and collect with the same thresholds, or their own pauses of
    50-120 ms would show up as provider latency in the server's metrics.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    if loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            if loop == "uvloop":
                raise SystemExit("--loop uvloop: uvloop is not installed") from None
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                runner.run(coroutine_factory())
            return
    asyncio.run(coroutine_factory())
