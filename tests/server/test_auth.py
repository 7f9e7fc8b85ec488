"""E-mail + password accounts, tokens and their rotation, through a real server."""

from __future__ import annotations

import time
from typing import Any

import httpx
import jwt

from server.settings import Settings
from storage import connect
from storage.audit import AuditRepository

PASSWORD = "correct horse battery"


async def register(
    client: httpx.AsyncClient, email: str = "ada@example.org", **extra: Any
) -> dict[str, Any]:
    body = {"email": email, "password": PASSWORD, "name": "Ada", "confirm_age_16": True, **extra}
    response = await client.post(
        "/v1/auth/register", json=body, headers={"user-agent": "pytest-ua"}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def login(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/login",
        json={"email": email, "password": password},
        headers={"user-agent": "pytest-ua"},
    )


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_register_login_me_and_profile(client: httpx.AsyncClient) -> None:
    registered = await register(client)
    assert registered["user"]["email"] == "ada@example.org"
    assert registered["token_type"] == "bearer"

    response = await login(client, "ADA@example.org", PASSWORD)
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access_token", "refresh_token", "token_type", "expires_in", "user"}
    assert tokens["expires_in"] == 15 * 60

    me = await client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200 and me.json()["name"] == "Ada"

    patched = await client.patch(
        "/v1/me",
        json={"name": "Ada Lovelace", "preferences": {"theme": "dark"}},
        headers=bearer(tokens["access_token"]),
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Ada Lovelace"
    assert patched.json()["preferences"] == {"theme": "dark"}
    assert patched.json()["age_confirmed"] is True  # confirmed at registration

    bad_theme = await client.patch(
        "/v1/me", json={"preferences": {"theme": "neon"}}, headers=bearer(tokens["access_token"])
    )
    assert bad_theme.status_code == 422
    assert bad_theme.json()["error"]["code"] == "validation_error"


async def test_register_requires_age_confirmation_and_unique_email(
    client: httpx.AsyncClient,
) -> None:
    body = {"email": "b@example.org", "password": PASSWORD, "name": "B"}
    missing = await client.post("/v1/auth/register", json=body)
    assert missing.status_code == 422
    assert any(d["field"] == "confirm_age_16" for d in missing.json()["error"]["details"])
    refused = await client.post("/v1/auth/register", json={**body, "confirm_age_16": False})
    assert refused.status_code == 422
    await register(client, "b@example.org")
    again = await client.post("/v1/auth/register", json={**body, "confirm_age_16": True})
    assert again.status_code == 409 and again.json()["error"]["code"] == "email_taken"


async def test_wrong_password_and_unknown_email_answer_the_same(
    client: httpx.AsyncClient,
) -> None:
    await register(client)
    wrong = await login(client, "ada@example.org", "not the password")
    unknown = await login(client, "nobody@example.org", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "invalid_credentials"


async def test_refresh_rotates_and_reuse_revokes_the_family(client: httpx.AsyncClient) -> None:
    first = await register(client)
    rotated = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]

    # The first token was rotated: presenting it again is a theft signal.
    reused = await client.post("/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reused.status_code == 401 and reused.json()["error"]["code"] == "token_reused"
    # ...and the whole family, including the legitimately rotated token, is now revoked.
    after = await client.post("/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    assert after.status_code == 401

    garbage = await client.post("/v1/auth/refresh", json={"refresh_token": "nope"})
    assert garbage.status_code == 401 and garbage.json()["error"]["code"] == "invalid_token"


async def test_logout_revokes_refresh_token(client: httpx.AsyncClient) -> None:
    tokens = await register(client)
    out = await client.post("/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]})
    assert out.status_code == 204
    again = await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert again.status_code == 401


async def test_forged_tokens_are_refused(client: httpx.AsyncClient, settings: Settings) -> None:
    tokens = await register(client)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})

    none_alg = jwt.encode(claims, key="", algorithm="none")  # "none" takes no key: ""
    other_key = jwt.encode(
        claims, "another-secret-that-is-long-enough-0123456789abc", algorithm="HS256"
    )
    expired = jwt.encode(
        {**claims, "iat": int(time.time()) - 7200, "exp": int(time.time()) - 3600},
        settings.signing_secret(),
        algorithm="HS256",
    )
    wrong_audience = jwt.encode(
        {**claims, "aud": "someone-else"}, settings.signing_secret(), algorithm="HS256"
    )
    for token in (
        none_alg,
        other_key,
        expired,
        wrong_audience,
        "not.a.jwt",
        tokens["refresh_token"],
    ):
        response = await client.get("/v1/me", headers=bearer(token))
        assert response.status_code == 401, token
        assert response.json()["error"]["code"] == "invalid_token"
    missing = await client.get("/v1/me")
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "not_authenticated"


async def test_eleventh_failed_login_is_rate_limited(client: httpx.AsyncClient) -> None:
    await register(client)
    for _ in range(10):
        assert (await login(client, "ada@example.org", "wrong password")).status_code == 401
    blocked = await login(client, "ada@example.org", "wrong password")
    assert blocked.status_code == 429
    assert blocked.json()["error"]["code"] == "too_many_attempts"
    assert 1 <= int(blocked.headers["retry-after"]) <= 60
    # Even the right password waits until the window passes.
    assert (await login(client, "ada@example.org", PASSWORD)).status_code == 429


async def test_audit_rows_for_account_actions(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    tokens = await register(client)
    await login(client, "ada@example.org", "wrong password")
    fresh = (await login(client, "ada@example.org", PASSWORD)).json()
    await client.patch("/v1/me", json={"name": "Ada L"}, headers=bearer(fresh["access_token"]))
    await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    await client.post("/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    await client.post(
        "/v1/auth/logout",
        json={"refresh_token": fresh["refresh_token"]},
        headers={"user-agent": "pytest-ua"},
    )

    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        events = await AuditRepository(db).list_for_user(tokens["user"]["id"], limit=100)
    finally:
        await db.close()
    actions = [event.action for event in reversed(events)]
    assert actions == [
        "auth.register",
        "auth.login_failed",
        "auth.login",
        "user.profile_updated",
        "auth.token_reuse",
        "auth.logout",
    ]
    for event in events:
        assert event.ip == "127.0.0.1"
        assert event.user_agent
        assert event.created_at.tzinfo is not None
        assert "Ada" not in str(event.details) and "example.org" not in str(event.details)


COOKIE_SESSION = {"x-intrvuer-auth": "cookie"}


def _set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header of a response, by cookie name (the whole header line)."""
    return {line.split("=", 1)[0]: line for line in response.headers.get_list("set-cookie")}


def _cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


def _cookie_header(refresh: str, csrf: str) -> dict[str, str]:
    # httpx keeps Secure cookies for https only; the browser sends them to 127.0.0.1.
    return {"cookie": f"intrvuer_refresh={refresh}; intrvuer_csrf={csrf}"}


async def test_cookie_session_keeps_the_refresh_token_out_of_script_reach(
    client: httpx.AsyncClient,
) -> None:
    body = {"email": "c@example.org", "password": PASSWORD, "name": "C", "confirm_age_16": True}
    created = await client.post("/v1/auth/register", json=body, headers=COOKIE_SESSION)
    assert created.status_code == 201
    assert "refresh_token" not in created.json()
    assert created.json()["access_token"]
    cookies = _set_cookies(created)
    refresh_cookie = cookies["intrvuer_refresh"].lower()
    for attribute in ("httponly", "secure", "samesite=strict", "path=/v1/auth/"):
        assert attribute in refresh_cookie
    csrf_cookie = cookies["intrvuer_csrf"].lower()
    assert "secure" in csrf_cookie and "samesite=strict" in csrf_cookie
    assert "httponly" not in csrf_cookie
    refresh = _cookie_value(cookies["intrvuer_refresh"])
    csrf = _cookie_value(cookies["intrvuer_csrf"])
    client.cookies.clear()

    # The cookie alone is not enough: the CSRF header must echo the readable cookie.
    bare = await client.post("/v1/auth/refresh", json={}, headers=_cookie_header(refresh, csrf))
    assert bare.status_code == 403
    assert bare.json()["error"]["code"] == "csrf_failed"
    wrong = await client.post(
        "/v1/auth/refresh",
        json={},
        headers={**_cookie_header(refresh, csrf), "x-csrf-token": "x" * 43},
    )
    assert wrong.status_code == 403
    elsewhere = await client.post(
        "/v1/auth/refresh",
        json={},
        headers={
            **_cookie_header(refresh, csrf),
            "x-csrf-token": csrf,
            "origin": "https://evil.example",
        },
    )
    assert elsewhere.status_code == 403
    assert elsewhere.json()["error"]["code"] == "origin_not_allowed"
    cross_site = await client.post(
        "/v1/auth/refresh",
        json={},
        headers={
            **_cookie_header(refresh, csrf),
            "x-csrf-token": csrf,
            "sec-fetch-site": "cross-site",
        },
    )
    assert cross_site.status_code == 403
    missing = await client.post("/v1/auth/refresh", json={}, headers={"x-csrf-token": csrf})
    assert missing.status_code == 401

    rotated = await client.post(
        "/v1/auth/refresh",
        json={},
        headers={
            **_cookie_header(refresh, csrf),
            "x-csrf-token": csrf,
            "origin": str(client.base_url),
        },
    )
    assert rotated.status_code == 200, rotated.text
    assert "refresh_token" not in rotated.json()
    assert rotated.json()["user"]["email"] == "c@example.org"
    new_refresh = _cookie_value(_set_cookies(rotated)["intrvuer_refresh"])
    assert new_refresh != refresh
    me = await client.get("/v1/me", headers=bearer(rotated.json()["access_token"]))
    assert me.status_code == 200

    # Reusing the rotated-away cookie revokes the family and clears the cookies.
    client.cookies.clear()
    reused = await client.post(
        "/v1/auth/refresh", json={}, headers={**_cookie_header(refresh, csrf), "x-csrf-token": csrf}
    )
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "token_reused"
    assert "max-age=0" in _set_cookies(reused)["intrvuer_refresh"].lower()


async def test_cookie_sign_in_and_sign_out(client: httpx.AsyncClient) -> None:
    await register(client, "out@example.org")
    signed_in = await client.post(
        "/v1/auth/login",
        json={"email": "out@example.org", "password": PASSWORD},
        headers=COOKIE_SESSION,
    )
    assert signed_in.status_code == 200
    assert "refresh_token" not in signed_in.json()
    cookies = _set_cookies(signed_in)
    refresh = _cookie_value(cookies["intrvuer_refresh"])
    csrf = _cookie_value(cookies["intrvuer_csrf"])
    client.cookies.clear()

    refused = await client.post("/v1/auth/logout", json={}, headers=_cookie_header(refresh, csrf))
    assert refused.status_code == 403
    out = await client.post(
        "/v1/auth/logout", json={}, headers={**_cookie_header(refresh, csrf), "x-csrf-token": csrf}
    )
    assert out.status_code == 204
    cleared = _set_cookies(out)
    assert "max-age=0" in cleared["intrvuer_refresh"].lower()
    assert "max-age=0" in cleared["intrvuer_csrf"].lower()
    client.cookies.clear()
    after = await client.post(
        "/v1/auth/refresh", json={}, headers={**_cookie_header(refresh, csrf), "x-csrf-token": csrf}
    )
    assert after.status_code == 401

    # An API client's body token can be moved into a cookie session (after OAuth sign-in).
    tokens = (await login(client, "out@example.org", PASSWORD)).json()
    moved = await client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=COOKIE_SESSION
    )
    assert moved.status_code == 200
    assert "refresh_token" not in moved.json()
    assert "intrvuer_refresh" in _set_cookies(moved)
