"""``intrvuer serve``: one server process, or ``--workers N`` of them on one port.

With N > 1 a supervisor binds the listening socket once and starts N worker processes
(spawned, not forked: the server holds threads) that all accept on it, each with its own
event loop, its own offline models and its own CPU pool. One shared socket rather than
one ``SO_REUSEPORT`` socket per worker: the kernel's ``SO_REUSEPORT`` hash spreads
connections by address and port, blind to how many each worker holds, and resets the
backlog of a worker that dies; on a shared socket the connections waiting in the backlog
go to the others. Left to the race for ``accept``, though, one worker took 20 of 30 live
sessions and the other 10; so each worker accepts only while it holds no more open
connections than the least loaded one (``WorkerServer``), and a new connection waits at
most 20 ms for that one before any worker takes it. ``docs/deploy.md`` gives the spread.

What must happen once, before any worker starts, happens in the supervisor: the
development signing secret and key file are created (two workers creating them at once
would each make their own), and migrations are applied.

A worker that exits while the supervisor is not stopping is started again, after 0.5 s
doubling to 30 s while it keeps failing (back to 0.5 s once one ran for a minute). On
SIGTERM or SIGINT the supervisor forwards the signal; each worker drains
(``server/drain.py``) and the supervisor exits 0 once all of them exited cleanly.
Workers exit with their supervisor however it ends: a worker checks its parent every
0.1 s and drains at once when it is gone, and exits within ``_ORPHAN_EXIT_S`` even if
that drain cannot finish.

The supervisor shares, in a little shared memory, each worker's process id and live
session count; a worker's ``/metrics`` reports the whole instance from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import multiprocessing.connection
import os
import select
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn

from pipeline import cpu
from server.drain import Drain, DrainingServer
from server.logs import configure_logging
from server.settings import Settings

log = logging.getLogger("intrvuer.supervisor")

RESTART_FIRST_S = 0.5
RESTART_MAX_S = 30.0
RESTART_RESET_AFTER_S = 60.0  # a worker that ran this long failed "for the first time" again
_ORPHAN_EXIT_S = 60.0  # an orphaned worker's drain may take this long, at most
_BACKLOG = 2048
# A worker that is not the least loaded leaves a new connection to one that is for this
# long, looking again this often. With no connection waiting it sleeps until one comes
# (every worker wakes then and looks at its share), or this long at most: waking ten
# times a second, an idle worker took 0.75 % of a core; once a second, 0.38 %.
_DEFER_S = 0.02
_DEFER_POLL_S = 0.005
_IDLE_POLL_S = 1.0
# How long uvicorn waits for connections (closed with 1012) and tasks once a drain ended.
GRACEFUL_SHUTDOWN_S = 15


@dataclass(frozen=True)
class WorkerSlots:
    """Each worker's process id (0: not running) and live sessions, in shared memory."""

    pids: Any  # multiprocessing RawArray of c_longlong
    live: Any
    connections: Any  # open connections (HTTP and WebSocket) of each worker

    @classmethod
    def create(cls, count: int) -> WorkerSlots:
        context = multiprocessing.get_context("spawn")
        return cls(
            pids=context.RawArray(ctypes.c_longlong, count),
            live=context.RawArray(ctypes.c_longlong, count),
            connections=context.RawArray(ctypes.c_longlong, count),
        )

    def fewest_connections(self) -> int:
        """The fewest open connections of any running worker."""
        counts = [int(n) for n, pid in zip(self.connections, self.pids, strict=True) if pid]
        return min(counts, default=0)

    def running(self) -> int:
        return sum(1 for pid in self.pids if pid)

    def live_total(self) -> int:
        return int(sum(self.live))

    def live_by_worker(self) -> list[int]:
        return [int(count) for count in self.live]


@dataclass(frozen=True)
class WorkerSlot:
    """One worker's place in ``WorkerSlots``."""

    slots: WorkerSlots
    index: int

    def set_live(self, count: int) -> None:
        self.slots.live[self.index] = count

    def set_connections(self, count: int) -> None:
        self.slots.connections[self.index] = count

    def least_loaded(self) -> bool:
        """Whether no running worker has fewer open connections than this one."""
        return int(self.slots.connections[self.index]) <= self.slots.fewest_connections()


