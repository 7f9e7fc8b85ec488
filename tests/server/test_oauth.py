"""Google and GitHub sign-in, end to end: our server, a browser (httpx) and a fake provider
speaking the providers' real endpoints over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from server.routes.oauth import STATE_COOKIE, prefers_json
from server.settings import Settings
from storage import connect
from storage.audit import AuditRepository
from storage.types import AuditEvent
from tests.fakes.oauth_provider import (
    GITHUB_CLIENT_ID,
    GOOGLE_CLIENT_ID,
    FakeAccount,
    FakeEmail,
    FakeOAuthProvider,
    running_fake_provider,
    s256,
)
from tests.server.mailbox import eml_link, token_of
from tests.server.test_auth import PASSWORD, bearer, login, register
from tests.serving import RunningServer, run_server

ADA = FakeAccount(subject="108234567890", email="ada@example.org", name="Ada Lovelace")
GRACE = FakeAccount(subject="4242", email="grace@example.org", name="Grace Hopper", login="gh")
JSON = {"accept": "application/json"}
BROWSER = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.fixture
async def provider() -> AsyncIterator[FakeOAuthProvider]:
    async with running_fake_provider() as fake:
        yield fake


@pytest.fixture
async def oauth_server(
    settings: Settings, provider: FakeOAuthProvider
) -> AsyncIterator[RunningServer]:
    configured = settings.model_copy(update=provider.settings_overrides())
    async with run_server(configured) as running:
        # The redirect URI is built from PUBLIC_URL, and the port is only known now.
        running.settings.public_url = running.url
        provider.allow_redirects_to(running.url)
        yield running


@pytest.fixture
async def browser(oauth_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    """Keeps cookies and follows nothing on its own, so each hop can be checked."""
    async with httpx.AsyncClient(base_url=oauth_server.url, timeout=10) as client:
        yield client


async def start(
    browser: httpx.AsyncClient, provider: str, redirect_to: str = "/app"
) -> tuple[str, dict[str, str]]:
    """Start a sign-in; returns the provider URL we were sent to and its query."""
    response = await browser.get(
        f"/v1/auth/oauth/{provider}/start", params={"redirect_to": redirect_to}
    )
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    query = {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}
    return location, query


async def through_provider(browser: httpx.AsyncClient, provider: str) -> str:
    """Start, and let the provider sign the person in; returns the callback URL."""
    location, _ = await start(browser, provider)
    at_provider = await browser.get(location)
    assert at_provider.status_code == 302, at_provider.text
    return at_provider.headers["location"]


async def sign_in(browser: httpx.AsyncClient, provider: str) -> httpx.Response:
    return await browser.get(await through_provider(browser, provider), headers=JSON)


async def audit_events(settings: Settings, action: str) -> list[AuditEvent]:
    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        return await AuditRepository(db).list_by_action(action)
    finally:
        await db.close()


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# Round trips ------------------------------------------------------------------------------


async def test_google_round_trip_with_pkce(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    provider.sign_in("google", ADA)
    location, query = await start(browser, "google")

    assert location.startswith(f"{provider.url}/o/oauth2/v2/auth?")
    assert query["response_type"] == "code"
    assert query["client_id"] == GOOGLE_CLIENT_ID
    assert query["redirect_uri"] == f"{oauth_server.url}/v1/auth/oauth/google/callback"
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 32

    at_provider = await browser.get(location)
    callback = at_provider.headers["location"]
    assert callback.startswith(query["redirect_uri"] + "?")
    response = await browser.get(callback, headers=JSON)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    tokens = response.json()
    assert tokens["user"]["email"] == "ada@example.org"
    assert tokens["user"]["email_verified"] is True
    assert tokens["user"]["has_password"] is False
    assert tokens["user"]["name"] == "Ada Lovelace"

    me = await browser.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["id"] == tokens["user"]["id"]
    # A provider does not tell us the user's age: the app asks once, then it is kept.
    assert me.json()["age_confirmed"] is False
    confirmed = await browser.patch(
        "/v1/me", json={"confirm_age_16": True}, headers=bearer(tokens["access_token"])
    )
    assert confirmed.status_code == 200 and confirmed.json()["age_confirmed"] is True

    # The fake checked PKCE; check too that the verifier we sent is the challenge's.
    (exchange,) = provider.requests_to("/token")
    assert exchange.form["grant_type"] == "authorization_code"
    assert exchange.form["client_secret"]
    assert exchange.form["redirect_uri"] == query["redirect_uri"]
    assert s256(exchange.form["code_verifier"]) == query["code_challenge"]
    (userinfo,) = provider.requests_to("/v1/userinfo")
    assert userinfo.headers["authorization"].startswith("Bearer ")

    registered = await audit_events(oauth_server.settings, "auth.register")
    logins = await audit_events(oauth_server.settings, "auth.login")
    assert [(e.user_id, e.details) for e in registered] == [
        (tokens["user"]["id"], {"method": "google"})
    ]
    assert [(e.user_id, e.details) for e in logins] == [
        (tokens["user"]["id"], {"method": "google"})
    ]
    assert logins[0].ip == "127.0.0.1"


async def test_github_round_trip_lands_on_the_page_with_tokens_in_the_fragment(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    grace = FakeAccount(
        subject="4242",
        email="grace.old@example.org",
        email_verified=False,
        name=None,
        login="grace",
        extra_emails=[FakeEmail("grace@example.org", verified=True)],
    )
    provider.sign_in("github", grace)
    location, query = await start(browser, "github", "/app/interviews?tab=new")
    assert location.startswith(f"{provider.url}/login/oauth/authorize?")
    assert query["client_id"] == GITHUB_CLIENT_ID
    assert query["scope"] == "read:user user:email"

    at_provider = await browser.get(location)
    landing = await browser.get(at_provider.headers["location"], headers=BROWSER)
    assert landing.status_code == 303, landing.text
    target = urlsplit(landing.headers["location"])
    assert f"{target.scheme}://{target.netloc}" == oauth_server.url
    assert (target.path, target.query) == ("/app/interviews", "tab=new")
    fragment = {key: values[0] for key, values in parse_qs(target.fragment).items()}
    assert set(fragment) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert fragment["expires_in"] == "900"

    me = await browser.get("/v1/me", headers=bearer(fragment["access_token"]))
    assert me.status_code == 200
    # The verified address wins over the unverified primary one; the login names them.
    assert me.json()["email"] == "grace@example.org"
    assert me.json()["email_verified"] is True
    assert me.json()["name"] == "grace"
    refreshed = await browser.post(
        "/v1/auth/refresh", json={"refresh_token": fragment["refresh_token"]}
    )
    assert refreshed.status_code == 200

    (exchange,) = provider.requests_to("/login/oauth/access_token")
    assert exchange.headers["accept"] == "application/json"
    assert s256(exchange.form["code_verifier"]) == query["code_challenge"]
    for path in ("/user", "/user/emails"):
        (call,) = provider.requests_to(path)
        assert call.headers["authorization"].startswith("Bearer ")
    # Done: the state cookie is cleared.
    assert STATE_COOKIE not in browser.cookies


async def test_second_sign_in_finds_the_same_user(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    provider.sign_in("github", GRACE)
    first = await sign_in(browser, "github")
    second = await sign_in(browser, "github")
    assert first.status_code == second.status_code == 200
    assert first.json()["user"]["id"] == second.json()["user"]["id"]
    assert len(await audit_events(oauth_server.settings, "auth.register")) == 1
    logins = await audit_events(oauth_server.settings, "auth.login")
    assert [e.details for e in logins] == [{"method": "github"}] * 2


async def test_refreshing_is_not_signing_in_again_for_account_deletion(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    # An account without a password confirms its deletion with a recent sign-in.
    # Whole seconds: a token's auth_time is truncated to one, so a fresh sign-in may look
    # up to a second old.
    oauth_server.settings.reauth_window_s = 2
    provider.sign_in("google", ADA)
    signed_in = (await sign_in(browser, "google")).json()
    auth = bearer(signed_in["access_token"])
    assert (await browser.patch("/v1/me", json={"confirm_age_16": True}, headers=auth)).is_success
    first_claims = jwt.decode(signed_in["access_token"], options={"verify_signature": False})

    await asyncio.sleep(2.5)  # the sign-in is now older than REAUTH_WINDOW_S
    refreshed = await browser.post(
        "/v1/auth/refresh", json={"refresh_token": signed_in["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    assert claims["iat"] > first_claims["iat"]
    assert claims["auth_time"] == first_claims["auth_time"]  # the family's sign-in
    # A refresh of the refresh keeps it too.
    again = await browser.post(
        "/v1/auth/refresh", json={"refresh_token": refreshed.json()["refresh_token"]}
    )
    access = again.json()["access_token"]
    latest = jwt.decode(access, options={"verify_signature": False})
    assert latest["auth_time"] == first_claims["auth_time"]
    refused = await browser.request("DELETE", "/v1/account", headers=bearer(access), json={})
    assert refused.status_code == 403, refused.text
    assert error_code(refused) == "reauthentication_required"
    [refusal] = await audit_events(oauth_server.settings, "account.delete_refused")
    assert refusal.details == {"reason": "reauthentication"}

    fresh = (await sign_in(browser, "google")).json()
    deleted = await browser.request(
        "DELETE", "/v1/account", headers=bearer(fresh["access_token"]), json={}
    )
    assert deleted.status_code == 204, deleted.text
    assert (await browser.get("/v1/me", headers=bearer(access))).status_code == 401


async def test_providers_lists_the_enabled_ones(
    browser: httpx.AsyncClient, settings: Settings
) -> None:
    listed = await browser.get("/v1/auth/oauth/providers")
    assert listed.status_code == 200
    assert [p["name"] for p in listed.json()["providers"]] == ["google", "github"]
    assert listed.json()["providers"][0]["start_url"] == "/v1/auth/oauth/google/start"

    document = (await browser.get("/openapi.json")).json()
    start_op = document["paths"]["/v1/auth/oauth/{provider}/start"]["get"]
    assert {p["name"] for p in start_op["parameters"]} == {"provider", "redirect_to"}
    callback_op = document["paths"]["/v1/auth/oauth/{provider}/callback"]["get"]
    assert {"code", "state", "error"} <= {p["name"] for p in callback_op["parameters"]}

    # Without credentials, no buttons.
    async with run_server(settings) as plain, httpx.AsyncClient(base_url=plain.url) as client:
        assert (await client.get("/v1/auth/oauth/providers")).json() == {"providers": []}
        disabled = await client.get("/v1/auth/oauth/google/start")
        assert disabled.status_code == 404 and error_code(disabled) == "unknown_provider"


# Refusals ---------------------------------------------------------------------------------


async def test_a_state_works_once(browser: httpx.AsyncClient, provider: FakeOAuthProvider) -> None:
    provider.sign_in("google", ADA)
    callback = await through_provider(browser, "google")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert (await browser.get(callback, headers=JSON)).status_code == 200

    # Even with the state cookie put back, the state itself is spent.
    browser.cookies.set(STATE_COOKIE, state, domain="127.0.0.1", path="/v1/auth/oauth/")
    replay = await browser.get(callback, headers=JSON)
    assert replay.status_code == 400 and error_code(replay) == "invalid_oauth_state"
    assert len(provider.requests_to("/token")) == 1


async def test_a_state_of_another_provider_is_refused(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider
) -> None:
    provider.sign_in("google", ADA)
    callback = await through_provider(browser, "google")
    crossed = callback.replace("/oauth/google/callback", "/oauth/github/callback")
    refused = await browser.get(crossed, headers=JSON)
    assert refused.status_code == 400 and error_code(refused) == "invalid_oauth_state"
    # Taking it spent it: the right callback cannot use it afterwards either.
    late = await browser.get(callback, headers=JSON)
    assert late.status_code == 400 and error_code(late) == "invalid_oauth_state"
    assert provider.requests_to("/token") == []


async def test_a_callback_from_another_browser_is_refused(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    """Login CSRF: a link to someone else's callback must not sign this browser in."""
    provider.sign_in("google", ADA)
    callback = await through_provider(browser, "google")
    async with httpx.AsyncClient(timeout=10) as victim:
        refused = await victim.get(callback, headers=JSON)
    assert refused.status_code == 400 and error_code(refused) == "invalid_oauth_state"
    # A state we never issued, even with a matching cookie.
    browser.cookies.set(STATE_COOKIE, "y" * 43, domain="127.0.0.1", path="/v1/auth/oauth/")
    unknown = await browser.get(
        "/v1/auth/oauth/google/callback", params={"code": "x", "state": "y" * 43}, headers=JSON
    )
    assert unknown.status_code == 400 and error_code(unknown) == "invalid_oauth_state"


