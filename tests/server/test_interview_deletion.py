"""Deleting an interview through a real server on every backend: its turns, tickets and
feedback go, quizzes made from it stay unlinked, one audit row of ids remains; other
users and missing ids get 404; a session still live when it is deleted stores nothing."""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

import httpx
import pytest

from server.jobs.turns import JOB_KIND as TURN_JOB_KIND
from server.services import Services
from server.settings import Settings
from tests.live_client import live
from tests.polling import eventually
from tests.records import a_turn
from tests.server.test_auth import bearer, register
from tests.server.test_feedback import answered_interview, feedback_when_done, services_of
from tests.server.test_live import (
    http,  # noqa: F401 - fixtures
    live_server,  # noqa: F401
    new_interview,
    providers,  # noqa: F401
    ticket_url,
)
from tests.serving import RunningServer, run_server

# Where an interview's data lives, by the column that names it.
INTERVIEW_ROWS = {
    "interview_turns": "interview_id",
    "interview_feedback": "interview_id",
    "live_tickets": "interview_id",
    "interviews": "id",
}


async def rows_of(svc: Services, interview_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table, column in INTERVIEW_ROWS.items():
        query = f"SELECT count(*) FROM {table} WHERE {column} = $1"  # noqa: S608 - fixed names
        counts[table] = int(await svc.db.fetchval(query, interview_id))
    return counts


async def actions_of(svc: Services, user_id: str) -> list[str]:
    return [event.action for event in await svc.audit_repository.list_for_user(user_id)]


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"]), body
    return dict(body["error"])


async def queue_settled(svc: Services) -> None:
    async def pending() -> int:
        return await svc.queue.pending_count()

    await eventually(pending, lambda count: count == 0)


async def test_the_owner_deletes_an_interview_with_everything_made_of_it(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    registered = await register(client, "ada@example.org")
    user_id, auth = registered["user"]["id"], bearer(registered["access_token"])
    interview_id = await answered_interview(client, server, auth)
    rescored = await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    assert rescored.status_code == 202, rescored.text
    assert (await feedback_when_done(client, auth, interview_id))["status"] == "ready"
    quiz = await client.post(
        "/v1/quizzes", headers=auth, json={"interview_id": interview_id, "count": 2}
    )
    assert quiz.status_code == 201, quiz.text
    svc = services_of(server)
    kept_id = await answered_interview(client, server, auth)
    before = await rows_of(svc, interview_id)
    assert before["interview_turns"] > 0 and before["interview_feedback"] == 1

    deleted = await client.delete(f"/v1/interviews/{interview_id}", headers=auth)
    assert deleted.status_code == 204 and deleted.content == b""

    for path in ("", "/feedback", "/report"):
        gone = await client.get(f"/v1/interviews/{interview_id}{path}", headers=auth)
        assert gone.status_code == 404, (path, gone.text)
        assert error_of(gone)["code"] == "not_found"
    assert await rows_of(svc, interview_id) == dict.fromkeys(INTERVIEW_ROWS, 0)
    listed = (await client.get("/v1/interviews", headers=auth)).json()["interviews"]
    assert [item["id"] for item in listed] == [kept_id]
    assert (await client.get(f"/v1/interviews/{kept_id}", headers=auth)).json()["turns"]
    # The quiz stays the user's, no longer pointing at what is gone.
    kept_quiz = await client.get(f"/v1/quizzes/{quiz.json()['id']}", headers=auth)
    assert kept_quiz.status_code == 200 and kept_quiz.json()["interview_id"] is None

    # One audit row of the deletion, with ids only: no question, answer or feedback.
    events = await svc.audit_repository.list_for_user(user_id)
    deletions = [event for event in events if event.action == "interview.deleted"]
    assert len(deletions) == 1
    assert deletions[0].target_id == interview_id and deletions[0].details == {}
    assert deletions[0].user_agent is not None  # who and from where, like other events

    again = await client.delete(f"/v1/interviews/{interview_id}", headers=auth)
    assert again.status_code == 404 and error_of(again)["code"] == "not_found"
    assert (await actions_of(svc, user_id)).count("interview.deleted") == 1


async def test_a_live_ticket_of_the_interview_goes_with_it(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    registered = await register(client, "ada@example.org")
    auth = bearer(registered["access_token"])
    created = await client.post("/v1/interviews", headers=auth, json={"type": "behavioral"})
    interview_id = created.json()["id"]
    ticket = await client.post(f"/v1/interviews/{interview_id}/ticket", headers=auth)
    assert ticket.status_code == 201, ticket.text
    svc = services_of(server)
    assert (await rows_of(svc, interview_id))["live_tickets"] == 1

    assert (await client.delete(f"/v1/interviews/{interview_id}", headers=auth)).status_code == 204
    assert await rows_of(svc, interview_id) == dict.fromkeys(INTERVIEW_ROWS, 0)


async def test_another_users_interview_is_not_found_and_nothing_is_deleted(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    owner = await register(client, "ada@example.org")
    auth = bearer(owner["access_token"])
    interview_id = await answered_interview(client, server, auth)
    stranger = await register(client, "eve@example.org")
    svc = services_of(server)
    before = await rows_of(svc, interview_id)

    refused = await client.delete(
        f"/v1/interviews/{interview_id}", headers=bearer(stranger["access_token"])
    )
    assert refused.status_code == 404
    assert error_of(refused) == {"code": "not_found", "message": "No such interview."}
    assert await rows_of(svc, interview_id) == before
    assert (await client.get(f"/v1/interviews/{interview_id}", headers=auth)).status_code == 200
    for user in (owner, stranger):
        assert "interview.deleted" not in await actions_of(svc, user["user"]["id"])
    unsigned = await client.delete(f"/v1/interviews/{interview_id}")
    assert unsigned.status_code == 401
    assert await rows_of(svc, interview_id) == before


@pytest.mark.parametrize("interview_id", ["no-such-interview", "0" * 32, "x" * 300])
async def test_a_missing_interview_is_not_found(
    client: httpx.AsyncClient, interview_id: str
) -> None:
    auth = bearer((await register(client, "ada@example.org"))["access_token"])
    response = await client.delete(f"/v1/interviews/{interview_id}", headers=auth)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


async def test_a_turn_that_arrives_after_the_deletion_is_dropped_not_dead_lettered(
    settings: Settings,
) -> None:
    # One attempt: a handler that raises sends the job to the dead letters at once, where
    # its sealed transcript would outlive the interview.
    strict = settings.model_copy(update={"queue_max_attempts": 1})
    async with (
        run_server(strict) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as client,
    ):
        registered = await register(client, "ada@example.org")
        auth = bearer(registered["access_token"])
        created = await client.post("/v1/interviews", headers=auth, json={"type": "behavioral"})
        interview_id = created.json()["id"]
        deleted = await client.delete(f"/v1/interviews/{interview_id}", headers=auth)
        assert deleted.status_code == 204
        svc = services_of(server)
        turn = a_turn(interview_id)
        # As the turn writer queues it (sealed) when a session finalizes a turn.
        payload = {**asdict(turn), "created_at": turn.created_at.isoformat()}
        await svc.turn_writer.queue.enqueue(
            TURN_JOB_KIND,
            payload,
            idempotency_key=f"turn:{interview_id}:1",
            user_id=registered["user"]["id"],
        )
        await queue_settled(svc)
        assert await svc.queue.dead_letters() == []
        assert await rows_of(svc, interview_id) == dict.fromkeys(INTERVIEW_ROWS, 0)


async def test_deleting_an_interview_while_its_session_is_live(
    live_server: RunningServer,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    token, interview_id = await new_interview(http, "live@example.org", count=2)
    url = await ticket_url(http, live_server, token, interview_id)
    svc = services_of(live_server)
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("ready")
        await client.wait_for("agent_turn_end")
        await client.send({"type": "text", "text": "I owned the weekly release train."})
        await client.wait_for("user_turn_end")
        deleted = await http.delete(f"/v1/interviews/{interview_id}", headers=bearer(token))
        assert deleted.status_code == 204
        # The session ends at once: the room is told, and nothing more of it is kept.
        ended = await client.wait_for("error", code="interview_deleted")
        assert ended["fatal"] is True
        await client.closed.wait()
        assert client.connection.close_code == 4404
    await queue_settled(svc)
    assert await rows_of(svc, interview_id) == dict.fromkeys(INTERVIEW_ROWS, 0)
    assert await svc.queue.dead_letters() == []
    gone = await http.get(f"/v1/interviews/{interview_id}", headers=bearer(token))
    assert gone.status_code == 404
    # Nor can the room be opened again.
    again = await http.post(f"/v1/interviews/{interview_id}/ticket", headers=bearer(token))
    assert again.status_code == 404
    # The end of the session found nothing to conclude, and did not fail on it.
    failures = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert failures == []
