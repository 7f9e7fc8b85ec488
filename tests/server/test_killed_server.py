"""A server killed mid-interview (SIGKILL: no clean-up ran) leaves the interview ``live``;
once restarted, the server concludes it after the resume window, as ``server_restart``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage import connect
from storage.audit import AuditRepository
from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
from tests.live_client import live
from tests.polling import eventually
from tests.processes import intrvuer_serve
from tests.server.test_auth import bearer, register

BIN = Path(sys.executable).parent
WINDOW_S = 1.0


@pytest.fixture
async def deepgram() -> AsyncIterator[FakeDeepgram]:
    async with run_fake_deepgram(FakeDeepgram(speak_ms_per_char=2.0)) as running:
        yield running


async def test_an_interview_of_a_killed_server_is_concluded_after_restart(
    database_url: str, tmp_path: Path, deepgram: FakeDeepgram
) -> None:
    keep = ("PATH", "HOME", "LANG")
    env = {key: value for key, value in os.environ.items() if key in keep}
    env.update(
        DATA_DIR=str(tmp_path / "data"),
        DATABASE_URL=database_url,
        DATABASE_SSL="disable",
        JWT_SECRET="test-secret-that-is-long-enough-for-hs256-0123456789",
        STT_PROVIDER="deepgram",
        TTS_PROVIDER="deepgram",
        DEEPGRAM_API_KEY=deepgram.api_key,
        DEEPGRAM_BASE_URL=deepgram.url,
        INTERVIEW_PATIENCE_S="0.05",
        INTERVIEW_RESUME_WINDOW_S=str(WINDOW_S),
        INTERVIEW_SWEEP_INTERVAL_S="0.2",
        QUEUE_POLL_INTERVAL_S="0.05",
        LOG_LEVEL="WARNING",
    )
    log = tmp_path / "server.log"
    answer = "I moved our releases from monthly to weekly and rollbacks fell by a third."

    async with (
        intrvuer_serve(env, tmp_path, log) as served,
        httpx.AsyncClient(base_url=served.url) as http,
    ):
        token = (await register(http, "killed@example.org"))["access_token"]
        created = await http.post(
            "/v1/interviews",
            json={"type": "behavioral", "question_count": 3},
            headers=bearer(token),
        )
        iid = created.json()["id"]
        ticket = (await http.post(f"/v1/interviews/{iid}/ticket", headers=bearer(token))).json()
        async with live(
            f"{served.ws_url}/v1/interviews/{iid}/live?ticket={ticket['ticket']}"
        ) as client:
            await client.send({"type": "start"})
            await client.wait_for("agent_turn_end", 1)
            await client.send({"type": "text", "text": answer})
            await client.wait_for("agent_turn_end", 2)

            async def detail() -> dict[str, Any]:
                return dict((await http.get(f"/v1/interviews/{iid}", headers=bearer(token))).json())

            await eventually(detail, lambda d: len(d["turns"]) == 1)
            # The server dies mid-interview, its socket still open: no clean-up runs.
            served.process.kill()
            assert await served.process.wait() == -signal.SIGKILL
            await client.closed.wait()
    await asyncio.sleep(WINDOW_S + 0.5)

    async with (
        intrvuer_serve(env, tmp_path, log) as served,
        httpx.AsyncClient(base_url=served.url) as http,
    ):

        async def after_restart() -> dict[str, Any]:
            return dict((await http.get(f"/v1/interviews/{iid}", headers=bearer(token))).json())

        ended = await eventually(after_restart, lambda d: d["status"] != "live", within=20)
        assert ended["status"] == "completed" and ended["end_reason"] == "server_restart"
        assert [turn["answer"] for turn in ended["turns"]] == [answer]
        feedback = await eventually(
            lambda: http.get(f"/v1/interviews/{iid}/feedback", headers=bearer(token)),
            lambda r: r.json()["status"] == "ready",
            within=30,
        )
        assert feedback.json()["feedback"]
    db = await connect(database_url, ssl_mode="disable")
    try:
        events = await AuditRepository(db).list_by_action("interview.ended")
    finally:
        await db.close()
    assert [e.details for e in events if e.target_id == iid] == [
        {"reason": "server_restart", "status": "completed"}
    ]
