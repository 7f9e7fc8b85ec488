"""Who may open the live socket with a bearer token: the same rules as every route."""

from __future__ import annotations

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
