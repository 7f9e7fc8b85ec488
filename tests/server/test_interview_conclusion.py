"""No interview stays ``live``: a closed socket may be resumed within the window, then the
sweep concludes the interview (``completed`` with feedback, or ``abandoned``), and one
connection per interview holds it (a newer one takes over; no turn is lost or doubled)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest

from server.conclusion import store_turn, sweep
from server.settings import Settings
from storage import connect
from storage._util import utcnow
from storage.audit import AuditRepository
from tests.live_client import LiveClient, live
from tests.polling import eventually
from tests.records import a_turn
from tests.server.test_auth import bearer
from tests.server.test_live import FakeProviders, new_interview
from tests.serving import RunningServer, run_server

WINDOW_S = 1.0


def answer(number: int) -> str:
    return f"Answer number {number}: I owned the release process and cut rollbacks by a third."


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    short = settings.model_copy(
        update={
            "interview_patience_s": 0.05,
            "interview_resume_window_s": WINDOW_S,
            "interview_sweep_interval_s": 0.2,
        }
    )
    async with run_server(short, providers=FakeProviders()) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


async def socket_url(http: httpx.AsyncClient, server: RunningServer, token: str, iid: str) -> str:
    response = await http.post(f"/v1/interviews/{iid}/ticket", headers=bearer(token))
    assert response.status_code == 201, response.text
    return f"{server.ws_url}/v1/interviews/{iid}/live?ticket={response.json()['ticket']}"


async def detail(http: httpx.AsyncClient, token: str, iid: str) -> dict[str, Any]:
    response = await http.get(f"/v1/interviews/{iid}", headers=bearer(token))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def ended_audit(settings: Settings, iid: str) -> list[dict[str, Any]]:
    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        events = await AuditRepository(db).list_by_action("interview.ended")
    finally:
        await db.close()
    return [event.details for event in events if event.target_id == iid]


async def answer_question(client: LiveClient, number: int) -> None:
    await client.wait_for("agent_turn_end", number)
    await client.send({"type": "text", "text": answer(number)})
    await client.wait_for("user_turn_end", number)


async def test_a_closed_tab_is_concluded_with_feedback_after_the_window(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    token, iid = await new_interview(http, "closed-tab@example.org")
    async with live(await socket_url(http, server, token, iid)) as client:
        await client.send({"type": "start"})
        await answer_question(client, 1)
        await client.wait_for("agent_turn_end", 2)
    # The tab is gone: for the window the interview waits to be resumed, then it ends.
    assert (await detail(http, token, iid))["status"] == "live"
    ended = await eventually(
        lambda: detail(http, token, iid), lambda d: d["status"] != "live", within=WINDOW_S + 10
    )
    assert ended["status"] == "completed" and ended["end_reason"] == "disconnected"
    assert [turn["answer"] for turn in ended["turns"]] == [answer(1)]
    assert await ended_audit(server.settings, iid) == [
        {"reason": "disconnected", "status": "completed"}
    ]
    feedback = await eventually(
        lambda: http.get(f"/v1/interviews/{iid}/feedback", headers=bearer(token)),
        lambda r: r.status_code == 200 and r.json()["status"] == "ready",
        within=20,
    )
    assert feedback.json()["feedback"]
    again = await http.post(f"/v1/interviews/{iid}/ticket", headers=bearer(token))
    assert again.status_code == 409 and again.json()["error"]["code"] == "interview_ended"


async def test_an_interview_left_before_any_answer_is_abandoned_and_purged(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    token, iid = await new_interview(http, "left-early@example.org")
    async with live(await socket_url(http, server, token, iid)) as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_turn_end", 1)
    ended = await eventually(
        lambda: detail(http, token, iid), lambda d: d["status"] != "live", within=WINDOW_S + 10
    )
    assert ended["status"] == "abandoned" and ended["turns"] == []
    assert await ended_audit(server.settings, iid) == [
        {"reason": "disconnected", "status": "abandoned"}
    ]
    listed = (await http.get("/v1/interviews", headers=bearer(token))).json()
    assert [item["status"] for item in listed["interviews"]] == ["abandoned"]

    from server.privacy import run_purge

    db = await connect(server.settings.resolved_database_url, ssl_mode="disable")
    try:
        days = server.settings.retention_interview_days
        early = await run_purge(db, server.settings, now=utcnow() + timedelta(days=days - 1))
        assert early.deleted["interviews"] == 0
        report = await run_purge(db, server.settings, now=utcnow() + timedelta(days=days + 1))
        assert report.deleted["interviews"] == 1
    finally:
        await db.close()
    assert (await http.get(f"/v1/interviews/{iid}", headers=bearer(token))).status_code == 404


async def test_a_connected_session_outlives_the_window_and_a_reconnect_continues(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    token, iid = await new_interview(http, "thinking@example.org")
    async with live(await socket_url(http, server, token, iid)) as client:
        await client.send({"type": "start"})
        await answer_question(client, 1)
        await client.wait_for("agent_turn_end", 2)
        # Silence for three windows: the heartbeat keeps the interview from the sweep.
        await asyncio.sleep(3 * WINDOW_S)
        assert (await detail(http, token, iid))["status"] == "live"
    # Back within the window: the interview continues after the stored turns.
    async with live(await socket_url(http, server, token, iid)) as client:
        await client.send({"type": "start"})
        ready = await client.wait_for("ready")
        assert ready["resumed"] is True and ready["turn"] == 1
        await client.wait_for("agent_turn_end")
        await client.send({"type": "text", "text": answer(2)})
        await client.wait_for("user_turn_end")
        await client.send({"type": "stop"})
        assert (await client.wait_for("interview_end"))["reason"] == "stopped"
    ended = await eventually(
        lambda: detail(http, token, iid),
        lambda d: d["status"] == "completed" and len(d["turns"]) == 2,
    )
    assert [turn["answer"] for turn in ended["turns"]] == [answer(1), answer(2)]
    assert await ended_audit(server.settings, iid) == [{"reason": "stopped", "status": "completed"}]


async def test_a_second_connection_takes_over_and_every_answer_is_stored_once_in_order(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    token, iid = await new_interview(http, "two-tabs@example.org", count=5)
    async with live(await socket_url(http, server, token, iid)) as first:
        await first.send({"type": "start"})
        await answer_question(first, 1)
        await first.wait_for("agent_turn_end", 2)
        # A second tab (or a reload) opens the same interview while the first is live.
        async with live(await socket_url(http, server, token, iid)) as second:
            replaced = await first.wait_for("error", code="session_replaced")
            assert replaced["fatal"] is True
            await first.closed.wait()
            assert first.connection.close_code == 4409
            await second.send({"type": "start"})
            assert (await second.wait_for("ready"))["turn"] == 1
            await answer_question(second, 1)  # question 2, the second tab's first turn
            await second.wait_for("agent_turn_end", 2)
            # The first tab comes back and takes over again: no answer is lost.
            async with live(await socket_url(http, server, token, iid)) as third:
                await second.wait_for("error", code="session_replaced")
                await third.send({"type": "start"})
                assert (await third.wait_for("ready"))["turn"] == 2
                await answer_question(third, 1)
                await third.send({"type": "stop"})
                await third.wait_for("interview_end")
            assert second.connection.close_code == 4409
    ended = await eventually(
        lambda: detail(http, token, iid),
        lambda d: d["status"] == "completed" and len(d["turns"]) >= 3,
    )
    answers = [turn["answer"] for turn in ended["turns"]]
    assert answers == [answer(1), answer(1), answer(1)]
    assert [turn["turn"] for turn in ended["turns"]] == [1, 2, 3]
    questions = [turn["question"] for turn in ended["turns"]]
    assert len(set(questions)) == 3  # each answer is filed under the question it answered


async def test_the_sweep_concludes_an_interview_whose_server_died(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    """A server killed mid-interview never marked it disconnected: the sweep of another
    (or the restarted) instance concludes it as ``server_restart``."""
    token, iid = await new_interview(http, "died@example.org")
    services = server.app.state.services
    await services.interviews.mark_live(iid)  # live, as a killed server leaves it
    assert await sweep(services) == 0  # its window has not passed
    assert await sweep(services, now=utcnow() + timedelta(seconds=WINDOW_S + 1)) == 1
    ended = await detail(http, token, iid)
    assert ended["status"] == "abandoned" and ended["end_reason"] == "server_restart"
    assert await ended_audit(server.settings, iid) == [
        {"reason": "server_restart", "status": "abandoned"}
    ]


async def test_a_late_answer_completes_an_abandoned_interview_and_a_deleted_ones_is_dropped(
    server: RunningServer, http: httpx.AsyncClient
) -> None:
    token, iid = await new_interview(http, "late@example.org")
    services = server.app.state.services
    await services.interviews.mark_live(iid)
    await sweep(services, now=utcnow() + timedelta(seconds=WINDOW_S + 1))
    assert (await detail(http, token, iid))["status"] == "abandoned"
    # The answer was still on the queue when the sweep ran (a restart in between, say).
    late = a_turn(iid, 1, answer(1))
    await store_turn(services, late)
    ended = await detail(http, token, iid)
    assert ended["status"] == "completed" and [t["answer"] for t in ended["turns"]] == [answer(1)]
    await eventually(
        lambda: http.get(f"/v1/interviews/{iid}/feedback", headers=bearer(token)),
        lambda r: r.json()["status"] == "ready",
        within=20,
    )
    deleted = await http.delete(f"/v1/interviews/{iid}", headers=bearer(token))
    assert deleted.status_code == 204, deleted.text
    await store_turn(services, replace(late, turn=2))  # a turn of a deleted interview: dropped
    assert (await http.get(f"/v1/interviews/{iid}", headers=bearer(token))).status_code == 404
