"""Error reports through the real sentry-sdk to a local HTTP endpoint standing in for the
DSN: the server's unexpected error arrives, and no personal data comes with it."""

from __future__ import annotations

import gzip
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import sentry_sdk

from server.sentry import FILTERED, scrub
from server.settings import Settings
from storage import connect
from tests.server.test_auth import PASSWORD, bearer, register
from tests.serving import run_server

PERSONAL = "Kestrel observability lead; reach me at ada.lovelace@example.org or 020 7946 0958"


class _Envelopes(BaseHTTPRequestHandler):
    received: list[bytes]

    def do_POST(self) -> None:  # noqa: N802 - the http.server naming
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        encoding = self.headers.get("content-encoding", "")
        if encoding == "gzip":
            body = gzip.decompress(body)
        elif encoding == "br":
            import brotli  # type: ignore[import-not-found]

            body = brotli.decompress(body)
        self.received.append(body)
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def sentry_endpoint() -> Iterator[tuple[str, list[bytes]]]:
    received: list[bytes] = []
    handler = type("Handler", (_Envelopes,), {"received": received})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://publickey@127.0.0.1:{httpd.server_address[1]}/42", received
    finally:
        sentry_sdk.get_client().close(timeout=2)
        sentry_sdk.init()  # a client with no DSN: nothing more is sent
        httpd.shutdown()
        httpd.server_close()


def _items(envelope: bytes) -> list[tuple[dict[str, Any], Any]]:
    lines = envelope.split(b"\n")
    items = []
    index = 1
    while index + 1 < len(lines):
        header = json.loads(lines[index])
        payload = lines[index + 1]
        items.append((header, json.loads(payload) if payload.startswith(b"{") else payload))
        index += 2
    return items


async def test_an_unexpected_error_is_reported_without_personal_data(
    tmp_path: Path, sentry_endpoint: tuple[str, list[bytes]]
) -> None:
    dsn, received = sentry_endpoint
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env="test",
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'intrvuer.db'}",
        jwt_secret="test-secret-that-is-long-enough-for-hs256-0123456789",
        sentry_dsn=dsn,
    )
    async with (
        run_server(settings) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        tokens = await register(http, "ada.lovelace@example.org")
        # Break the storage under the running server, so that the next write fails.
        db = await connect(settings.resolved_database_url)
        await db.execute("DROP TABLE job_descriptions")
        await db.close()
        logging.getLogger("intrvuer.test").warning("about to fail for %s", PERSONAL)
        response = await http.post(
            "/v1/jobs?ticket=secret-ticket-value&token=query-token",
            json={"text": PERSONAL},
            headers={
                **bearer(tokens["access_token"]),
                "cookie": "intrvuer_refresh=cookie-secret-value",
                "x-csrf-token": "csrf-secret-value",
            },
        )
        assert response.status_code == 500
        assert response.json()["error"]["code"] == "internal_error"
        assert not sentry_sdk.get_client().options["send_default_pii"]
        assert sentry_sdk.flush(timeout=5) is None
    assert received, "no envelope reached the DSN endpoint"
    everything = b"\n".join(received).decode("utf-8", "replace")
    events = [
        payload
        for envelope in received
        for header, payload in _items(envelope)
        if header.get("type") == "event"
    ]
    assert events, everything[:2000]
    assert any("exception" in event for event in events)
    for secret in (
        "Kestrel",
        "ada.lovelace@example.org",
        "7946 0958",
        tokens["access_token"],
        tokens["refresh_token"],
        "secret-ticket-value",
        "query-token",
        "cookie-secret-value",
        "csrf-secret-value",
        PASSWORD,
    ):
        assert secret not in everything, f"{secret!r} reached Sentry"


def test_scrub_removes_request_content_and_credentials() -> None:
    event: dict[str, Any] = {
        "request": {
            "url": "https://app.example/v1/interviews/1/live?ticket=abc",
            "query_string": "ticket=abc",
            "data": {"text": PERSONAL},
            "cookies": {"intrvuer_refresh": "x"},
            "headers": {"Authorization": "Bearer t", "User-Agent": "ua", "Cookie": "c"},
        },
        "user": {"id": "u1", "email": "a@example.org", "ip_address": "1.2.3.4"},
        "extra": {"answer": "my answer", "nested": [{"parsed": {"skills": ["x"]}}]},
        "logentry": {"message": "mail me at a@example.org", "params": []},
    }
    cleaned = scrub(event)
    request = cleaned["request"]
    assert "data" not in request and "cookies" not in request
    assert request["query_string"] == FILTERED and "?" not in request["url"]
    assert request["headers"] == {"Authorization": FILTERED, "User-Agent": "ua", "Cookie": FILTERED}
    assert cleaned["user"] == {"id": "u1"}
    assert cleaned["extra"] == {"answer": FILTERED, "nested": [{"parsed": FILTERED}]}
    assert "a@example.org" not in cleaned["logentry"]["message"]
