"""Until an account confirmed it is 16 or over, the server answers 403
``age_confirmation_required`` on every route but the profile, sign-out and deletion: for
accounts made by Google/GitHub and by Supabase alike, through a real server."""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from server.app import ROUTERS
from server.auth.current import BEFORE_AGE_CONFIRMATION
from server.settings import Settings
from storage.types import PlannedQuestion
from tests.fakes.oauth_provider import FakeOAuthProvider, running_fake_provider
from tests.server.test_auth import bearer
from tests.server.test_oauth import ADA, sign_in
from tests.server.test_supabase import PROJECT_URL, SECRET, hs256
from tests.serving import RunningServer, run_server

REFUSED = "age_confirmation_required"


@pytest.fixture
async def oauth_server(
    settings: Settings,
) -> AsyncIterator[tuple[RunningServer, FakeOAuthProvider]]:
    async with (
        running_fake_provider() as provider,
        run_server(settings.model_copy(update=provider.settings_overrides())) as server,
    ):
        server.settings.public_url = server.url
        provider.allow_redirects_to(server.url)
        yield server, provider


@pytest.fixture
async def supabase_server(settings: Settings) -> AsyncIterator[RunningServer]:
    configured = settings.model_copy(
        update={
            "auth_provider": "supabase",
            "supabase_url": PROJECT_URL,
            "supabase_jwt_secret": SecretStr(SECRET),
        }
    )
    async with run_server(configured) as server:
        yield server


async def _interview_of(server: RunningServer, user_id: str) -> str:
    """An interview the account holds (made through the repository: the route is closed)."""
    svc = server.app.state.services
    interview = await svc.interviews.create(
        user_id=user_id,
        kind="behavioral",
        questions=[PlannedQuestion(text="Tell me about a project.", competency="impact")],
        voice="jm_kumo",
        plan_source="bank",
    )
    return str(interview.id)


async def _representative_routes(
    http: httpx.AsyncClient, auth: dict[str, str], interview_id: str
) -> list[httpx.Response]:
    return [
        await http.get("/v1/resumes", headers=auth),
        await http.post("/v1/interviews", headers=auth, json={"type": "technical"}),
        await http.post(f"/v1/interviews/{interview_id}/ticket", headers=auth),
        await http.get("/v1/account/audit", headers=auth),
    ]


async def test_an_oauth_account_confirms_its_age_before_anything_else(
    oauth_server: tuple[RunningServer, FakeOAuthProvider],
) -> None:
    server, provider = oauth_server
    provider.sign_in("google", ADA)
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as browser:
        tokens = (await sign_in(browser, "google")).json()
        auth = bearer(tokens["access_token"])
        interview_id = await _interview_of(server, tokens["user"]["id"])

        for refused in await _representative_routes(browser, auth, interview_id):
            assert refused.status_code == 403, (refused.request.url, refused.text)
            assert refused.json()["error"]["code"] == REFUSED
            assert "confirm_age_16" in refused.json()["error"]["message"]
        assert await server.app.state.services.db.fetchval("SELECT count(*) FROM live_tickets") == 0

        me = await browser.get("/v1/me", headers=auth)
        assert me.status_code == 200 and me.json()["age_confirmed"] is False
        renamed = await browser.patch("/v1/me", headers=auth, json={"name": "Ada L."})
        assert renamed.status_code == 200 and renamed.json()["age_confirmed"] is False
        out = await browser.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
        assert out.status_code == 204

        tokens = (await sign_in(browser, "google")).json()
        auth = bearer(tokens["access_token"])
        assert (await browser.get("/v1/resumes", headers=auth)).status_code == 403
        confirmed = await browser.patch("/v1/me", headers=auth, json={"confirm_age_16": True})
        assert confirmed.status_code == 200 and confirmed.json()["age_confirmed"] is True
        # The same token works now: the confirmation is read from the account each time.
        resumes, created, ticket, audit = await _representative_routes(browser, auth, interview_id)
        assert resumes.status_code == 200 and audit.status_code == 200
        assert created.status_code == 201, created.text
        assert ticket.status_code == 201, ticket.text


async def test_a_supabase_account_confirms_its_age_before_anything_else(
    supabase_server: RunningServer,
) -> None:
    now = int(time.time())
    token = hs256(amr=[{"method": "oauth", "timestamp": now}])
    auth = bearer(token)
    async with httpx.AsyncClient(base_url=supabase_server.url, timeout=10) as http:
        me = await http.get("/v1/me", headers=auth)
        assert me.status_code == 200 and me.json()["age_confirmed"] is False
        interview_id = await _interview_of(supabase_server, me.json()["id"])
        for refused in await _representative_routes(http, auth, interview_id):
            assert refused.status_code == 403, (refused.request.url, refused.text)
            assert refused.json()["error"]["code"] == REFUSED
        assert (await http.patch("/v1/me", headers=auth, json={"confirm_age_16": True})).is_success
        resumes, created, ticket, audit = await _representative_routes(http, auth, interview_id)
        assert resumes.status_code == audit.status_code == 200
        assert created.status_code == ticket.status_code == 201


async def test_every_other_signed_in_route_is_closed_until_then(
    supabase_server: RunningServer,
) -> None:
    """Walks every route that needs a sign-in, so a new route cannot forget the check."""
    auth = bearer(hs256())
    checked = 0
    async with httpx.AsyncClient(base_url=supabase_server.url, timeout=10) as http:
        assert (await http.get("/v1/me", headers=auth)).status_code == 200
        for router in ROUTERS:
            for endpoint in router.endpoints:
                if not endpoint.auth or (endpoint.method, endpoint.path) in BEFORE_AGE_CONFIRMATION:
                    continue
                path = re.sub(r"{[^}]+}", "0123456789abcdef", endpoint.path)
                response = await http.request(endpoint.method, path, headers=auth, json={})
                assert response.status_code == 403, (endpoint.method, path, response.text)
                assert response.json()["error"]["code"] == REFUSED
                checked += 1
        head = await http.head("/v1/resumes", headers=auth)
        assert head.status_code == 403
        assert checked >= 20
        assert set(BEFORE_AGE_CONFIRMATION) == {
            ("GET", "/v1/me"),
            ("PATCH", "/v1/me"),
            ("DELETE", "/v1/account"),
        }
        # Deleting the account needs no confirmation: only a recent sign-in.
        now = int(time.time())
        fresh = bearer(
            hs256(
                sub="gone-before-confirming",
                email="young@example.org",
                amr=[{"method": "otp", "timestamp": now}],
            )
        )
        assert (await http.get("/v1/me", headers=fresh)).status_code == 200
        deleted = await http.request("DELETE", "/v1/account", headers=fresh, json={})
        assert deleted.status_code == 204, deleted.text
