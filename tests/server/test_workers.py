"""``intrvuer serve --workers 2``, as real processes on one port.

- Both workers take connections; ``/metrics`` of either reports both processes.
- A worker killed (SIGKILL) is started again, and the instance serves on.
- Background jobs in embedded mode (SQLite, the outbox consumed by every worker) run once;
  workers whose CPU pools ran stop cleanly.
- SIGTERM: the supervisor forwards it, the idle workers drain at once, it exits 0.
- SIGKILL of the supervisor: its workers (and their CPU pools) exit too.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
from pathlib import Path

import httpx
import pytest

from storage import connect
from tests.documents import pdf
from tests.polling import eventually
from tests.processes import (
    BIN,
    Process,
    children,
    intrvuer_serve,
    process,
    require_proc,
    running,
    serve_env,
)
from tests.server.test_auth import bearer, register

_ANSWERING = re.compile(r'intrvuer_answering_worker\{pid="(\d+)",worker="(\d+)"\} 1\.0')


def _gauge(metrics: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", metrics, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


async def _answering(url: str) -> tuple[int, int]:
    """(worker index, pid) of the worker that answers a new connection's scrape."""
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        text = (await http.get("/metrics")).text
    match = _ANSWERING.search(text)
    assert match, text
    return int(match.group(2)), int(match.group(1))


async def _workers_seen(url: str, tries: int = 60) -> dict[int, int]:
    seen: dict[int, int] = {}
    for _ in range(tries):
        index, pid = await _answering(url)
        seen[index] = pid
        if len(seen) == 2:
            break
    return seen


def _worker_processes(supervisor_pid: int) -> list[Process]:
    found = []
    for child in children(supervisor_pid):
        try:
            cmdline = Path(f"/proc/{child.pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            found.append(child)
    return found


async def test_two_workers_serve_restart_and_stop(tmp_path: Path) -> None:
    require_proc()
    env = serve_env(tmp_path / "data", CPU_WORKERS="0")
    async with intrvuer_serve(env, tmp_path, tmp_path / "log", "--workers", "2") as served:
        seen = await eventually(lambda: _workers_seen(served.url), lambda s: len(s) == 2)
        assert sorted(seen) == [0, 1]
        async with httpx.AsyncClient(base_url=served.url, timeout=5) as http:
            metrics = (await http.get("/metrics")).text
            assert _gauge(metrics, "intrvuer_worker_processes") == 2
            assert _gauge(metrics, "intrvuer_draining") == 0
            assert (await http.get("/readyz")).status_code == 200

        # One worker dies: the supervisor starts it again, under a new pid.
        victim = process(seen[1])
        assert victim is not None
        os.kill(victim.pid, signal.SIGKILL)

        async def replaced() -> dict[int, int]:
            return await _workers_seen(served.url)

        after = await eventually(replaced, lambda s: len(s) == 2 and s[1] != seen[1], within=60)
        assert after[0] == seen[0]
        assert not running(victim)

        # SIGTERM: forwarded; idle workers drain at once; the supervisor exits 0.
        workers = _worker_processes(served.process.pid)
        assert len(workers) == 2
        served.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(served.process.wait(), timeout=30) == 0
        assert not any(running(worker) for worker in workers)
    log = (tmp_path / "log").read_text()
    assert "worker exited; starting it again" in log


async def test_workers_exit_with_a_killed_supervisor(tmp_path: Path) -> None:
    require_proc()
    env = serve_env(tmp_path / "data", CPU_WORKERS="1")
    async with intrvuer_serve(env, tmp_path, tmp_path / "log", "--workers", "2") as served:
        await eventually(lambda: _workers_seen(served.url), lambda s: len(s) == 2)
        workers = _worker_processes(served.process.pid)
        assert len(workers) == 2
        served.process.kill()
        assert await served.process.wait() == -signal.SIGKILL

    async def still_running() -> list[Process]:
        return [worker for worker in workers if running(worker)]

    # Each worker sees its parent gone within a tick (0.1 s) and drains at once.
    assert await eventually(still_running, lambda alive: not alive, within=20) == []


async def test_jobs_of_two_workers_on_sqlite_run_once(tmp_path: Path) -> None:
    env = serve_env(tmp_path / "data", CPU_WORKERS="1")
    async with (
        intrvuer_serve(env, tmp_path, tmp_path / "log", "--workers", "2") as served,
        httpx.AsyncClient(base_url=served.url, timeout=30) as http,
    ):
        await eventually(lambda: _workers_seen(served.url), lambda s: len(s) == 2)
        auth = bearer((await register(http, "workers@example.org"))["access_token"])
        files = {"file": ("resume.pdf", pdf(), "application/pdf")}
        uploads = [http.post("/v1/resumes", headers=auth, files=files) for _ in range(6)]
        assert {r.status_code for r in await asyncio.gather(*uploads)} == {201}

        async def statuses() -> list[str]:
            listed = (await http.get("/v1/resumes", headers=auth)).json()["resumes"]
            return [resume["status"] for resume in listed]

        assert await eventually(statuses, lambda s: set(s) == {"ready"}, within=60)
        # The workers' CPU pools read the uploads; they stop with their workers, which
        # then exit at once instead of waiting for them.
        served.process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(served.process.wait(), timeout=30) == 0
    db = await connect(f"sqlite:///{tmp_path / 'data' / 'intrvuer.db'}")
    try:
        rows = await db.fetch("SELECT kind, status, attempts FROM jobs")
    finally:
        await db.close()
    assert rows
    # Every job done, each in one delivery: no worker took another's.
    assert {(row["status"], row["attempts"]) for row in rows} == {("done", 1)}


@pytest.mark.parametrize("text", ["0", "many", "300"])
def test_workers_must_be_a_count_or_auto(text: str, capsys: pytest.CaptureFixture[str]) -> None:
    from server.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", text])
    assert exited.value.code == 2
    assert "--workers" in capsys.readouterr().err


async def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = await asyncio.create_subprocess_exec(
            str(BIN / "intrvuer"), "serve", "--host", "127.0.0.1", "--port", str(port),
            "--workers", "2", cwd=tmp_path, env=serve_env(tmp_path / "data"),
            stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in stderr.decode()
