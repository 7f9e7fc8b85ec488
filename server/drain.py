"""Graceful drain: how an instance stops on SIGTERM without cutting live interviews.

Once draining, the instance takes no new live session: ``/readyz`` answers 503 (the load
balancer takes the instance out), and tickets and WebSocket upgrades answer 503
``draining`` with ``Retry-After``, so a client asks again and reaches another instance.
Live interviews go on for up to ``DRAIN_TIMEOUT_S``; the sessions still live then are
told ``error server_restarting`` (not fatal) and closed with 1012, and their clients
reconnect with a new ticket wherever the load balancer sends them, from the turns stored
so far. The server stops once no session is left (at once when none was live).

``DrainingServer`` is uvicorn's server with SIGTERM and SIGINT turned into a drain; a
second SIGINT still stops at once. A worker of ``intrvuer serve --workers N`` drains too
when its supervisor is gone (killed, even by SIGKILL), without waiting: nothing would
restart it, and its clients are better off on another instance now.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Iterator
from types import FrameType

import uvicorn

log = logging.getLogger("intrvuer.drain")

# What a refused ticket or upgrade tells the client to wait before it asks again: by then
# the load balancer has usually seen ``/readyz`` fail and sends it elsewhere.
RETRY_AFTER_S = 1
# How long sessions told ``server_restarting`` may take to close before the server stops
# anyway (uvicorn then closes what is left with 1012 too).
CLOSE_GRACE_S = 10.0
# A Ctrl-C reaches a worker twice, from the terminal and forwarded by its supervisor
# (as SIGTERM): signals this close to the first are the same request to drain.
_SAME_SIGNAL_S = 1.0
# Paths that start a live session (ticket creation and the WebSocket upgrade).
TICKET_SUFFIX = "/ticket"
LIVE_SUFFIX = "/live"
INTERVIEWS_PREFIX = "/v1/interviews/"


def starts_live_session(method: str, path: str) -> bool:
    """Whether a request would start a live session: a ticket, or the live upgrade."""
    if not path.startswith(INTERVIEWS_PREFIX):
        return False
    rest = path[len(INTERVIEWS_PREFIX) :]
    interview_id, _, tail = rest.partition("/")
    if not interview_id:
        return False
    if method == "POST" and "/" + tail == TICKET_SUFFIX:
        return True
    return method == "GET" and "/" + tail == LIVE_SUFFIX


class Drain:
    """The drain state of one server process, and the count of its live sessions."""

    def __init__(
        self, timeout_s: float, *, on_live_change: Callable[[int], None] | None = None
    ) -> None:
        self.timeout_s = timeout_s
        self._on_live_change = on_live_change
        self.live = 0
        self.draining = False
        # Set when the sessions still live must end now (``server_restarting``).
        self.expired = False
        self._deadline = 0.0
        self._expired_at = 0.0
        self._watchers: set[Callable[[], None]] = set()

    def begin(self, timeout_s: float | None = None) -> None:
        """Stop taking live sessions; those live get ``timeout_s`` (``DRAIN_TIMEOUT_S``)."""
        wait_s = self.timeout_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + wait_s
        if self.draining and deadline >= self._deadline:
            return
        if not self.draining:
            log.info("draining", extra={"live_sessions": self.live, "timeout_s": wait_s})
        self.draining = True
        self._deadline = deadline

    def finished(self) -> bool:
        """Called periodically while draining: moves the drain on; True once the server
        may stop."""
        if not self.draining:
            return False
        now = time.monotonic()
        if self.live == 0:
            return True
        if not self.expired and now >= self._deadline:
            log.info("drain timeout: asking live sessions to reconnect elsewhere",
                     extra={"live_sessions": self.live})  # fmt: skip
            self.expired = True
            self._expired_at = now
            for watcher in list(self._watchers):
                watcher()
        return self.expired and now - self._expired_at >= CLOSE_GRACE_S

    @contextlib.contextmanager
    def holding(self, on_expiry: Callable[[], None]) -> Iterator[None]:
        """Count one live session while it runs; ``on_expiry`` is called (once) when the
        drain timeout asks it to end, or at once if it already did."""
        self._set_live(self.live + 1)
        self._watchers.add(on_expiry)
        try:
            if self.expired:
                on_expiry()
            yield
        finally:
            self._watchers.discard(on_expiry)
            self._set_live(self.live - 1)

    def _set_live(self, count: int) -> None:
        self.live = count
        if self._on_live_change is not None:
            self._on_live_change(count)


class DrainingServer(uvicorn.Server):
    """uvicorn's server, which drains on SIGTERM and SIGINT instead of stopping at once.

    ``parent_pid``: a worker's supervisor; the worker drains without waiting once it is
    gone (checked every tick, 0.1 s)."""

    def __init__(self, config: uvicorn.Config, drain: Drain, *, parent_pid: int | None = None):
        super().__init__(config)
        self.drain = drain
        self.parent_pid = parent_pid
        self._drain_requested_at = 0.0  # time.monotonic() of the first SIGTERM or SIGINT

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Not recorded as a captured signal: uvicorn would raise it again after shutdown,
        # and the process would end "killed by SIGTERM" instead of exiting 0.
        now = time.monotonic()
        if self._drain_requested_at == 0:
            self._drain_requested_at = now
        elif sig == signal.SIGINT and now - self._drain_requested_at > _SAME_SIGNAL_S:
            self.should_exit = True  # a second Ctrl-C: stop now, closing with 1012

    async def on_tick(self, counter: int) -> bool:
        if self.parent_pid is not None and os.getppid() != self.parent_pid:
            log.warning("the supervisor is gone; draining at once")
            self.drain.begin(timeout_s=0)
            self.parent_pid = None
        if self._drain_requested_at and not self.drain.draining:
            self.drain.begin()
        if self.drain.finished():
            self.should_exit = True
        return await super().on_tick(counter)