async def test_redirect_to_must_be_a_path_on_this_site(browser: httpx.AsyncClient) -> None:
    for redirect_to in (
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
        "app",
        "/a b",
        "/x\n",
    ):
        response = await browser.get(
            "/v1/auth/oauth/google/start", params={"redirect_to": redirect_to}
        )
        assert response.status_code == 422, redirect_to
        assert error_code(response) == "validation_error"
        assert response.json()["error"]["details"][0]["field"] == "redirect_to"


async def test_unknown_provider_is_not_found(browser: httpx.AsyncClient) -> None:
    for path in ("/v1/auth/oauth/facebook/start", "/v1/auth/oauth/facebook/callback?state=s"):
        response = await browser.get(path)
        assert response.status_code == 404 and error_code(response) == "unknown_provider"


async def test_cancelling_at_the_provider_goes_back_with_an_error(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    provider.deny = True
    landing = await browser.get(await through_provider(browser, "google"), headers=BROWSER)
    assert landing.status_code == 303
    assert landing.headers["location"] == f"{oauth_server.url}/app#error=oauth_denied"
    refused = await browser.get(await through_provider(browser, "github"), headers=JSON)
    assert refused.status_code == 400 and error_code(refused) == "oauth_denied"
    assert provider.requests_to("/token") == []
    assert provider.requests_to("/login/oauth/access_token") == []


# Linking ----------------------------------------------------------------------------------


async def test_an_account_that_verified_its_address_is_linked_and_keeps_its_password(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    local = await register(browser, "ada@example.org")
    user_id = local["user"]["id"]
    provider.sign_in("google", ADA)
    # Whoever registered the address has not proven they own it: no link yet, and the
    # account is left as it is (neither handed to Google's user nor stripped).
    refused = await sign_in(browser, "google")
    assert refused.status_code == 409, refused.text
    assert error_code(refused) == "email_not_verified"
    assert "Forgot password?" in refused.json()["error"]["message"]
    landing = await browser.get(await through_provider(browser, "google"), headers=BROWSER)
    assert landing.status_code == 303
    assert landing.headers["location"] == f"{oauth_server.url}/app#error=email_not_verified"
    assert (await login(browser, "ada@example.org", PASSWORD)).status_code == 200
    kept = await browser.post("/v1/auth/refresh", json={"refresh_token": local["refresh_token"]})
    assert kept.status_code == 200
    assert await audit_events(oauth_server.settings, "auth.identity_linked") == []
    failed = await audit_events(oauth_server.settings, "auth.login_failed")
    assert [(e.user_id, e.details) for e in failed] == [
        (user_id, {"method": "google", "reason": "account_email_not_verified"})
    ] * 2

    # The account follows the link it was e-mailed at registration; now Google links it,
    # and the password and the sessions stay.
    link = await eml_link(oauth_server.settings.data_dir, "ada@example.org", "/#/verify")
    verified = await browser.post("/v1/auth/verify-email", json={"token": token_of(link)})
    assert verified.status_code == 200, verified.text
    response = await sign_in(browser, "google")
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["id"] == user_id
    assert user["email_verified"] is True and user["has_password"] is True
    assert (await login(browser, "ada@example.org", PASSWORD)).status_code == 200
    session = await browser.post(
        "/v1/auth/refresh", json={"refresh_token": kept.json()["refresh_token"]}
    )
    assert session.status_code == 200

    linked = await audit_events(oauth_server.settings, "auth.identity_linked")
    assert [(e.user_id, e.details) for e in linked] == [(user_id, {"provider": "google"})]
    assert len(await audit_events(oauth_server.settings, "auth.register")) == 1  # the local one
    again = await sign_in(browser, "google")
    assert again.json()["user"]["id"] == user_id
    assert len(await audit_events(oauth_server.settings, "auth.identity_linked")) == 1


async def test_an_unverified_email_never_links(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    local = await register(browser, "grace@example.org")
    provider.sign_in("github", FakeAccount(subject="77", email="grace@example.org", **_UNVERIFIED))
    for _ in range(2):
        refused = await sign_in(browser, "github")
        assert refused.status_code == 409, refused.text
        assert error_code(refused) == "email_unverified"
    assert await audit_events(oauth_server.settings, "auth.identity_linked") == []
    failed = await audit_events(oauth_server.settings, "auth.login_failed")
    assert [(e.user_id, e.details) for e in failed] == [
        (local["user"]["id"], {"method": "github", "reason": "email_unverified"})
    ] * 2
    me = await browser.get("/v1/me", headers=bearer(local["access_token"]))
    assert me.json()["email_verified"] is False

    # The same unverified address with no local account behind it is a new, unverified user.
    provider.sign_in("google", FakeAccount(subject="g-1", email="new@example.org", **_UNVERIFIED))
    created = await sign_in(browser, "google")
    assert created.status_code == 200
    assert created.json()["user"]["email_verified"] is False


_UNVERIFIED: dict[str, Any] = {"email_verified": False, "name": "Someone"}


# Provider failures ------------------------------------------------------------------------


async def test_a_provider_error_is_a_502_not_a_500(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider, oauth_server: RunningServer
) -> None:
    provider.sign_in("google", ADA)
    provider.fault = "token_500"
    failed = await sign_in(browser, "google")
    assert failed.status_code == 502, failed.text
    assert error_code(failed) == "oauth_provider_error"
    assert "HTTP 500" in failed.json()["error"]["message"]
    # A browser is sent back to the page it came from, with the code to show.
    landing = await browser.get(await through_provider(browser, "google"), headers=BROWSER)
    assert landing.status_code == 303
    assert landing.headers["location"] == f"{oauth_server.url}/app#error=oauth_provider_error"

    provider.fault = "token_hang"
    oauth_server.settings.oauth_timeout_s = 0.3
    hung = await sign_in(browser, "google")
    assert hung.status_code == 502 and error_code(hung) == "oauth_provider_error"
    assert "in time" in hung.json()["error"]["message"]


async def test_a_code_the_provider_rejects_is_a_502(
    browser: httpx.AsyncClient, provider: FakeOAuthProvider
) -> None:
    """GitHub answers a bad code with HTTP 200 and an error member; that is no token."""
    provider.sign_in("github", GRACE)
    callback = await through_provider(browser, "github")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    forged = await browser.get(
        "/v1/auth/oauth/github/callback",
        params={"code": "not-a-code", "state": state},
        headers=JSON,
    )
    assert forged.status_code == 502
    assert "bad_verification_code" in forged.json()["error"]["message"]


# The fake itself --------------------------------------------------------------------------


async def test_the_fake_refuses_a_wrong_pkce_verifier_like_google(
    provider: FakeOAuthProvider,
) -> None:
    provider.sign_in("google", ADA)
    provider.allow_redirects_to("http://app.example")
    redirect_uri = "http://app.example/callback"
    async with httpx.AsyncClient(base_url=provider.url) as http:

        async def code_for(challenge: str) -> str:
            response = await http.get(
                "/o/oauth2/v2/auth",
                params={
                    "response_type": "code",
                    "client_id": GOOGLE_CLIENT_ID,
                    "redirect_uri": redirect_uri,
                    "scope": "openid email",
                    "state": "s",
                    "code_challenge": challenge,
                    "code_challenge_method": "S256",
                },
            )
            return parse_qs(urlsplit(response.headers["location"]).query)["code"][0]

        def exchange(code: str, verifier: str) -> dict[str, str]:
            return {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": GOOGLE_CLIENT_ID,
                "client_secret": provider.settings_overrides()[
                    "google_client_secret"
                ].get_secret_value(),
                "redirect_uri": redirect_uri,
                "code_verifier": verifier,
            }

        verifier = "v" * 64
        wrong = await http.post("/token", data=exchange(await code_for(s256(verifier)), "w" * 64))
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        right = await http.post("/token", data=exchange(await code_for(s256(verifier)), verifier))
        assert right.status_code == 200 and right.json()["access_token"]

        no_pkce = await http.get(
            "/o/oauth2/v2/auth",
            params={
                "response_type": "code",
                "client_id": GOOGLE_CLIENT_ID,
                "redirect_uri": redirect_uri,
                "state": "s",
            },
        )
        assert "error=invalid_request" in no_pkce.headers["location"]
        elsewhere = await http.get(
            "/o/oauth2/v2/auth",
            params={"client_id": GOOGLE_CLIENT_ID, "redirect_uri": "http://evil.example/cb"},
        )
        assert elsewhere.status_code == 400


def test_accept_header_negotiation() -> None:
    assert prefers_json("application/json")
    assert prefers_json("application/json, text/plain, */*")
    assert not prefers_json(BROWSER["accept"])
    assert not prefers_json("*/*")
    assert not prefers_json("")
    assert not prefers_json("text/html;q=0.9, application/json;q=0.5")
    assert prefers_json("text/html;q=0.5, application/json")
