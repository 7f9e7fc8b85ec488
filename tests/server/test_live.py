"""The live WebSocket through a real server: handshake rules, a whole interview with
in-memory speech fakes, persistence through the queue, bad frames."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from pipeline.interviewer.offline import OfflineInterviewer
from pipeline.interviewer.types import Interviewer
from server.settings import Settings
from storage import connect
from storage._util import utcnow
from storage.tokens import TicketRepository
from storage.types import Interview
from tests.live_client import live
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.serving import RunningServer, run_server
from voices.fakes import ScriptedRecognizer, ToneSynthesizer
from voices.types import SpeechRecognizer, SpeechSynthesizer

ANSWER = (
    "At my last job I owned the release process and we moved from monthly to weekly "
    "releases, which reduced rollbacks by thirty percent over two quarters."
)


@dataclass
class FakeProviders:
    recognizers: list[ScriptedRecognizer] = field(default_factory=list)
    seconds_per_char: float = 0.002  # how long the interviewer's tone voice talks

    def for_interview(
        self, interview: Interview
    ) -> tuple[SpeechRecognizer, SpeechSynthesizer, Interviewer]:
        recognizer = ScriptedRecognizer()
        self.recognizers.append(recognizer)
        voice = ToneSynthesizer(seconds_per_char=self.seconds_per_char)
        return recognizer, voice, OfflineInterviewer()

    def describe(self) -> dict[str, str]:
        return {}

    def voices(self) -> tuple[str, list[str]]:
        return "tone", []

    def prepare_phrases(
        self, interview: Interview, first_name: str | None = None, *, only_if_loaded: bool = False
    ) -> int:
        return 0

    def forget_interview(self, interview_id: str) -> None:
        pass

    async def aclose(self) -> None:
        pass


@pytest.fixture
def providers() -> FakeProviders:
    return FakeProviders()


@pytest.fixture
async def live_server(settings: Settings, providers: FakeProviders):  # type: ignore[no-untyped-def]
    fast = settings.model_copy(
        update={"interview_patience_s": 0.05, "public_url": "http://app.test"}
    )
    async with run_server(fast, providers=providers) as running:
        yield running


@pytest.fixture
async def http(live_server: RunningServer):  # type: ignore[no-untyped-def]
    async with httpx.AsyncClient(base_url=live_server.url, timeout=10) as client:
        yield client


async def new_interview(http: httpx.AsyncClient, email: str, count: int = 3) -> tuple[str, str]:
    tokens = await register(http, email)
    created = await http.post(
        "/v1/interviews",
        json={"type": "behavioral", "question_count": count},
        headers=bearer(tokens["access_token"]),
    )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "created"
    return tokens["access_token"], created.json()["id"]


async def ticket_url(http: httpx.AsyncClient, server: RunningServer, token: str, iid: str) -> str:
    response = await http.post(f"/v1/interviews/{iid}/ticket", headers=bearer(token))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["expires_in"] == 60
    assert body["url"].startswith(f"ws://app.test/v1/interviews/{iid}/live?ticket=")
    return f"{server.ws_url}/v1/interviews/{iid}/live?ticket={body['ticket']}"


async def refused(url: str, **options: Any) -> int:
    with pytest.raises(InvalidStatus) as caught:
        async with live(url, **options):
            pass
    return caught.value.response.status_code


async def test_whole_interview_is_spoken_and_persisted(
    live_server: RunningServer, http: httpx.AsyncClient, providers: FakeProviders
) -> None:
    token, iid = await new_interview(http, "live@example.org")
    url = await ticket_url(http, live_server, token, iid)
    async with live(url) as client:
        await client.send({"type": "start"})
        ready = await client.wait_for("ready")
        assert ready["output"]["sample_rate"] == 24000 and ready["resumed"] is False
        for number in range(1, 4):
            await client.wait_for("agent_turn_end", number)
            await client.send(b"\x00\x00" * 320)
            providers.recognizers[-1].stream.say(ANSWER)
            await client.wait_for("user_turn_end", number)
        end = await client.wait_for("interview_end")
        assert end["reason"] == "completed"
        assert client.audio_frames > 0
        assert len(client.matching("metrics")) == 4
    assert bytes(providers.recognizers[-1].stream.audio) == b"\x00\x00" * 320 * 3

    async def read() -> dict[str, Any]:
        response = await http.get(f"/v1/interviews/{iid}", headers=bearer(token))
        return dict(response.json())

    def written(d: dict[str, Any]) -> bool:
        # A turn's metrics follow its answer as a job of their own, after the reply was spoken.
        turns = d["turns"]
        measured = all("voice_to_voice_ms" in t["metrics"] for t in turns)
        return len(turns) == 3 and d["status"] == "completed" and measured

    detail = await eventually(read, written)
    assert [t["answer"] for t in detail["turns"]] == [ANSWER] * 3
    metrics = (await http.get("/metrics")).text
    assert "intrvuer_turn_voice_to_voice_ms_count 4.0" in metrics
    assert "intrvuer_live_sessions 0.0" in metrics


async def test_handshake_refusals(
    live_server: RunningServer, http: httpx.AsyncClient, settings: Settings
) -> None:
    token, iid = await new_interview(http, "owner@example.org")
    other_token, other_iid = await new_interview(http, "other@example.org")
    base = f"{live_server.ws_url}/v1/interviews/{iid}/live"

    assert await refused(base) == 401  # no ticket, no token
    assert await refused(f"{base}?ticket=made-up") == 401

    url = await ticket_url(http, live_server, token, iid)
    async with live(url) as client:
        await client.send({"type": "stop"})
        await client.wait_for("interview_end")
    assert await refused(url) in (401, 409)  # used up (and the interview has ended)

    _, fresh = await new_interview(http, "third@example.org")
    third = (
        await http.post(
            "/v1/auth/login",
            json={"email": "third@example.org", "password": "correct horse battery"},
        )
    ).json()
    foreign = await ticket_url(http, live_server, third["access_token"], fresh)
    assert await refused(foreign.replace(fresh, other_iid)) == 403  # bound to one interview

    expired_ticket = "expired-ticket-value"
    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        from server.routes.interviews import hash_ticket

        await TicketRepository(db).add(
            ticket_hash=hash_ticket(expired_ticket),
            user_id=third["user"]["id"],
            interview_id=fresh,
            expires_at=utcnow() - timedelta(seconds=1),
        )
    finally:
        await db.close()
    assert (
        await refused(f"{live_server.ws_url}/v1/interviews/{fresh}/live?ticket={expired_ticket}")
        == 401
    )

    # Bearer tokens work for non-browser clients, only on one's own interviews.
    other_url = f"{live_server.ws_url}/v1/interviews/{other_iid}/live"
    assert await refused(other_url, additional_headers=bearer(token)) == 404
    async with live(other_url, additional_headers=bearer(other_token)) as client:
        await client.send({"type": "start"})
        await client.wait_for("ready")
    good = await ticket_url(http, live_server, other_token, other_iid)
    assert await refused(good, origin="https://evil.example") == 403
    async with live(
        await ticket_url(http, live_server, other_token, other_iid), origin="http://app.test"
    ) as client:
        await client.send({"type": "stop"})
        await client.wait_for("interview_end")


async def test_bad_frames_get_errors_and_the_session_survives(
    live_server: RunningServer, http: httpx.AsyncClient
) -> None:
    token, iid = await new_interview(http, "frames@example.org")
    async with live(await ticket_url(http, live_server, token, iid)) as client:
        await client.send({"type": "end_turn"})
        assert (await client.wait_for("error"))["code"] == "unexpected_message"
        await client.connection.send("not json")
        assert (await client.wait_for("error", 2))["code"] == "invalid_json"
        await client.send({"type": "start", "input": {"sample_rate": 12345}})
        assert (await client.wait_for("error", 3))["code"] == "unsupported_format"
        await client.send({"type": "start"})
        await client.wait_for("ready")
        await client.send(b"\x00" * (64 * 1024 + 2))
        assert (await client.wait_for("error", 4))["code"] == "frame_too_large"
        await client.send(b"\x00\x00\x00")
        assert (await client.wait_for("error", 5))["code"] == "invalid_audio"
        await client.send({"type": "warp"})
        assert (await client.wait_for("error", 6))["code"] == "unknown_type"
        await client.wait_for("agent_turn_end")
        await client.send({"type": "text", "text": ANSWER})
        await client.wait_for("user_turn_end")
        await client.send({"type": "stop"})
        await client.wait_for("interview_end")
        await client.send(b"\x00\x00")
        await client.closed.wait()
    assert all(not e.get("fatal") for e in client.matching("error"))


async def test_a_client_that_stops_reading_is_disconnected(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # The interviewer talks for a long while to a client that reads nothing: the socket
    # buffers (made small on both sides) fill, sending blocks, the session's send queue
    # fills, the session ends as too slow and the server lets the connection go; what the
    # client finds when it reads at last is bounded, then the end of the connection.
    providers = FakeProviders(seconds_per_char=0.2)  # the greeting: 30 s and more
    slow_reader = settings.model_copy(
        update={"live_send_queue": 16, "public_url": "http://app.test"}
    )
    async with (
        run_server(slow_reader, providers=providers) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        for listening in server.server.servers[0].sockets:  # accepted sockets inherit it
            listening.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8192)
        token, iid = await new_interview(http, "slow-reader@example.org", count=1)
        url = await ticket_url(http, server, token, iid)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", server.port))
        # max_queue=1: the client library stops reading the socket after one message.
        async with ws_connect(url, sock=sock, max_queue=1, max_size=2**20) as connection:
            with caplog.at_level(logging.INFO, logger="intrvuer.live"):
                await connection.send(json.dumps({"type": "start"}))

                async def too_slow() -> bool:
                    return any(
                        record.getMessage() == "live session ended"
                        and getattr(record, "reason", None) == "client_too_slow"
                        for record in caplog.records
                    )

                await eventually(too_slow, bool, within=30)
            received = 0
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(20):
                    async for message in connection:
                        received += len(message)
    # On its way were the sockets' buffers, the transport's 64 KiB and 16 queued items of
    # at most one 80 ms frame (3,840 bytes) each: far less than the greeting (1.4 MB).
    assert 0 < received < 400_000


async def test_reconnect_continues_after_the_last_finalized_turn(
    live_server: RunningServer, http: httpx.AsyncClient, providers: FakeProviders
) -> None:
    token, iid = await new_interview(http, "again@example.org")
    async with live(await ticket_url(http, live_server, token, iid)) as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_turn_end", 1)
        await client.send({"type": "text", "text": ANSWER})
        await client.wait_for("agent_turn_end", 2)  # question 2 asked; then the line drops

    async def turns() -> list[Any]:
        response = await http.get(f"/v1/interviews/{iid}", headers=bearer(token))
        return list(response.json()["turns"])

    await eventually(turns, lambda found: len(found) >= 1)
    async with live(await ticket_url(http, live_server, token, iid)) as client:
        await client.send({"type": "start"})
        ready = await client.wait_for("ready")
        assert ready["resumed"] is True and ready["turn"] == 1
        resumed = await client.wait_for("agent_turn_end")
        assert resumed["text"].startswith("Welcome back")
        assert "Describe a disagreement" in resumed["text"]  # question 2 again, not 1
        await client.send({"type": "stop"})
