"""Cross-cutting HTTP behaviour: the error shape for bad input, limits, headers, probes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field

from server.api import ApiRouter
from server.settings import Settings
from tests.server.test_auth import bearer, register
from tests.serving import run_server


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        (b"{not json", "application/json", 400, "invalid_json"),
        (b"", "application/json", 400, "invalid_json"),
        (b"\xff\xfe", "application/json", 400, "invalid_json"),
        (b'["a list"]', "application/json", 422, "validation_error"),
        (b'{"email": 5, "password": []}', "application/json", 422, "validation_error"),
        (b'{"email": "a@example.org"}', "application/json", 422, "validation_error"),
        (
            b'{"email": "a@example.org", "password": "x", "extra": 1}',
            "application/json",
            422,
            "validation_error",
        ),
        (b"email=a", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ],
)
async def test_bad_bodies_get_clear_errors(
    client: httpx.AsyncClient, body: bytes, content_type: str, status: int, code: str
) -> None:
    response = await client.post(
        "/v1/auth/login", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    if status == 422:
        assert error["details"] and all("field" in d for d in error["details"])


async def test_five_mebibyte_body_is_refused(client: httpx.AsyncClient) -> None:
    big = b'{"email": "' + b"a" * (5 * 1024 * 1024) + b'"}'
    response = await client.post(
        "/v1/auth/login", content=big, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_chunked_body_over_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(40):
            yield b"x" * 65536

    response = await client.post(
        "/v1/auth/login", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


async def test_unknown_route_and_method(client: httpx.AsyncClient) -> None:
    missing = await client.get("/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = await client.delete("/v1/auth/login")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"


async def test_every_response_has_request_id_and_security_headers(
    client: httpx.AsyncClient,
) -> None:
    for response in (
        await client.get("/healthz"),
        await client.get("/v1/nothing"),
        await client.get("/"),
    ):
        assert len(response.headers["x-request-id"]) >= 8
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
        assert response.headers["x-content-type-options"] == "nosniff"
    kept = await client.get("/healthz", headers={"x-request-id": "trace-12345678"})
    assert kept.headers["x-request-id"] == "trace-12345678"


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


async def test_openapi_describes_every_route(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    paths = document["paths"]
    for path, method in [
        ("/v1/auth/register", "post"),
        ("/v1/auth/login", "post"),
        ("/v1/auth/refresh", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/me", "get"),
        ("/v1/me", "patch"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ]:
        assert method in paths[path], (path, method)
    app_routes = {
        (endpoint.path, endpoint.method.lower())
        for router in client_app_routers()
        for endpoint in router.endpoints
    }
    documented = {(path, method) for path, methods in paths.items() for method in methods}
    assert app_routes <= documented


def client_app_routers() -> list[ApiRouter]:
    from server.app import ROUTERS

    return ROUTERS


async def test_logs_never_contain_passwords_or_tokens(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from server.logs import NOISY_LIBRARIES, quiet_libraries

    levels = {name: logging.getLogger(name).level for name in NOISY_LIBRARIES}
    quiet_libraries()  # what `intrvuer serve` does at start-up, whatever LOG_LEVEL says
    try:
        await _no_secrets_in_logs(client, caplog)
    finally:
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


async def _no_secrets_in_logs(client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    tokens = await register(client, "logs@example.org")
    await client.post(
        "/v1/auth/login", json={"email": "logs@example.org", "password": "wrong-password-1"}
    )
    await client.get("/v1/me", headers={"authorization": f"Bearer {tokens['access_token']}"})
    from server.logs import JsonFormatter

    formatter = JsonFormatter()
    output = "\n".join(formatter.format(record) for record in caplog.records)
    for secret in (
        "correct horse battery",
        "wrong-password-1",
        tokens["access_token"],
        tokens["refresh_token"],
        "logs@example.org",
    ):
        assert secret not in output


def _numeric_query_parameters(document: dict[str, Any]) -> list[tuple[str, str, str, Any]]:
    """(path, method, name, schema) of every query parameter documented as a number."""
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                for kind in [schema, *schema.get("anyOf", [])]:
                    if parameter["in"] == "query" and kind.get("type") in ("integer", "number"):
                        found.append((path, method, parameter["name"], kind))
    return found


async def test_every_number_in_a_query_is_bounded_and_out_of_range_is_a_422(
    client: httpx.AsyncClient,
) -> None:
    """A 26-digit ``before`` was a 500 (an SQLite integer overflow); every numeric query
    parameter of every route now answers out-of-range values with the error shape."""
    tokens = await register(client, "q@example.org")
    auth = {"authorization": f"Bearer {tokens['access_token']}"}
    numbers = _numeric_query_parameters((await client.get("/openapi.json")).json())
    assert ("/v1/account/audit", "get", "before") in {number[:3] for number in numbers}
    for path, method, name, schema in numbers:
        assert schema["maximum"] <= 2**63 - 1 and "minimum" in schema, (path, name)
        for value in (
            "1" + "0" * 25,
            "-" + "9" * 26,
            str(schema["maximum"] + 1),
            str(schema["minimum"] - 1),
            "1e400",
            "nan",
            "12abc",
            "",
        ):
            response = await client.request(method, path, params={name: value}, headers=auth)
            assert response.status_code == 422, (path, name, value, response.text)
            error = response.json()["error"]
            assert error["code"] == "validation_error" and error["message"]
            assert [detail["field"] for detail in error["details"]] == [name]
        # The bound itself is a valid value, on either database.
        edge = await client.request(method, path, params={name: schema["maximum"]}, headers=auth)
        assert edge.status_code == 200, (path, name, edge.text)


async def test_a_route_with_an_unbounded_number_in_its_query_is_refused() -> None:
    class Unbounded(BaseModel):
        page: int | None = None

    class TooWide(BaseModel):
        offset: int = Field(default=0, ge=0, le=2**64)

    class Bounded(BaseModel):
        offset: int = Field(default=0, ge=0, le=1000)
        ratio: float = Field(default=0.5, gt=0, lt=1)
        verbose: bool = False

    router = ApiRouter(tags=["test"])
    for model in (Unbounded, TooWide):
        with pytest.raises(TypeError, match="give it both bounds"):
            router.get("/things", query=model)
    router.get("/things", query=Bounded)


def _metric(text: str, sample: str) -> float:
    line = next((line for line in text.splitlines() if line.startswith(sample + " ")), None)
    assert line is not None, f"{sample} not in /metrics"
    return float(line.split()[-1])


@pytest.fixture(params=["outbox", pytest.param("redis", marks=pytest.mark.redis)])
def quiet_settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """Nobody consumes the queue: what is enqueued stays pending."""
    redis_url = str(request.getfixturevalue("redis_url")) if request.param == "redis" else ""
    return settings.model_copy(update={"queue_inprocess_worker": False, "redis_url": redis_url})


async def test_metrics_give_autoscaling_signals(quiet_settings: Settings) -> None:
    quiet = quiet_settings
    async with (
        run_server(quiet) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        svc = server.app.state.services
        for _ in range(3):
            await svc.queue.enqueue("test.lag", {"n": 1})
        await svc.queue.enqueue("test.other", {})
        await asyncio.sleep(0.2)
        text = (await http.get("/metrics")).text
        assert _metric(text, 'intrvuer_queue_pending_jobs{kind="test.lag"}') == 3
        assert _metric(text, 'intrvuer_queue_pending_jobs{kind="test.other"}') == 1
        assert _metric(text, 'intrvuer_queue_oldest_job_age_seconds{kind="test.lag"}') >= 0.1
        assert _metric(text, "intrvuer_instance_live_sessions") == 0
        assert _metric(text, "intrvuer_worker_processes") == 1
        assert _metric(text, "intrvuer_draining") == 0

        auth = bearer((await register(http, "drain@example.org"))["access_token"])
        created = await http.post("/v1/interviews", headers=auth, json={"type": "behavioral"})
        interview_id = created.json()["id"]
        server.app.state.drain.begin()
        ready = await http.get("/readyz")
        assert ready.status_code == 503 and ready.json()["checks"]["drain"] == "draining"
        ticket = await http.post(f"/v1/interviews/{interview_id}/ticket", headers=auth)
        assert ticket.status_code == 503 and ticket.json()["error"]["code"] == "draining"
        assert ticket.headers["retry-after"] == "1"
        # Everything else is served while draining.
        assert (await http.get(f"/v1/interviews/{interview_id}", headers=auth)).status_code == 200
        assert _metric((await http.get("/metrics")).text, "intrvuer_draining") == 1