class WorkerServer(DrainingServer):
    """A worker's server, which accepts on the shared socket only while it is among the
    workers with the fewest open connections.

    Live interviews are long WebSocket connections, so whichever worker happens to win
    the race to ``accept`` would otherwise end up holding most of them (measured: 20 and
    10 of 30 sessions over two workers). The others leave a new connection to the least
    loaded worker for up to ``_DEFER_S``; past that (that worker is busy) anyone takes it,
    so a connection never waits longer than that for the balance."""

    def __init__(
        self, config: uvicorn.Config, drain: Drain, *, slot: WorkerSlot, parent_pid: int
    ) -> None:
        super().__init__(config, drain, parent_pid=parent_pid)
        self.slot = slot
        self._accepting: asyncio.Task[None] | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        (listener,) = sockets or []
        await super().startup(sockets=[])  # the lifespan only: this class accepts itself
        config, state, app_state = self.config, self.server_state, self.lifespan.state

        def create_protocol() -> asyncio.Protocol:
            protocol: asyncio.Protocol = config.http_protocol_class(  # type: ignore[call-arg]
                config=config, server_state=state, app_state=app_state
            )
            return protocol

        self._accepting = asyncio.create_task(
            self._accept(listener, create_protocol), name="accept"
        )

    async def _accept(self, listener: socket.socket, create_protocol: Any) -> None:
        loop = asyncio.get_running_loop()
        listener.setblocking(False)
        pending_since: float | None = None
        while not self.should_exit:
            now = time.monotonic()
            if self.slot.least_loaded() or (
                pending_since is not None and now - pending_since >= _DEFER_S
            ):
                try:
                    connection, _ = listener.accept()
                except (BlockingIOError, InterruptedError):
                    pending_since = None
                except OSError as error:  # out of descriptors, say: try again shortly
                    log.warning("accept failed", extra={"error": str(error)})
                    await asyncio.sleep(_DEFER_S)
                    continue
                else:
                    pending_since = None
                    connection.setblocking(False)
                    try:
                        await loop.connect_accepted_socket(create_protocol, connection)
                    except OSError:
                        connection.close()
                    self.slot.set_connections(len(self.server_state.connections))
                    continue
            elif pending_since is None and _readable(listener):
                pending_since = now
            if pending_since is not None:
                await asyncio.sleep(_DEFER_POLL_S)  # a connection waits: look again soon
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_IDLE_POLL_S):
                        await _wait_readable(loop, listener)

    async def on_tick(self, counter: int) -> bool:
        self.slot.set_connections(len(self.server_state.connections))
        return await super().on_tick(counter)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self._accepting is not None:
            self._accepting.cancel()
        await super().shutdown(sockets=sockets)


def _readable(sock: socket.socket) -> bool:
    ready, _, _ = select.select([sock], [], [], 0)
    return bool(ready)


async def _wait_readable(loop: asyncio.AbstractEventLoop, sock: socket.socket) -> None:
    """Until a connection waits on ``sock`` (the caller bounds the wait)."""
    ready: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(sock, readable)
    try:
        await ready
    finally:
        loop.remove_reader(sock)


def uvicorn_config(settings: Settings, app: Any) -> uvicorn.Config:
    from server.live import MAX_FRAME_BYTES

    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=settings.trust_proxy_headers,
        ws="websockets-sansio",
        ws_max_size=MAX_FRAME_BYTES,
        # PCM audio does not compress: deflate would only burn CPU on every frame.
        ws_per_message_deflate=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
    )


def serve(
    settings: Settings,
    *,
    sockets: list[socket.socket] | None = None,
    worker: WorkerSlot | None = None,
    parent_pid: int | None = None,
) -> int:
    """Run one server process until it has drained; returns its exit status."""
    from server.app import create_app

    drain = Drain(settings.drain_timeout_s, on_live_change=worker.set_live if worker else None)
    app = create_app(settings, settle_heap=True, drain=drain, worker=worker)
    config = uvicorn_config(settings, app)
    server: DrainingServer
    if worker is not None and parent_pid is not None:
        server = WorkerServer(config, drain, slot=worker, parent_pid=parent_pid)
    else:
        server = DrainingServer(config, drain, parent_pid=parent_pid)
    server.run(sockets=sockets)
    # Stop the CPU pool now: a worker process ends by joining its children, and pool
    # processes left waiting for work would keep it (and its supervisor) waiting forever.
    asyncio.run(cpu.shutdown())
    return 0 if server.started else 3


def _worker_main(
    settings: Settings, sock: socket.socket, slot: WorkerSlot, parent_pid: int
) -> None:
    """A worker process: serve on the supervisor's socket until drained."""
    if os.getppid() != parent_pid:
        raise SystemExit(1)  # the supervisor died while this process started
    threading.Thread(
        target=_exit_when_orphaned, args=(parent_pid,), name="orphan-exit", daemon=True
    ).start()
    configure_logging(settings.log_level)
    raise SystemExit(serve(settings, sockets=[sock], worker=slot, parent_pid=parent_pid))


