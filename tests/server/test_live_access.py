"""Who may open the live socket with a bearer token: the same rules as every route."""

from __future__ import annotations

import logging

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from server.settings import Settings
from storage.types import PlannedQuestion
from storage.users import UserRepository
from tests.live_client import live
from tests.server.test_live import FakeProviders
from tests.serving import run_server


async def test_a_bearer_socket_is_refused_until_the_age_is_confirmed(settings: Settings) -> None:
    async with run_server(settings, providers=FakeProviders()) as server:
        svc = server.app.state.services
        user = await UserRepository(svc.db).create(
            email="young@example.org", name="Y", password_hash=None
        )
        interview = await svc.interviews.create(
            user_id=user.id,
            kind="behavioral",
            questions=[PlannedQuestion(text="Tell me about a project.", competency="impact")],
            voice="tone",
            plan_source="offline",
        )
        token = svc.tokens.issue_access(user.id, auth_time=None)
        url = f"{server.ws_url}/v1/interviews/{interview.id}/live"
        with pytest.raises(InvalidStatus) as refused:
            async with live(url, additional_headers={"authorization": f"Bearer {token}"}):
                pass
        assert refused.value.response.status_code == 403
        assert b"age_confirmation_required" in refused.value.response.body
        async with httpx.AsyncClient(base_url=server.url) as http:
            confirmed = await http.patch(
                "/v1/me",
                json={"confirm_age_16": True},
                headers={"authorization": f"Bearer {token}"},
            )
            assert confirmed.status_code == 200, confirmed.text
        async with live(url, additional_headers={"authorization": f"Bearer {token}"}) as client:
            await client.send({"type": "stop"})
            assert (await client.wait_for("interview_end"))["reason"] == "stopped"


async def test_a_live_ticket_never_reaches_the_logs(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """uvicorn logs a WebSocket's path with its query string ("... ?ticket=... [accepted]")."""
    from server.logs import JsonFormatter

    caplog.set_level(logging.INFO)
    async with (
        run_server(settings, providers=FakeProviders()) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        body = {"email": "l@example.org", "password": "correct horse battery", "name": "L",
                "confirm_age_16": True}  # fmt: skip
        token = (await http.post("/v1/auth/register", json=body)).json()["access_token"]
        auth = {"authorization": f"Bearer {token}"}
        created = await http.post("/v1/interviews", json={"type": "behavioral"}, headers=auth)
        iid = created.json()["id"]
        ticket = (await http.post(f"/v1/interviews/{iid}/ticket", headers=auth)).json()["ticket"]
        async with live(f"{server.ws_url}/v1/interviews/{iid}/live?ticket={ticket}") as client:
            await client.send({"type": "stop"})
            await client.wait_for("interview_end")
    formatter = JsonFormatter()
    output = "\n".join(formatter.format(record) for record in caplog.records)
    assert "ticket=[redacted]" in output  # the line is there, without its ticket
    assert ticket not in output
