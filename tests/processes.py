"""Processes as Linux's /proc shows them, for tests of what outlives what; and
``intrvuer serve`` and HAProxy (with ``deploy/haproxy.cfg``) started in processes of
their own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

PROC = Path("/proc")
HAPROXY_CFG = Path(__file__).resolve().parents[1] / "deploy" / "haproxy.cfg"


@dataclass(frozen=True, slots=True)
class Process:
    """A process, told apart from a later one given the same pid by its start time."""

    pid: int
    parent_pid: int
    started_ticks: int
    state: str


def _read(pid: int) -> Process | None:
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # "pid (command) state ppid ..."; the command may hold spaces and parentheses.
    fields = stat[stat.rindex(")") + 2 :].split()
    return Process(
        pid=pid, parent_pid=int(fields[1]), started_ticks=int(fields[19]), state=fields[0]
    )


def require_proc() -> None:
    if not (PROC / str(os.getpid()) / "stat").exists():
        pytest.skip("needs Linux's /proc")


def process(pid: int) -> Process | None:
    return _read(pid)


def children(pid: int) -> list[Process]:
    """The processes whose parent is ``pid`` now."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            child = _read(int(entry.name))
            if child is not None and child.parent_pid == pid:
                found.append(child)
    return found


def running(proc: Process) -> bool:
    """Whether ``proc`` still runs: a zombie has exited, only its parent has not reaped it
    (an orphan's new parent, PID 1 of a container, may never do so)."""
    now = _read(proc.pid)
    return now is not None and now.started_ticks == proc.started_ticks and now.state not in "ZX"


# --- `intrvuer serve` in processes of its own ---------------------------------------------

BIN = Path(sys.executable).parent
TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"  # noqa: S105


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """A clean environment for ``intrvuer serve``: only what a shell needs, the data
    directory, a test signing secret, quick polling and ``settings``."""
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH")
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(
        DATA_DIR=str(data_dir),
        JWT_SECRET=TEST_JWT_SECRET,
        QUEUE_POLL_INTERVAL_S="0.05",
        LOG_LEVEL="WARNING",
    )
    env.update(settings)
    return env


@dataclass
class Served:
    url: str
    port: int
    process: asyncio.subprocess.Process

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


@contextlib.asynccontextmanager
async def intrvuer_serve(
    env: dict[str, str], cwd: Path, log: Path, *args: str, port: int | None = None
) -> AsyncIterator[Served]:
    """``intrvuer serve`` (with ``args``, e.g. ``--workers 2``) on 127.0.0.1, once it
    answers ``/healthz``; killed at the end if still running."""
    port = port or free_port()
    with log.open("ab") as out:
        process = await asyncio.create_subprocess_exec(
            str(BIN / "intrvuer"), "serve", "--host", "127.0.0.1", "--port", str(port), *args,
            cwd=cwd, env=env, stdout=out, stderr=out,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=2) as http, asyncio.timeout(90):
            while True:
                if process.returncode is not None:
                    raise AssertionError((await asyncio.to_thread(log.read_text))[-3000:])
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/healthz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield Served(url=url, port=port, process=process)
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def command(
    args: list[str], env: dict[str, str], log: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """``args`` run with ``env``, its output in ``log``; killed at the end if still running."""
    with log.open("ab") as out:
        started = await asyncio.create_subprocess_exec(*args, env=env, stdout=out, stderr=out)
    try:
        yield started
    finally:
        if started.returncode is None:
            started.kill()
        await started.wait()


@contextlib.asynccontextmanager
async def haproxy(ports: list[int], log: Path) -> AsyncIterator[str]:
    """Debian's haproxy with ``deploy/haproxy.cfg`` in front of the servers on 127.0.0.1
    at ``ports`` (three at most, as the file declares; missing ones stay down). Yields its
    URL once a server answers ``/readyz`` through it."""
    if shutil.which("haproxy") is None:
        pytest.fail("haproxy is not installed (apt-get install -y haproxy; .ci/run does)")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "INTRVUER_BIND": f"127.0.0.1:{port}",
        "INTRVUER_DNS": "127.0.0.1:53",
    }
    for number in (1, 2, 3):
        # An address nothing listens on for the servers not given: always down.
        backend = ports[number - 1] if number <= len(ports) else free_port()
        env[f"INTRVUER_SERVER_{number}"] = f"127.0.0.1:{backend}"
    url = f"http://127.0.0.1:{port}"
    async with command(["haproxy", "-db", "-f", str(HAPROXY_CFG)], env, log):
        async with httpx.AsyncClient(base_url=url, timeout=5) as http, asyncio.timeout(30):
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if (await http.get("/readyz")).status_code == 200:
                        break
                await asyncio.sleep(0.1)
        yield url
