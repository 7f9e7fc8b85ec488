"""The retention schedule with a controllable clock, on every backend: what is past its
period goes, what is inside stays, a second purge is a no-op, and two runners at once
do not collide."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from server.privacy import purge_periodically, run_purge
from server.settings import Settings
from storage import Database, connect
from storage._util import utcnow
from storage.audit import AuditRepository
from storage.crypto import FieldCipher
from storage.documents import ResumeRepository
from storage.interviews import InterviewRepository, TurnRepository
from storage.queue import OutboxQueue
from storage.retention import PURGE_LOCK, RetentionPolicy, purge
from storage.tokens import OAuthStateRepository, RefreshTokenRepository, TicketRepository
from storage.types import InterviewTurn, OAuthState, PlannedQuestion
from storage.users import UserRepository
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.server.test_cli import _clean_env, _run
from tests.serving import run_server

CIPHER = FieldCipher([FieldCipher.generate_key()])
NOW = datetime(2027, 6, 1, 12, 0, tzinfo=utcnow().tzinfo)
DAY = timedelta(days=1)


async def _interview(db: Database, user_id: str, *, status: str, ended: datetime | None) -> str:
    interview = await InterviewRepository(db, CIPHER).create(
        user_id=user_id,
        kind="behavioral",
        questions=[PlannedQuestion(text="Q", competency="c")],
        voice="v",
        plan_source="bank",
    )
    await TurnRepository(db, CIPHER).save(
        InterviewTurn(
            interview_id=interview.id,
            turn=1,
            question="Q",
            question_index=0,
            interrupted=False,
            answer="A",
            words=[],
            answer_audio_s=1.0,
            metrics={},
            interviewer_source="offline",
            created_at=NOW - 200 * DAY,
        )
    )
    await db.execute(
        "UPDATE interviews SET status = $2, ended_at = $3, created_at = $4 WHERE id = $1",
        interview.id,
        status,
        ended,
        NOW - 200 * DAY,
    )
    return interview.id


async def _resume(db: Database, user_id: str, archived: datetime | None) -> str:
    resume = await ResumeRepository(db, CIPHER).create(
        user_id=user_id,
        filename="cv.pdf",
        content_type="application/pdf",
        sha256=hashlib.sha256(b"x").hexdigest(),
        data=b"x",
        text="t",
    )
    await db.execute(
        "UPDATE resumes SET archived_at = $2, created_at = $3 WHERE id = $1",
        resume.id,
        archived,
        NOW - 800 * DAY,
    )
    return resume.id


async def _seed(db: Database) -> dict[str, set[str]]:
    user = await UserRepository(db).create(email="r@example.org", name="R", password_hash=None)
    gone: dict[str, set[str]] = {"interviews": set(), "resumes": set()}
    kept: dict[str, set[str]] = {"interviews": set(), "resumes": set()}
    gone["interviews"].add(await _interview(db, user.id, status="completed", ended=NOW - 91 * DAY))
    gone["interviews"].add(await _interview(db, user.id, status="abandoned", ended=NOW - 95 * DAY))
    kept["interviews"].add(await _interview(db, user.id, status="completed", ended=NOW - 89 * DAY))
    # Never completed (live, or just planned long ago): not the completed-interview rule.
    kept["interviews"].add(await _interview(db, user.id, status="created", ended=None))
    gone["resumes"].add(await _resume(db, user.id, NOW - 366 * DAY))
    kept["resumes"].add(await _resume(db, user.id, NOW - 364 * DAY))
    kept["resumes"].add(await _resume(db, user.id, None))  # not archived: kept however old
    audit = AuditRepository(db)
    await audit.record("old.event", user_id=user.id, at=NOW - 731 * DAY)
    await audit.record("recent.event", user_id=user.id, at=NOW - 729 * DAY)
    return {
        "gone": gone["interviews"] | gone["resumes"],
        "kept": kept["interviews"] | kept["resumes"],
    }


async def _ids(db: Database) -> set[str]:
    rows = await db.fetch("SELECT id FROM interviews UNION ALL SELECT id FROM resumes")
    return {str(row["id"]) for row in rows}


async def test_purge_deletes_what_is_past_its_period_and_keeps_the_rest(db: Database) -> None:
    seeded = await _seed(db)
    dry = await purge(db, RetentionPolicy(), now=NOW, dry_run=True)
    assert dry.deleted == {"interviews": 2, "archived_resumes": 1, "audit_events": 1}
    assert seeded["gone"] <= await _ids(db)  # a dry run deletes nothing
    report = await purge(db, RetentionPolicy(), now=NOW)
    assert report.ran and report.deleted == dry.deleted
    left = await _ids(db)
    assert not seeded["gone"] & left and seeded["kept"] <= left
    # The purged interviews' turns went with them.
    turns = await db.fetch("SELECT interview_id FROM interview_turns")
    assert {str(row["interview_id"]) for row in turns} <= seeded["kept"]
    actions = [row["action"] for row in await db.fetch("SELECT action FROM audit_events")]
    assert actions == ["recent.event"]
    again = await purge(db, RetentionPolicy(), now=NOW)
    assert again.ran and again.total == 0


async def test_two_runners_do_not_collide(db: Database) -> None:
    await _seed(db)
    async with db.advisory_lock(PURGE_LOCK) as taken:
        assert taken
        blocked = await purge(db, RetentionPolicy(), now=NOW)
        assert not blocked.ran and blocked.total == 0
    results = await asyncio.gather(*(purge(db, RetentionPolicy(), now=NOW) for _ in range(3)))
    assert sum(result.total for result in results) == 4
    assert all(result.total == 0 for result in results if not result.ran)


async def test_a_purge_is_audited_and_settings_set_the_periods(db: Database) -> None:
    await _seed(db)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, retention_interview_days=30, retention_archived_resume_days=400
    )
    report = await run_purge(db, settings, now=NOW)
    # Every completed interview is past 30 days; no archived resume is past 400.
    assert report.deleted == {"interviews": 3, "archived_resumes": 0, "audit_events": 1}
    [event] = await AuditRepository(db).list_by_action("retention.purged")
    assert event.user_id is None and event.details["interviews"] == 3
    assert (await run_purge(db, settings, now=NOW)).total == 0


async def test_retention_endpoint_shows_the_callers_periods(client: httpx.AsyncClient) -> None:
    tokens = await register(client, "ret@example.org")
    response = await client.get("/v1/account/retention", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    body = response.json()
    assert body["completed_interviews_days"] == 90
    assert body["archived_resumes_days"] == 365 and body["audit_events_days"] == 730
    assert "90 days" in body["description"]


async def test_purge_command_dry_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'intrvuer.db'}"
    db = await connect(url)
    await db.migrate()
    await AuditRepository(db).record("ancient", user_id=None, at=utcnow() - 1000 * DAY)
    queue = OutboxQueue(db, max_attempts=1)
    dead = await queue.enqueue("test.never_handled", {"transcript": "words"})
    await queue.process_available({}, consumer="t")
    await db.execute("UPDATE jobs SET updated_at = $2 WHERE id = $1", dead, utcnow() - 31 * DAY)
    await db.close()
    env = _clean_env(DATABASE_URL=url, DATA_DIR=str(tmp_path))
    code, output = await _run("purge", "--dry-run", cwd=tmp_path, env=env)
    assert code == 0, output
    assert "would delete 1 audit events" in output
    code, output = await _run("purge", cwd=tmp_path, env=env)
    assert code == 0 and "deleted 1 audit events" in output, output
    assert "deleted 1 dead letters" in output and "deleted 0 expired refresh tokens" in output


async def _credentials(db: Database) -> dict[str, set[str]]:
    return {
        "refresh_tokens": {r["token_hash"] for r in await db.fetch("SELECT * FROM refresh_tokens")},
        "oauth_states": {r["state"] for r in await db.fetch("SELECT * FROM oauth_states")},
        "live_tickets": {r["ticket_hash"] for r in await db.fetch("SELECT * FROM live_tickets")},
    }


async def test_the_periodic_purge_drops_expired_credentials_and_old_dead_letters(
    settings: Settings,
) -> None:
    # One attempt, so a failing job is a dead letter at once; the app's own purge loop is
    # off, so the one this test runs is the only one.
    configured = settings.model_copy(update={"queue_max_attempts": 1, "purge_interval_s": 0})
    async with (
        run_server(configured) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        svc = server.app.state.services
        tokens = await register(http, "creds@example.org")
        auth = bearer(tokens["access_token"])
        user_id = tokens["user"]["id"]
        interview_id = (
            await http.post("/v1/interviews", headers=auth, json={"type": "technical"})
        ).json()["id"]
        ticket = await http.post(f"/v1/interviews/{interview_id}/ticket", headers=auth)
        assert ticket.status_code == 201
        past, now = utcnow() - timedelta(minutes=1), utcnow()
        await RefreshTokenRepository(svc.db).add(
            user_id=user_id, family_id="old", token_hash="expired", expires_at=past, auth_time=past
        )
        states = OAuthStateRepository(svc.db)
        await states.put(OAuthState("expired-state", "google", "v", "/", past, past))
        await states.put(OAuthState("live-state", "google", "v", "/", now, now + DAY))
        await TicketRepository(svc.db).add(
            ticket_hash="expired", user_id=user_id, interview_id=interview_id, expires_at=past
        )
        before = await _credentials(svc.db)
        live = {
            "refresh_tokens": before["refresh_tokens"] - {"expired"},
            "oauth_states": {"live-state"},
            "live_tickets": before["live_tickets"] - {"expired"},
        }
        assert all(len(values) == 1 for values in live.values())

        old = await svc.queue.enqueue("test.never_handled", {"transcript": "sealed words"})
        recent = await svc.queue.enqueue("test.never_handled", {"transcript": "more words"})

        async def dead() -> set[str]:
            return {letter.id for letter in await svc.queue.dead_letters()}

        await eventually(dead, lambda ids: ids == {old, recent})
        # RETENTION_DEAD_LETTER_DAYS is 30: this one died 31 days ago.
        await svc.db.execute(
            "UPDATE jobs SET updated_at = $2 WHERE id = $1", old, utcnow() - 31 * DAY
        )

        stop = asyncio.Event()
        hourly = configured.model_copy(update={"purge_interval_s": 3600})
        loop = asyncio.create_task(purge_periodically(svc.db, hourly, stop, queue=svc.queue))
        try:
            await eventually(dead, lambda ids: ids == {recent})
            await eventually(lambda: _credentials(svc.db), lambda found: found == live)
        finally:
            stop.set()
            await loop
        [event] = await AuditRepository(svc.db).list_by_action("retention.purged")
        assert event.details["dead_letters"] == 1
        # The account's session still works: only what had expired went.
        refreshed = await http.post(
            "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
        )
        assert refreshed.status_code == 200
