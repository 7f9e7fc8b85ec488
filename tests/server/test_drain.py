"""Graceful drain, with real processes on one database.

``intrvuer serve`` A (one process, or ``--workers 2``) holds a live interview; a second
server B runs on the same database.
A gets SIGTERM: ``/readyz`` answers 503, a ticket and a live upgrade answer 503
``draining`` with ``Retry-After``, the live interview goes on until ``DRAIN_TIMEOUT_S``,
then its client gets ``error server_restarting`` (not fatal) and close code 1012, and A
exits 0. The client takes a new ticket from B and continues there, after the turns stored
so far.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from websockets.exceptions import InvalidStatus

from server.drain import Drain, DrainingServer, starts_live_session
from storage.crypto import FieldCipher
from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
from tests.live_client import live
from tests.polling import eventually
from tests.processes import intrvuer_serve, serve_env
from tests.server.test_auth import bearer, register

DRAIN_S = 2.0


@pytest.fixture
async def deepgram() -> AsyncIterator[FakeDeepgram]:
    async with run_fake_deepgram(FakeDeepgram(speak_ms_per_char=2.0)) as running:
        yield running


def _env(data_dir: Path, database_url: str, deepgram: FakeDeepgram) -> dict[str, str]:
    return serve_env(
        data_dir,
        DATABASE_URL=database_url,
        DATABASE_SSL="disable",
        STT_PROVIDER="deepgram",
        TTS_PROVIDER="deepgram",
        DEEPGRAM_API_KEY=deepgram.api_key,
        DEEPGRAM_BASE_URL=deepgram.url,
        INTERVIEW_PATIENCE_S="0.05",
        DRAIN_TIMEOUT_S=str(DRAIN_S),
        CPU_WORKERS="0",
    )


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
async def test_a_drained_interview_moves_to_another_server(
    database_url: str, tmp_path: Path, deepgram: FakeDeepgram, workers: int
) -> None:
    first = "I moved our releases from monthly to weekly and rollbacks fell by a third."
    second = "I would measure the change failure rate before and after."
    # Both servers share the database and the signing secret; each has its own files.
    env_a = _env(tmp_path / "a", database_url, deepgram)
    env_b = _env(tmp_path / "b", database_url, deepgram)
    env_a["ENCRYPTION_KEYS"] = env_b["ENCRYPTION_KEYS"] = FieldCipher.generate_key()
    async with (
        intrvuer_serve(env_a, tmp_path, tmp_path / "a.log", "--workers", str(workers)) as a,
        intrvuer_serve(env_b, tmp_path, tmp_path / "b.log") as b,
        httpx.AsyncClient(base_url=a.url, timeout=10) as http_a,
        httpx.AsyncClient(base_url=b.url, timeout=10) as http_b,
    ):
        auth = bearer((await register(http_a, "drained@example.org"))["access_token"])
        created = await http_a.post(
            "/v1/interviews", json={"type": "behavioral", "question_count": 3}, headers=auth
        )
        iid = created.json()["id"]
        ticket = (await http_a.post(f"/v1/interviews/{iid}/ticket", headers=auth)).json()
        url = f"{a.ws_url}/v1/interviews/{iid}/live?ticket={ticket['ticket']}"
        async with live(url) as client:
            await client.send({"type": "start"})
            await client.wait_for("agent_turn_end", 1)
            await client.send({"type": "text", "text": first})
            await client.wait_for("agent_turn_end", 2)

            async def stored() -> list[str]:
                detail = await http_b.get(f"/v1/interviews/{iid}", headers=auth)
                return [turn["answer"] for turn in detail.json()["turns"]]

            await eventually(stored, lambda answers: answers == [first])

            a.process.send_signal(signal.SIGTERM)
            drain_began = time.monotonic()

            async def readiness() -> tuple[int, dict[str, Any]]:
                response = await http_a.get("/readyz")
                return response.status_code, response.json()

            status, body = await eventually(readiness, lambda r: r[0] == 503, within=5)
            assert body["checks"]["drain"] == "draining"
            refused = await http_a.post(f"/v1/interviews/{iid}/ticket", headers=auth)
            assert refused.status_code == 503
            assert refused.json()["error"]["code"] == "draining"
            assert int(refused.headers["retry-after"]) >= 1
            with pytest.raises(InvalidStatus) as upgrade:
                async with live(f"{a.ws_url}/v1/interviews/{iid}/live", **_bearer_ws(auth)):
                    pass
            assert upgrade.value.response.status_code == 503
            assert upgrade.value.response.headers["retry-after"]
            # Still live during the drain: the session goes on.
            assert not client.closed.is_set()

            restarting = await client.wait_for(
                "error", code="server_restarting", within=DRAIN_S + 15
            )
            assert restarting["fatal"] is False
            await asyncio.wait_for(client.closed.wait(), timeout=10)
            assert client.connection.close_code == 1012
            assert time.monotonic() - drain_began >= DRAIN_S - 0.2
        assert await asyncio.wait_for(a.process.wait(), timeout=30) == 0

        # The client reconnects where the load balancer sends it: B.
        moved = time.monotonic()
        ticket = (await http_b.post(f"/v1/interviews/{iid}/ticket", headers=auth)).json()
        url = f"{b.ws_url}/v1/interviews/{iid}/live?ticket={ticket['ticket']}"
        async with live(url) as client:
            await client.send({"type": "start"})
            ready = await client.wait_for("ready")
            assert ready["resumed"] is True
            resumed = await client.wait_for("agent_turn_end", 1)
            assert time.monotonic() - moved < 3.0
            await client.send({"type": "text", "text": second})
            await client.wait_for("agent_turn_end", 2)
            assert resumed["turn"] >= 2
            await eventually(stored, lambda answers: answers == [first, second])


def _bearer_ws(auth: dict[str, str]) -> dict[str, Any]:
    return {"additional_headers": auth}


@pytest.mark.parametrize(
    ("method", "path", "starts"),
    [
        ("POST", "/v1/interviews/abc/ticket", True),
        ("GET", "/v1/interviews/abc/live", True),
        ("GET", "/v1/interviews/abc/ticket", False),
        ("GET", "/v1/interviews/abc", False),
        ("POST", "/v1/interviews", False),
        ("POST", "/v1/interviews//ticket", False),
        ("POST", "/v1/interviews/abc/ticket/x", False),
    ],
)
def test_what_a_drain_refuses(method: str, path: str, starts: bool) -> None:
    assert starts_live_session(method, path) is starts


def test_the_drain_asks_live_sessions_to_go_at_its_timeout() -> None:
    told: list[str] = []
    drain = Drain(timeout_s=0.05)
    assert not drain.finished()  # not draining: nothing to finish
    with drain.holding(lambda: told.append("first")):
        drain.begin()
        assert drain.draining and not drain.finished() and told == []
        time.sleep(0.06)
        assert not drain.finished()  # the session was told; it has CLOSE_GRACE_S to go
        assert told == ["first"] and drain.expired
        with drain.holding(lambda: told.append("late")):  # accepted after the timeout
            assert told == ["first", "late"]
    assert drain.live == 0 and drain.finished()


def test_one_ctrl_c_drains_and_a_second_one_stops() -> None:
    server = DrainingServer(uvicorn.Config(app="server.app:never_loaded"), Drain(timeout_s=300))
    server.handle_exit(signal.SIGINT, None)
    # The same Ctrl-C forwarded by a supervisor as SIGTERM: still a drain.
    server.handle_exit(signal.SIGTERM, None)
    assert not server.should_exit
    server._drain_requested_at -= 2  # a second Ctrl-C, later
    server.handle_exit(signal.SIGINT, None)
    assert server.should_exit
