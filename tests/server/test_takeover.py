"""A live interview moved to another instance continues after every turn finalized
before, also those the first instance left on the durable queue (it drained or was
killed before a worker wrote them)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from server.conclusion import TurnNotStoredYet, store_turn
from server.jobs.feedback import FEEDBACK_SCORE, QUEUED_TURNS_WAIT_S
from server.jobs.handlers import handlers
from server.jobs.turns import JOB_KIND as TURN_JOB
from server.jobs.turns import METRICS_JOB_KIND as TURN_METRICS_JOB
from server.services import Services
from server.settings import Settings
from storage.queue import Job
from tests.live_client import live
from tests.polling import eventually
from tests.records import a_turn
from tests.server.test_auth import bearer
from tests.server.test_live import ANSWER, FakeProviders, new_interview
from tests.serving import RunningServer, run_server


@pytest.fixture(params=["outbox", pytest.param("redis", marks=pytest.mark.redis)])
def quiet_settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """No worker in the servers: a finalized turn stays on the queue until one runs."""
    redis_url = str(request.getfixturevalue("redis_url")) if request.param == "redis" else ""
    return settings.model_copy(
        update={
            "queue_inprocess_worker": False,
            "redis_url": redis_url,
            "interview_patience_s": 0.05,
        }
    )


async def _ticket(http: httpx.AsyncClient, server: RunningServer, token: str, iid: str) -> str:
    response = await http.post(f"/v1/interviews/{iid}/ticket", headers=bearer(token))
    assert response.status_code == 201, response.text
    return f"{server.ws_url}/v1/interviews/{iid}/live?ticket={response.json()['ticket']}"


async def test_a_moved_interview_continues_after_the_turns_still_on_the_queue(
    quiet_settings: Settings,
) -> None:
    providers = [FakeProviders(), FakeProviders()]
    async with AsyncExitStack() as stack:
        first, second = [
            await stack.enter_async_context(run_server(quiet_settings, providers=p))
            for p in providers
        ]
        http_a = await stack.enter_async_context(httpx.AsyncClient(base_url=first.url))
        http_b = await stack.enter_async_context(httpx.AsyncClient(base_url=second.url))
        token, iid = await new_interview(http_a, "moved@example.org", count=3)

        async with live(await _ticket(http_a, first, token, iid)) as client:
            await client.send({"type": "start"})
            await client.wait_for("agent_turn_end", 1)
            await client.send({"type": "text", "text": ANSWER})
            await client.wait_for("user_turn_end", 1)
            asked = await client.wait_for("agent_turn_end", 2)
        # The first instance is gone before any worker wrote its turn.
        svc: Services = second.app.state.services
        assert (await http_b.get(f"/v1/interviews/{iid}", headers=bearer(token))).json()[
            "turns"
        ] == []

        async with live(await _ticket(http_b, second, token, iid)) as client:
            await client.send({"type": "start"})
            ready = await client.wait_for("ready")
            assert ready["resumed"] is True
            resumed = await client.wait_for("agent_turn_end", 1)
            # The second question (the one the first instance had asked), not the first again.
            second_question = asked["text"].split(". ", 1)[-1]
            assert second_question in resumed["text"]
            await client.send({"type": "text", "text": ANSWER})
            await client.wait_for("user_turn_end", 1)
            await client.wait_for("agent_turn_end", 2)
            await client.send({"type": "stop"})
            await client.wait_for("interview_end")

        while await svc.queue.process_available(handlers(svc), consumer="test-worker"):
            pass
        detail: dict[str, Any] = (
            await http_b.get(f"/v1/interviews/{iid}", headers=bearer(token))
        ).json()
    turns = detail["turns"]
    assert [(t["turn"], t["question_index"], t["answer"]) for t in turns] == [
        (1, 0, ANSWER),
        (2, 1, ANSWER),
    ]


async def test_feedback_waits_for_the_turns_still_on_the_queue_and_is_scored_once(
    quiet_settings: Settings,
) -> None:
    one_question = quiet_settings.model_copy(update={"interview_patience_s": 0.05})
    async with (
        run_server(one_question, providers=FakeProviders()) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        svc: Services = server.app.state.services
        token, iid = await new_interview(http, "late@example.org", count=1)
        user_id = await svc.db.fetchval("SELECT user_id FROM interviews WHERE id = $1", iid)
        async with live(await _ticket(http, server, token, iid)) as client:
            await client.send({"type": "start"})
            await client.wait_for("agent_turn_end", 1)
            await client.send({"type": "text", "text": ANSWER})
            assert (await client.wait_for("interview_end"))["reason"] == "completed"

        async def kinds() -> set[str]:
            return {lag.kind for lag in await svc.queue.lag()}

        # The interview is concluded (its feedback requested) with its turn still queued.
        assert {FEEDBACK_SCORE, TURN_JOB} <= await eventually(
            kinds, lambda k: FEEDBACK_SCORE in k and TURN_JOB in k
        )
        by_kind = handlers(svc)
        # A worker that takes the scoring first waits for the turn …
        scoring = asyncio.create_task(
            by_kind[FEEDBACK_SCORE](
                Job("early", FEEDBACK_SCORE, {"interview_id": iid, "generation": 1}, 1, user_id)
            )
        )
        await asyncio.sleep(0.5)
        assert not scoring.done()
        # … which another writes meanwhile; nothing is scored twice.
        while await svc.queue.process_available(by_kind, consumer="other-worker"):
            pass
        await asyncio.wait_for(scoring, timeout=QUEUED_TURNS_WAIT_S)
        feedback = (await http.get(f"/v1/interviews/{iid}/feedback", headers=bearer(token))).json()
    assert feedback["status"] == "ready" and feedback["generation"] == 1
    assert [answer["turn"] for answer in feedback["feedback"]["answers"]] == [1]


async def test_the_metrics_of_a_reply_wait_for_their_turn(quiet_settings: Settings) -> None:
    async with (
        run_server(quiet_settings, providers=FakeProviders()) as server,
        httpx.AsyncClient(base_url=server.url) as http,
    ):
        svc: Services = server.app.state.services
        token, iid = await new_interview(http, "metrics@example.org")
        by_kind = handlers(svc)
        metrics = {"interview_id": iid, "turn": 1, "metrics": {"voice_to_voice_ms": 640.0}}
        job = Job("m1", TURN_METRICS_JOB, metrics, 1, None)
        # Another worker has not written the turn yet: the job fails, to be tried again.
        with pytest.raises(TurnNotStoredYet):
            await by_kind[TURN_METRICS_JOB](job)
        await store_turn(svc, a_turn(iid, 1, ANSWER))
        await by_kind[TURN_METRICS_JOB](job)
        detail = (await http.get(f"/v1/interviews/{iid}", headers=bearer(token))).json()
        assert detail["turns"][0]["metrics"] == {"voice_to_voice_ms": 640.0}
        assert detail["turns"][0]["answer"] == ANSWER
        # The metrics of a deleted interview's turn are dropped.
        assert (
            await http.delete(f"/v1/interviews/{iid}", headers=bearer(token))
        ).status_code == 204
        await by_kind[TURN_METRICS_JOB](job)
