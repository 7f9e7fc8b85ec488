"""The processes a benchmark measures: ``intrvuer serve`` and the fakes, and their environment.

Each runs as a process of its own so that its CPU time and memory are its own. A server
starts in a scratch directory (so no stray ``.env`` is read) with a fresh data directory,
and is stopped with SIGINT, then SIGKILL, whatever happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
JWT_SECRET = "bench-jwt-secret-that-is-long-enough-for-hs256-0123456789"
STARTUP_TIMEOUT_S = 30.0

# Nothing of the caller's own configuration may leak into the measured server.
_CALLER_PREFIXES = ("DEEPGRAM_", "OPENAI_", "GROQ_", "INTERVIEW_", "LLM_")
_CALLER_KEYS = ("DATABASE_URL", "REDIS_URL", "STT_PROVIDER", "TTS_PROVIDER")


@dataclass(frozen=True)
class Fakes:
    pid: int
    deepgram_url: str
    deepgram_api_key: str
    openai_base_url: str
    openai_api_key: str


@dataclass(frozen=True)
class Server:
    pid: int
    url: str

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)


def setting_default(name: str) -> Any:
    """The server's default for the setting ``name`` (a field of ``server.settings.Settings``)."""
    from server.settings import Settings

    return Settings.model_fields[name].default


def log_file(path: Path) -> IO[bytes]:
    return path.open("wb")


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return ""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def stop(process: asyncio.subprocess.Process, timeout_s: float = 15) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(process.wait(), timeout_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def python_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def server_env(settings: Mapping[str, str], *, also_drop: tuple[str, ...] = ()) -> dict[str, str]:
    """This process's environment without the caller's provider and interview settings
    (nor those starting with ``also_drop``), in development mode, plus ``settings``."""
    dropped = _CALLER_PREFIXES + also_drop
    env = {
        key: value
        for key, value in python_env().items()
        if not key.startswith(dropped) and key not in _CALLER_KEYS
    }
    env.update(ENV="development", JWT_SECRET=JWT_SECRET)
    env.update(settings)
    return env


@contextlib.asynccontextmanager
async def fakes_process(
    scratch: Path, flags: Mapping[str, float | str], loop: str
) -> AsyncIterator[Fakes]:
    """``python -m bench.fakes`` with ``flags`` (``--name value``), until the block ends."""
    log_path = scratch / "fakes.log"
    arguments = [item for name, value in flags.items() for item in (f"--{name}", str(value))]
    with log_file(log_path) as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.fakes", *arguments, "--loop", loop,
            cwd=REPO, env=python_env(), stdout=asyncio.subprocess.PIPE, stderr=log,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        try:
            line = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT_S)
            ready = json.loads(line)
        except (TimeoutError, ValueError):
            raise RuntimeError(f"the fakes did not start:\n{tail(log_path)}") from None
        yield Fakes(
            pid=int(ready["pid"]),
            deepgram_url=ready["deepgram_url"],
            deepgram_api_key=ready["deepgram_api_key"],
            openai_base_url=ready["openai_base_url"],
            openai_api_key=ready["openai_api_key"],
        )
    finally:
        await stop(process)


# cProfile of the server's main thread (its event loop), timed in that thread's CPU time:
# wall time would also count the moments the process is not scheduled, which on a busy
# machine swamps what the code itself costs. The stats are written when the server exits.
_PROFILED_SERVE = """
import cProfile, sys, time
from server.cli import main
profiler = cProfile.Profile(time.thread_time)
try:
    profiler.runcall(main, sys.argv[2:])
finally:
    profiler.dump_stats(sys.argv[1])
"""


def _server_command(profile: Path | None) -> list[str]:
    if profile is not None:
        return [sys.executable, "-c", _PROFILED_SERVE, str(profile)]
    installed = Path(sys.executable).with_name("intrvuer")
    return [str(installed)] if installed.exists() else [sys.executable, "-m", "server.cli"]


@contextlib.asynccontextmanager
async def server_process(
    scratch: Path, env: Mapping[str, str], profile: Path | None = None
) -> AsyncIterator[Server]:
    """``intrvuer serve`` on a free port of 127.0.0.1 with ``env`` and ``DATA_DIR`` a fresh
    ``scratch/data``, healthy, until the block ends; its log is ``scratch/server.log``."""
    data_dir = scratch / "data"
    data_dir.mkdir()
    port = free_port()
    log_path = scratch / "server.log"
    command = [*_server_command(profile), "serve", "--host", "127.0.0.1"]
    with log_file(log_path) as log:
        process = await asyncio.create_subprocess_exec(
            *command, "--port", str(port),
            cwd=scratch,  # no stray .env file is read
            env={**env, "DATA_DIR": str(data_dir)}, stdout=log, stderr=log,
        )  # fmt: skip
    server = Server(process.pid, f"http://127.0.0.1:{port}")
    try:
        await _wait_healthy(server, process, log_path)
        yield server
    finally:
        await stop(process)
        if process.returncode not in (0, -signal.SIGINT):
            print(f"server exited with {process.returncode}:\n{tail(log_path)}", file=sys.stderr)


async def _wait_healthy(server: Server, process: asyncio.subprocess.Process, log: Path) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=2) as http:
        for _ in range(int(STARTUP_TIMEOUT_S / 0.1)):
            if process.returncode is not None:
                break
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise RuntimeError(f"the server did not become healthy:\n{tail(log)}")


def keep_logs(scratch: Path, folder: Path, sessions: int) -> None:
    """The server's and the fakes' logs (warnings and errors only) of a sweep point."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("server", "fakes"):
        source = scratch / f"{name}.log"
        if source.exists():
            shutil.copyfile(source, folder / f"{sessions}-sessions-{name}.log")


def code_version() -> dict[str, Any]:
    """The commit measured, and the files that differed from it (the tree may be dirty)."""

    def git(*args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.TimeoutExpired):
            return ""
        # Only the end is trimmed: porcelain lines start with a meaningful space.
        return done.stdout.rstrip() if done.returncode == 0 else ""

    changed = [line[3:] for line in git("status", "--porcelain").splitlines()]
    return {"commit": git("rev-parse", "HEAD") or None, "changed_files": changed[:50]}
