"""Deleting a resume and a whole account, through a real server on every backend: after
``DELETE /v1/account`` a scan of every table (read from the database catalog) finds no
row tied to the user but the one audit entry of the deletion."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from server.settings import Settings
from storage import Database, connect
from storage._util import utcnow
from storage.interviews import TurnRepository
from storage.rotation import existing_tables
from storage.types import InterviewTurn
from storage.users import UserRepository
from tests.documents import pdf
from tests.polling import eventually
from tests.server.test_auth import PASSWORD, bearer, register
from tests.serving import RunningServer


async def _fill(http: httpx.AsyncClient, server: RunningServer, email: str) -> dict[str, Any]:
    """An account with a resume, a job description, an interview with a turn and a ticket,
    refresh tokens, audit events and a queued job."""
    tokens = await register(http, email)
    auth = bearer(tokens["access_token"])
    upload = await http.post(
        "/v1/resumes", headers=auth, files={"file": ("cv.pdf", pdf(), "application/pdf")}
    )
    resume_id = upload.json()["id"]

    async def resume() -> dict[str, Any]:
        return dict((await http.get(f"/v1/resumes/{resume_id}", headers=auth)).json())

    await eventually(resume, lambda body: body["status"] == "ready")
    job_id = (await http.post("/v1/jobs", headers=auth, json={"text": "SRE role"})).json()["id"]
    interview_id = (
        await http.post("/v1/interviews", headers=auth, json={"type": "technical"})
    ).json()["id"]
    ticket = await http.post(f"/v1/interviews/{interview_id}/ticket", headers=auth)
    assert ticket.status_code == 201
    svc = server.app.state.services
    await TurnRepository(svc.db, svc.cipher).save(
        InterviewTurn(
            interview_id=interview_id,
            turn=1,
            question="Q",
            question_index=0,
            interrupted=False,
            answer="A",
            words=[],
            answer_audio_s=1.0,
            metrics={},
            interviewer_source="offline",
            created_at=utcnow(),
        )
    )
    user_id = (await http.get("/v1/me", headers=auth)).json()["id"]
    # A job that will not run before the deletion (far in the queue's future is not
    # expressible; an unknown kind stays until it dies), owned by the user.
    await svc.queue.enqueue("test.never_handled", {"x": 1}, user_id=user_id)
    return {
        "auth": auth,
        "user_id": user_id,
        "email": email,
        "ids": {user_id, resume_id, job_id, interview_id},
    }


async def _rows_tied_to(db: Database, values: set[str], email: str) -> list[tuple[str, dict]]:
    found = []
    for table in sorted(await existing_tables(db)):
        for row in await db.fetch(f"SELECT * FROM {table}"):  # noqa: S608 - catalog names
            cells = [str(value) for value in row.values() if value is not None]
            if any(cell in values or email in cell for cell in cells):
                found.append((table, dict(row)))
    return found


async def test_deleting_the_account_leaves_only_the_deletion_audit_entry(
    client: httpx.AsyncClient, server: RunningServer, settings: Settings
) -> None:
    mine = await _fill(client, server, "gone@example.org")
    theirs = await _fill(client, server, "stays@example.org")
    wrong = await client.request(
        "DELETE", "/v1/account", headers=mine["auth"], json={"password": "not it"}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "password_required"
    missing = await client.request("DELETE", "/v1/account", headers=mine["auth"], json={})
    assert missing.status_code == 403
    deleted = await client.request(
        "DELETE", "/v1/account", headers=mine["auth"], json={"password": PASSWORD}
    )
    assert deleted.status_code == 204, deleted.text
    assert (await client.get("/v1/me", headers=mine["auth"])).status_code == 401

    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        left = await _rows_tied_to(db, mine["ids"], mine["email"])
        [(table, row)] = left
        assert table == "audit_events" and row["action"] == "account.deleted"
        assert row["user_id"] == mine["user_id"]
        assert row["ip"] is None and row["user_agent"] is None and row["details"] == "{}"
        # The other account is untouched, files included.
        kept = await _rows_tied_to(db, theirs["ids"], theirs["email"])
        assert {table for table, _ in kept} >= {
            "users", "resumes", "job_descriptions", "interviews", "interview_turns",
            "live_tickets", "refresh_tokens", "audit_events", "jobs",
        }  # fmt: skip
        files = await db.fetchval(
            "SELECT count(*) FROM resumes WHERE user_id = $1", mine["user_id"]
        )
        assert files == 0
    finally:
        await db.close()


async def test_accounts_without_a_password_need_a_recent_sign_in(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    svc = server.app.state.services
    user = await UserRepository(svc.db).create(
        email="oauth@example.org", name="O", password_hash=None
    )
    stale = svc.tokens.issue_access(user.id, auth_time=utcnow() - timedelta(minutes=6))
    refused = await client.request("DELETE", "/v1/account", headers=bearer(stale), json={})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "reauthentication_required"
    fresh = svc.tokens.issue_access(user.id, auth_time=utcnow() - timedelta(minutes=1))
    done = await client.request("DELETE", "/v1/account", headers=bearer(fresh), json={})
    assert done.status_code == 204, done.text
    assert await UserRepository(svc.db).get(user.id) is None


async def test_deleting_a_resume_removes_the_file_text_and_parse(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    mine = await _fill(client, server, "cv@example.org")
    svc = server.app.state.services
    resume_id = await svc.db.fetchval("SELECT id FROM resumes WHERE user_id = $1", mine["user_id"])
    response = await client.delete(f"/v1/resumes/{resume_id}", headers=mine["auth"])
    assert response.status_code == 204
    assert await svc.db.fetchval("SELECT count(*) FROM resumes WHERE id = $1", resume_id) == 0
    download = await client.get(f"/v1/resumes/{resume_id}/file", headers=mine["auth"])
    assert download.status_code == 404


async def test_supabase_users_need_a_recent_sign_in_not_a_recent_refresh(
    settings: Settings,
) -> None:
    """A Supabase token's sign-in time is its ``auth_time``, else the newest ``amr``
    timestamp; a refreshed token has a new ``iat`` and the old ``amr``."""
    import time

    from pydantic import SecretStr

    from tests.server.test_supabase import PROJECT_URL, SECRET, hs256
    from tests.serving import run_server

    configured = settings.model_copy(
        update={
            "auth_provider": "supabase",
            "supabase_url": PROJECT_URL,
            "supabase_jwt_secret": SecretStr(SECRET),
        }
    )
    subject = "6a1d2f7e-0000-4000-8000-00000000abcd"
    now = int(time.time())
    age = {"age_confirmed": True}
    async with (
        run_server(configured) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        refreshed = bearer(
            hs256(sub=subject, iat=now, amr=[{"method": "password", "timestamp": now - 600}])
        )
        me = await http.patch("/v1/me", headers=refreshed, json={"confirm_age_16": True})
        assert me.status_code == 200 and me.json().items() >= age.items()
        for stale in (
            refreshed,
            bearer(hs256(sub=subject, iat=now)),  # no sign-in time at all
            bearer(hs256(sub=subject, iat=now, amr=["password"])),  # names, no times
            bearer(hs256(sub=subject, iat=now, auth_time=now - 600, amr=[])),
        ):
            refused = await http.request("DELETE", "/v1/account", headers=stale, json={})
            assert refused.status_code == 403, refused.text
            assert refused.json()["error"]["code"] == "reauthentication_required"
        signed_in_again = bearer(
            hs256(
                sub=subject,
                iat=now,
                amr=[
                    {"method": "password", "timestamp": now - 600},
                    {"method": "otp", "timestamp": now - 30},
                ],
            )
        )
        done = await http.request("DELETE", "/v1/account", headers=signed_in_again, json={})
        assert done.status_code == 204, done.text


async def test_supabase_auth_time_claim_is_the_sign_in_time(settings: Settings) -> None:
    import time

    from pydantic import SecretStr

    from tests.server.test_supabase import PROJECT_URL, SECRET, hs256
    from tests.serving import run_server

    configured = settings.model_copy(
        update={
            "auth_provider": "supabase",
            "supabase_url": PROJECT_URL,
            "supabase_jwt_secret": SecretStr(SECRET),
        }
    )
    subject = "6a1d2f7e-0000-4000-8000-00000000dcba"
    now = int(time.time())
    async with (
        run_server(configured) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        # An access-token hook's auth_time wins over an older amr entry.
        token = bearer(
            hs256(
                sub=subject,
                iat=now - 3000,
                auth_time=now - 20,
                amr=[{"method": "oauth", "timestamp": now - 3000}],
            )
        )
        assert (await http.patch("/v1/me", headers=token, json={"confirm_age_16": True})).is_success
        done = await http.request("DELETE", "/v1/account", headers=token, json={})
        assert done.status_code == 204, done.text
