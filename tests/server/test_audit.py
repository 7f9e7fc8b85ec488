"""The audit log through a real server on every backend: state-changing actions are
recorded with who, from where and when (never content), and ``GET /v1/account/audit``
pages through the caller's own events only."""

from __future__ import annotations

import json
from typing import Any

import httpx

from server.settings import Settings
from storage import connect
from tests.documents import pdf
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.serving import RunningServer

UA = {"user-agent": "audit-test/1.0"}
JOB_TEXT = "Principal engineer for the Kestrel observability suite."


async def _events(http: httpx.AsyncClient, auth: dict[str, str], **query: Any) -> dict[str, Any]:
    response = await http.get("/v1/account/audit", headers=auth, params=query)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_actions_are_recorded_without_content(
    client: httpx.AsyncClient, server: RunningServer, settings: Settings
) -> None:
    tokens = await register(client, "audit@example.org")
    auth = {**bearer(tokens["access_token"]), **UA}
    upload = await client.post(
        "/v1/resumes", headers=auth, files={"file": ("cv.pdf", pdf(), "application/pdf")}
    )
    resume_id = upload.json()["id"]

    async def resume() -> dict[str, Any]:
        return dict((await client.get(f"/v1/resumes/{resume_id}", headers=auth)).json())

    await eventually(resume, lambda body: body["status"] == "ready")
    job = await client.post("/v1/jobs", headers=auth, json={"text": JOB_TEXT})

    async def job_state() -> str:
        found = await client.get(f"/v1/jobs/{job.json()['id']}", headers=auth)
        return str(found.json()["status"])

    await eventually(job_state, lambda status: status in ("ready", "failed"))
    interview = await client.post("/v1/interviews", headers=auth, json={"type": "behavioral"})
    await client.patch("/v1/me", headers=auth, json={"name": "Ada L"})
    await client.post(f"/v1/resumes/{resume_id}/archive", headers=auth)
    await client.get("/v1/account/export", headers=auth)
    await client.delete(f"/v1/jobs/{job.json()['id']}", headers=auth)

    events = (await _events(client, auth, limit=200))["events"]
    actions = [event["action"] for event in reversed(events)]
    for expected in (
        "auth.register",
        "resume.uploaded",
        "resume.parsed",
        "job.created",
        "job.parsed",
        "interview.created",
        "user.profile_updated",
        "resume.archived",
        "account.exported",
        "job.deleted",
    ):
        assert expected in actions, f"{expected} was not audited: {actions}"
    by_action = {event["action"]: event for event in events}
    assert by_action["interview.created"]["target_id"] == interview.json()["id"]
    for action in ("resume.uploaded", "account.exported", "job.deleted"):
        assert by_action[action]["user_agent"] == UA["user-agent"]
        assert by_action[action]["ip"] == "127.0.0.1"

    # Never content: no resume word, job text or new name in any audit row.
    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        rows = await db.fetch("SELECT * FROM audit_events")
    finally:
        await db.close()
    text = json.dumps([dict(row) for row in rows], default=str)
    for word in ("Babbage", "Kestrel", "Ada L", "audit@example.org"):
        assert word not in text


async def test_the_audit_log_is_paginated_and_private(client: httpx.AsyncClient) -> None:
    mine = bearer((await register(client, "pages@example.org"))["access_token"])
    theirs = bearer((await register(client, "other@example.org"))["access_token"])
    for number in range(5):
        await client.patch("/v1/me", headers=mine, json={"name": f"Name {number}"})
    await client.patch("/v1/me", headers=theirs, json={"name": "Them"})

    first = await _events(client, mine, limit=4)
    assert len(first["events"]) == 4 and first["next_before"] is not None
    second = await _events(client, mine, limit=4, before=first["next_before"])
    assert len(second["events"]) == 2 and second["next_before"] is None
    ids = [event["id"] for event in first["events"] + second["events"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 6  # register + 5 updates
    their_events = (await _events(client, theirs))["events"]
    assert not {event["id"] for event in their_events} & set(ids)

    bad = await client.get("/v1/account/audit", headers=mine, params={"limit": 0})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    assert (await client.get("/v1/account/audit")).status_code == 401
