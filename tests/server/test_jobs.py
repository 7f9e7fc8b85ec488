"""Job descriptions through a real server on every backend: parsed on the queue, listed,
read, deleted, validated, and invisible to other users."""

from __future__ import annotations

from typing import Any

import httpx

from server.settings import Settings
from storage import connect
from storage.audit import AuditRepository
from tests.polling import eventually
from tests.server.test_auth import bearer, register

JOB_TEXT = """Senior Backend Engineer — Globex

About Globex
Globex builds payment infrastructure.

What you'll do
• Design and build APIs in Go
• Own services from design through on-call

Requirements
• 5+ years with Python or Go
• Experience with PostgreSQL and Kubernetes
"""


async def signed_in(client: httpx.AsyncClient, email: str = "ada@example.org") -> dict[str, str]:
    tokens = await register(client, email)
    return bearer(tokens["access_token"])


async def parsed(client: httpx.AsyncClient, auth: dict[str, str], job_id: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        response = await client.get(f"/v1/jobs/{job_id}", headers=auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    return await eventually(read, lambda body: body["status"] in ("ready", "failed"))


async def test_a_job_description_is_parsed_listed_and_deleted(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    auth = await signed_in(client)
    created = await client.post("/v1/jobs", json={"text": JOB_TEXT}, headers=auth)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "pending" and created.json()["title"] is None
    job_id = created.json()["id"]

    body = await parsed(client, auth, job_id)
    assert body["status"] == "ready" and body["parser"] == "heuristic"
    assert (body["title"], body["company"]) == ("Senior Backend Engineer", "Globex")
    assert body["responsibilities"] == [
        "Design and build APIs in Go",
        "Own services from design through on-call",
    ]
    assert body["requirements"] == [
        "5+ years with Python or Go",
        "Experience with PostgreSQL and Kubernetes",
    ]
    # The skills the requirements ask for come first, in the order they are written.
    assert body["skills"] == ["Python", "Go", "PostgreSQL", "Kubernetes"]
    assert body["text"] == JOB_TEXT

    listed = (await client.get("/v1/jobs", headers=auth)).json()["jobs"]
    assert [(j["id"], j["title"]) for j in listed] == [(job_id, "Senior Backend Engineer")]
    assert "text" not in listed[0]

    assert (await client.delete(f"/v1/jobs/{job_id}", headers=auth)).status_code == 204
    assert (await client.get(f"/v1/jobs/{job_id}", headers=auth)).status_code == 404
    assert (await client.get("/v1/jobs", headers=auth)).json()["jobs"] == []

    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        audit = AuditRepository(db)
        created_events = await audit.list_by_action("job.created")
        deleted_events = await audit.list_by_action("job.deleted")
    finally:
        await db.close()
    assert [e.target_id for e in created_events] == [job_id]
    assert [e.target_id for e in deleted_events] == [job_id]
    assert "Globex" not in repr(created_events)


async def test_job_text_is_validated(client: httpx.AsyncClient) -> None:
    auth = await signed_in(client)
    for body in ({"text": ""}, {"text": " \n\t "}, {"text": "x" * 50_001}, {}, {"text": 5}):
        response = await client.post("/v1/jobs", json=body, headers=auth)
        assert response.status_code == 422, body
        assert response.json()["error"]["code"] == "validation_error"
    extra = await client.post("/v1/jobs", json={"text": "Nurse", "url": "x"}, headers=auth)
    assert extra.status_code == 422
    # NUL cannot be stored as text by Postgres: dropped, not a server error.
    with_nul = await client.post("/v1/jobs", json={"text": "Nurse\u0000 at Mercy"}, headers=auth)
    assert with_nul.status_code == 201, with_nul.text
    assert with_nul.json()["text"] == "Nurse at Mercy"
    surrogate = await client.post(
        "/v1/jobs",
        content=b'{"text": "Nurse at \\ud800Mercy"}',
        headers={**auth, "content-type": "application/json"},
    )
    assert surrogate.status_code == 422
    longest = await client.post("/v1/jobs", json={"text": "y" * 50_000}, headers=auth)
    assert longest.status_code == 201
    assert (await client.post("/v1/jobs", json={"text": "Nurse"})).status_code == 401


async def test_other_users_job_descriptions_are_not_found(client: httpx.AsyncClient) -> None:
    owner = await signed_in(client, "owner@example.org")
    stranger = await signed_in(client, "stranger@example.org")
    job_id = (await client.post("/v1/jobs", json={"text": JOB_TEXT}, headers=owner)).json()["id"]
    await parsed(client, owner, job_id)

    for response in (
        await client.get(f"/v1/jobs/{job_id}", headers=stranger),
        await client.delete(f"/v1/jobs/{job_id}", headers=stranger),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert (await client.get("/v1/jobs", headers=stranger)).json()["jobs"] == []
    assert (await client.get(f"/v1/jobs/{job_id}", headers=owner)).status_code == 200
