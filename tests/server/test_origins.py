"""Same-origin wherever the server is reached: the live socket and the session-cookie
routes accept the origin the browser used (``localhost``, ``127.0.0.1``, any port) with
``PUBLIC_URL`` left unset, and refuse every other origin and ``Origin: null``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.requests import HTTPConnection
from websockets.exceptions import InvalidStatus

from server.origins import normalize, origin_allowed
from server.settings import Settings
from tests.live_client import live
from tests.server.test_auth import (
    COOKIE_SESSION,
    PASSWORD,
    _cookie_header,
    _cookie_value,
    _set_cookies,
    bearer,
)
from tests.server.test_live import FakeProviders
from tests.serving import RunningServer, run_server

FOREIGN = ("https://evil.example", "null", "file://", "http://localhost:1", "not an origin")


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    assert settings.public_url == "http://127.0.0.1:8000"  # PUBLIC_URL is not set
    async with run_server(settings, providers=FakeProviders()) as running:
        assert running.port != 8000
        yield running


async def _interview(http: httpx.AsyncClient) -> tuple[str, str]:
    body = {"email": "o@example.org", "password": PASSWORD, "name": "O", "confirm_age_16": True}
    registered = await http.post("/v1/auth/register", json=body)
    token = registered.json()["access_token"]
    created = await http.post("/v1/interviews", json={"type": "behavioral"}, headers=bearer(token))
    assert created.status_code == 201, created.text
    return token, created.json()["id"]


async def _ticket(http: httpx.AsyncClient, token: str, iid: str) -> str:
    response = await http.post(f"/v1/interviews/{iid}/ticket", headers=bearer(token))
    assert response.status_code == 201, response.text
    return str(response.json()["ticket"])


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_the_live_socket_opens_from_the_origin_the_browser_used(
    server: RunningServer, host: str
) -> None:
    base = f"http://{host}:{server.port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        token, iid = await _interview(http)
        url = f"ws://{host}:{server.port}/v1/interviews/{iid}/live"
        for origin in FOREIGN:
            with pytest.raises(InvalidStatus) as refused:
                async with live(f"{url}?ticket={await _ticket(http, token, iid)}", origin=origin):
                    pass
            assert refused.value.response.status_code == 403, origin
            assert b"origin_not_allowed" in refused.value.response.body
        async with live(f"{url}?ticket={await _ticket(http, token, iid)}", origin=base) as client:
            await client.send({"type": "start"})
            await client.wait_for("ready")
            await client.send({"type": "stop"})
            await client.wait_for("interview_end")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
async def test_the_session_cookie_works_from_the_origin_the_browser_used(
    server: RunningServer, host: str
) -> None:
    base = f"http://{host}:{server.port}"
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        body = {"email": "c@example.org", "password": PASSWORD, "name": "C", "confirm_age_16": True}
        created = await http.post("/v1/auth/register", json=body, headers=COOKIE_SESSION)
        cookies = _set_cookies(created)
        refresh = _cookie_value(cookies["intrvuer_refresh"])
        csrf = _cookie_value(cookies["intrvuer_csrf"])
        http.cookies.clear()

        def headers(origin: str) -> dict[str, Any]:
            return {**_cookie_header(refresh, csrf), "x-csrf-token": csrf, "origin": origin}

        for origin in FOREIGN:
            refused = await http.post("/v1/auth/refresh", json={}, headers=headers(origin))
            assert refused.status_code == 403, origin
            assert refused.json()["error"]["code"] == "origin_not_allowed"
        rotated = await http.post("/v1/auth/refresh", json={}, headers=headers(base))
        assert rotated.status_code == 200, rotated.text
        refresh = _cookie_value(_set_cookies(rotated)["intrvuer_refresh"])
        http.cookies.clear()
        out = await http.post("/v1/auth/logout", json={}, headers=headers(f"{base}/"))
        assert out.status_code in (200, 204), out.text


def _connection(headers: dict[str, str], scheme: str = "http") -> HTTPConnection:
    scope = {
        "type": "http",
        "scheme": scheme,
        "path": "/",
        "headers": [(name.encode(), value.encode()) for name, value in headers.items()],
        "server": ("127.0.0.1", 8000),
    }
    return HTTPConnection(scope)


def test_forwarded_origin_counts_only_behind_a_trusted_proxy() -> None:
    proxied = {
        "host": "10.0.0.5:8000",
        "origin": "https://interviews.example",
        "x-forwarded-proto": "https",
        "x-forwarded-host": "interviews.example, inner.example",
    }
    direct = Settings(_env_file=None)  # type: ignore[call-arg]
    trusting = Settings(_env_file=None, trust_proxy_headers=True)  # type: ignore[call-arg]
    assert not origin_allowed(_connection(proxied), direct)
    assert origin_allowed(_connection(proxied), trusting)
    assert not origin_allowed(_connection({**proxied, "origin": "https://evil.example"}), trusting)


def test_public_url_and_allowed_origins_are_allowed_from_anywhere() -> None:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        public_url="https://app.example/",
        allowed_origins="https://admin.example, http://localhost:5173/",
    )
    for origin in ("https://app.example", "https://app.example:443", "http://localhost:5173"):
        assert origin_allowed(_connection({"host": "10.0.0.5", "origin": origin}), settings)
    assert not origin_allowed(_connection({"host": "10.0.0.5", "origin": "null"}), settings)
    # A WebSocket's own scheme is ws/wss; its origin is the page's http/https one.
    ws = _connection({"host": "localhost:9000", "origin": "http://LOCALHOST:9000"}, "ws")
    assert origin_allowed(ws, settings)
    assert origin_allowed(_connection({"host": "app.test"}), settings)  # no Origin: no browser


def test_normalize_fills_in_default_ports_and_refuses_what_is_no_origin() -> None:
    assert normalize("http://Example.org") == ("http", "example.org", 80)
    assert normalize("https://example.org:8443/") == ("https", "example.org", 8443)
    assert normalize("http://[::1]:8000") == ("http", "::1", 8000)
    for bad in ("null", "file:///etc", "javascript:alert(1)", "http://", "http://a:99999"):
        assert normalize(bad) is None, bad