def _exit_when_orphaned(parent_pid: int) -> None:
    # The event loop drains on its own once the parent is gone; this thread is for a loop
    # that cannot (blocked, or a drain that never ends).
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    time.sleep(_ORPHAN_EXIT_S)
    os._exit(1)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(_BACKLOG)
    sock.set_inheritable(True)
    return sock


def _prepare(settings: Settings) -> None:
    """What must exist before workers start, made once: secrets, keys, the schema."""
    from server.services import field_cipher, open_database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.signing_secret()
    field_cipher(settings)

    async def migrate() -> None:
        db = await open_database(settings)
        try:
            applied = await db.migrate()
            if applied:
                log.info("applied migrations", extra={"migrations": applied})
        finally:
            await db.close()

    asyncio.run(migrate())


class _Worker:
    def __init__(self, index: int) -> None:
        self.index = index
        self.process: multiprocessing.process.BaseProcess | None = None
        self.started_at = 0.0
        self.failures = 0
        self.restart_at: float | None = None
        self.exitcode: int | None = None


class Supervisor:
    """Starts, restarts and stops the worker processes of one instance."""

    def __init__(self, settings: Settings, count: int) -> None:
        self.settings = settings
        self.slots = WorkerSlots.create(count)
        self.workers = [_Worker(index) for index in range(count)]
        self.stopping = False
        self._context = multiprocessing.get_context("spawn")
        self._sock: socket.socket | None = None

    def run(self) -> int:
        try:
            self._sock = _bind(self.settings.host, self.settings.port)
        except OSError as error:
            where = f"{self.settings.host}:{self.settings.port}"
            print(f"intrvuer: cannot listen on {where}: {error.strerror}", file=sys.stderr)
            return 1
        _prepare(self.settings)
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        log.info(
            "supervisor started",
            extra={"workers": len(self.workers), "port": self._sock.getsockname()[1]},
        )
        for worker in self.workers:
            self._start(worker)
        while True:
            running = [w for w in self.workers if w.process is not None]
            if not running and (self.stopping or not self.workers):
                break
            sentinels = [w.process.sentinel for w in running if w.process is not None]
            multiprocessing.connection.wait(sentinels, timeout=0.2)
            for worker in running:
                self._reap(worker)
            if not self.stopping:
                now = time.monotonic()
                for worker in self.workers:
                    if worker.restart_at is not None and now >= worker.restart_at:
                        self._start(worker)
        self._sock.close()
        codes = [worker.exitcode for worker in self.workers]
        log.info("supervisor stopped", extra={"exit_codes": codes})
        return 0 if all(code == 0 for code in codes) else 1

    def _start(self, worker: _Worker) -> None:
        process = self._context.Process(
            target=_worker_main,
            args=(self.settings, self._sock, WorkerSlot(self.slots, worker.index), os.getpid()),
            name=f"intrvuer-worker-{worker.index}",
        )
        process.start()
        worker.process = process
        worker.started_at = time.monotonic()
        worker.restart_at = None
        self.slots.pids[worker.index] = process.pid or 0
        self.slots.live[worker.index] = 0
        self.slots.connections[worker.index] = 0

    def _reap(self, worker: _Worker) -> None:
        process = worker.process
        if process is None or process.is_alive():
            return
        process.join()
        worker.process = None
        worker.exitcode = process.exitcode
        self.slots.pids[worker.index] = 0
        self.slots.live[worker.index] = 0
        self.slots.connections[worker.index] = 0
        if self.stopping:
            return
        ran_s = time.monotonic() - worker.started_at
        worker.failures = 1 if ran_s >= RESTART_RESET_AFTER_S else worker.failures + 1
        delay = min(RESTART_MAX_S, RESTART_FIRST_S * 2 ** (worker.failures - 1))
        worker.restart_at = time.monotonic() + delay
        log.error(
            "worker exited; starting it again",
            extra={
                "worker": worker.index,
                "pid": process.pid,
                "exit_code": process.exitcode,
                "restart_in_s": delay,
            },
        )

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        first = not self.stopping
        self.stopping = True
        if first:
            log.info("stopping: workers drain", extra={"signal": signal.Signals(signum).name})
            # Workers drain on SIGTERM; a later SIGINT (a second Ctrl-C) is passed on as
            # it is, and stops them at once.
            signum = signal.SIGTERM
        for worker in self.workers:
            worker.restart_at = None
            if worker.process is not None and worker.process.pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.process.pid, signum)


def supervise(settings: Settings) -> int:
    return Supervisor(settings, settings.workers).run()
