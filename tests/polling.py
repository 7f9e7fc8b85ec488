"""Waiting on state that has no event to wait on (a row another process writes)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], *, within: float = 10
) -> T:
    """Call ``probe`` until ``done(result)``, for at most ``within`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    result = await probe()
    for _ in range(int(within / 0.05) + 1):
        if done(result) or loop.time() > deadline:
            break
        await asyncio.sleep(0.05)
        result = await probe()
    assert done(result), f"gave up after {within} s waiting; last result: {result!r}"
    return result
