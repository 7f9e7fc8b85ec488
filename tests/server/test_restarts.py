"""A server outlives a restart of what it depends on, and leaves nothing behind itself.

- Redis restarted under a running server (AOF on): an upload sent while it is down
  waits for it instead of failing, and the jobs queued before and after are all done.
- Postgres restarted under a running server: ``/readyz`` says 503 while it is down and
  200 once it is back, the pool's cut connections are replaced, and a turn finalized
  during the outage is stored afterwards (on the outbox and on Redis Streams).
- ``intrvuer serve`` killed (SIGKILL) or stopped (SIGTERM): its ``CPU_WORKERS`` pool
  processes exit with it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from pipeline.session import FinalizedTurn
from server.services import Services
from server.settings import Settings
from tests.documents import pdf
from tests.polling import eventually
from tests.private_postgres import PrivatePostgres, private_postgres
from tests.private_redis import private_redis
from tests.processes import Process, children, intrvuer_serve, require_proc, running
from tests.records import a_turn
from tests.server.test_auth import bearer, register
from tests.serving import run_server


@pytest.fixture
async def postgres() -> AsyncIterator[PrivatePostgres]:
    async with private_postgres() as server:
        yield server


@pytest.fixture(params=["outbox", pytest.param("redis", marks=pytest.mark.redis)])
def queue_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def restart_settings(
    postgres: PrivatePostgres, data_dir: Path, queue_backend: str, request: pytest.FixtureRequest
) -> Settings:
    redis_url = str(request.getfixturevalue("redis_url")) if queue_backend == "redis" else ""
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=postgres.url,
        database_ssl="disable",
        redis_url=redis_url,
        jwt_secret="test-secret-that-is-long-enough-for-hs256-0123456789",
        queue_poll_interval_s=0.05,
    )


async def test_an_upload_during_a_redis_restart_succeeds(data_dir: Path, tmp_path: Path) -> None:
    redis_dir = tmp_path / "redis"
    redis_dir.mkdir()
    async with private_redis(redis_dir, appendonly=True) as redis_server:
        settings = Settings(
            env="test",
            data_dir=data_dir,
            redis_url=redis_server.url,
            jwt_secret="test-secret-that-is-long-enough-for-hs256-0123456789",
            queue_poll_interval_s=0.05,
        )
        async with (
            run_server(settings) as server,
            httpx.AsyncClient(base_url=server.url, timeout=30) as http,
        ):
            auth = bearer((await register(http, "redis-restart@example.org"))["access_token"])
            files = {"file": ("resume.pdf", pdf(), "application/pdf")}
            before = await http.post("/v1/resumes", headers=auth, files=files)
            assert before.status_code == 201, before.text
            await redis_server.stop()
            # An upload while Redis is down: its resume is stored, then its parse job's
            # enqueue waits for Redis instead of failing the request.
            during = asyncio.create_task(http.post("/v1/resumes", headers=auth, files=files))

            async def resumes() -> int:
                return len((await http.get("/v1/resumes", headers=auth)).json()["resumes"])

            await eventually(resumes, lambda count: count == 2)
            await redis_server.start()
            uploaded = await during
            assert uploaded.status_code == 201, uploaded.text

            async def statuses() -> list[str]:
                listed = (await http.get("/v1/resumes", headers=auth)).json()["resumes"]
                return sorted(resume["status"] for resume in listed)

            assert await eventually(statuses, _settled) == ["ready"] * 2

            async def readiness() -> tuple[int, dict[str, Any]]:
                response = await http.get("/readyz")
                return response.status_code, response.json()["checks"]

            ready = await eventually(readiness, lambda r: r[0] == 200)
            assert ready[1] == {"database": "ok", "redis": "ok"}


def _settled(statuses: list[str]) -> bool:
    return all(status in ("ready", "failed") for status in statuses)


async def test_a_postgres_restart_is_waited_out_and_loses_no_turn(
    restart_settings: Settings, postgres: PrivatePostgres
) -> None:
    answer = "I cut the release train from monthly to weekly."
    async with (
        run_server(restart_settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        svc: Services = server.app.state.services
        registered = await register(http, "restart@example.org")
        auth = bearer(registered["access_token"])
        created = await http.post("/v1/interviews", headers=auth, json={"type": "behavioral"})
        interview_id = created.json()["id"]
        assert (await http.get("/readyz")).status_code == 200

        async def many_at_once() -> set[int]:
            pages = await asyncio.gather(
                *(http.get("/v1/interviews", headers=auth) for _ in range(20))
            )
            return {page.status_code for page in pages}

        # The pool opens all its connections, for the restart to cut.
        assert await many_at_once() == {200}

        async def readiness() -> tuple[int, dict[str, Any]]:
            response = await http.get("/readyz")
            return response.status_code, response.json()["checks"]

        await postgres.stop()
        down = await eventually(readiness, lambda r: r[0] == 503)
        assert down[1]["database"].startswith("error: ")
        # Finalized while the database is down, as the live session hands it over.
        svc.turn_writer.submit(
            FinalizedTurn(record=a_turn(interview_id, 1, answer), user_id=registered["user"]["id"])
        )

        await postgres.start()
        await eventually(readiness, lambda r: r == (200, {"database": "ok"} | _redis(svc)))

        async def stored() -> list[str]:
            detail = await http.get(f"/v1/interviews/{interview_id}", headers=auth)
            assert detail.status_code == 200, detail.text
            return [turn["answer"] for turn in detail.json()["turns"]]

        assert await eventually(stored, bool, within=30) == [answer]
        # Every pooled connection the restart cut was replaced.
        assert await many_at_once() == {200}
        assert svc.turn_writer.dropped == 0
        assert await svc.queue.dead_letters() == []


def _redis(svc: Services) -> dict[str, str]:
    return {"redis": "ok"} if svc.redis is not None else {}


# --- pool processes of a stopped server ------------------------------------------------


def _serve_env(tmp_path: Path) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG")
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        JWT_SECRET="test-secret-that-is-long-enough-for-hs256-0123456789",
        CPU_WORKERS="2",
        QUEUE_POLL_INTERVAL_S="0.05",
        LOG_LEVEL="WARNING",
    )
    return env


async def pool_processes(url: str, server_pid: int) -> list[Process]:
    """Make the server use its CPU pool (uploads: text extraction, then parsing), and
    return all its children (pool processes, multiprocessing's resource tracker) once a
    pool process runs."""
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        auth = bearer((await register(http, "pool@example.org"))["access_token"])
        files = {"file": ("resume.pdf", pdf(), "application/pdf")}
        uploads = [http.post("/v1/resumes", headers=auth, files=files) for _ in range(4)]
        assert {r.status_code for r in await asyncio.gather(*uploads)} == {201}

    async def spawned() -> list[Process]:
        return [child for child in children(server_pid) if _is_pool_process(child)]

    # A second pool process starts only if a call comes while the first is busy (it did
    # in every run here); one is enough to show what outlives the server.
    await eventually(spawned, bool, within=30)
    return children(server_pid)


def _is_pool_process(child: Process) -> bool:
    try:
        return b"spawn_main" in Path(f"/proc/{child.pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
async def test_the_cpu_pool_exits_with_its_server(how: signal.Signals, tmp_path: Path) -> None:
    require_proc()
    async with intrvuer_serve(_serve_env(tmp_path), tmp_path, tmp_path / "log") as served:
        process = served.process
        left = await pool_processes(served.url, process.pid)
        assert any(_is_pool_process(child) for child in left)
        process.send_signal(how)
        assert await asyncio.wait_for(process.wait(), timeout=30) in (0, -how)

    async def still_running() -> list[Process]:
        return [child for child in left if running(child)]

    # Within the pool's parent watch (0.5 s), with room for a loaded machine.
    assert await eventually(still_running, lambda alive: not alive, within=5) == []
