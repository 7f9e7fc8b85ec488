"""Feedback through a real server on every backend: turns written through the
repositories (real storage), scoring on the durable queue, re-scoring, the LLM path and
its failure, encryption at rest, and plans tailored to a job."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from server.services import Services
from server.settings import Settings
from storage.types import InterviewTurn
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai
from tests.live_client import live
from tests.polling import eventually
from tests.server.coaching_data import ANSWERS, JOB_TEXT, llm_feedback
from tests.server.test_auth import bearer, register
from tests.server.test_live import ANSWER as LIVE_ANSWER
from tests.server.test_live import (
    FakeProviders,
    http,  # noqa: F401 - fixtures
    live_server,  # noqa: F401
    new_interview,
    providers,  # noqa: F401
    ticket_url,
)
from tests.serving import RunningServer, run_server


async def signed_in(client: httpx.AsyncClient, email: str = "ada@example.org") -> dict[str, str]:
    tokens = await register(client, email)
    return bearer(tokens["access_token"])


def services_of(server: RunningServer) -> Services:
    svc: Services = server.app.state.services
    return svc


async def ready_job(client: httpx.AsyncClient, auth: dict[str, str], text: str = JOB_TEXT) -> str:
    created = await client.post("/v1/jobs", headers=auth, json={"text": text})
    assert created.status_code == 201, created.text
    job_id = str(created.json()["id"])

    async def read() -> dict[str, Any]:
        return dict((await client.get(f"/v1/jobs/{job_id}", headers=auth)).json())

    await eventually(read, lambda body: body["status"] == "ready")
    return job_id


async def answered_interview(
    client: httpx.AsyncClient,
    server: RunningServer,
    auth: dict[str, str],
    *,
    job_id: str | None = None,
    answers: list[tuple[str, str]] = ANSWERS,
) -> str:
    """An interview whose answers were written through the turn repository, ended."""
    body: dict[str, Any] = {"type": "mixed", "question_count": len(answers)}
    if job_id:
        body["job_id"] = job_id
    created = await client.post("/v1/interviews", headers=auth, json=body)
    assert created.status_code == 201, created.text
    interview_id = str(created.json()["id"])
    svc = services_of(server)
    clock = 0.0
    for number, (question, answer) in enumerate(answers, start=1):
        clock += 4.0
        words: list[dict[str, Any]] = []
        for word in answer.split():
            words.append({"word": word, "start": clock, "end": clock + 0.3, "confidence": 0.9})
            clock += 0.4
        await svc.turns.save(
            InterviewTurn(
                interview_id=interview_id,
                turn=number,
                question=question,
                question_index=number - 1,
                interrupted=False,
                answer=answer,
                words=words,
                answer_audio_s=round(words[-1]["end"] - words[0]["start"], 3),
                metrics={"voice_to_voice_ms": 800.0},
                interviewer_source="offline",
                created_at=datetime.now(UTC),
            )
        )
    await svc.interviews.mark_ended(interview_id, status="completed", reason="completed")
    return interview_id


async def feedback_when_done(
    client: httpx.AsyncClient, auth: dict[str, str], interview_id: str, generation: int = 1
) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        response = await client.get(f"/v1/interviews/{interview_id}/feedback", headers=auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    return await eventually(
        read,
        lambda body: body["generation"] >= generation and body["status"] in ("ready", "failed"),
    )


async def test_rescoring_scores_on_the_queue_with_the_heuristic_when_no_llm(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    interview_id = await answered_interview(client, server, auth)
    before = await client.get(f"/v1/interviews/{interview_id}/feedback", headers=auth)
    assert before.json()["status"] == "none" and before.json()["feedback"] is None

    queued = await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    assert queued.status_code == 202, queued.text
    assert queued.json()["status"] == "pending" and queued.json()["generation"] == 1

    body = await feedback_when_done(client, auth, interview_id)
    assert body["status"] == "ready"
    assert (body["source"], body["model"], body["prompt_version"]) == (
        "heuristic",
        None,
        "heuristic-1",
    )
    feedback = body["feedback"]
    assert feedback["source"] == "heuristic"
    assert [a["turn"] for a in feedback["answers"]] == [1, 2]
    answers = dict(enumerate((a for _, a in ANSWERS), start=1))
    for answer in feedback["answers"]:
        assert {s["criterion"] for s in answer["scores"]} == {
            "relevance",
            "structure",
            "specificity",
            "communication",
        }
        for score in answer["scores"]:
            for quote in score["quotes"]:
                assert quote.lower() in answers[answer["turn"]].lower()
        assert answer["stronger_answer_outline"] and answer["delivery"]["words"] > 0
    assert feedback["delivery"]["words_per_minute"] == pytest.approx(150.0, abs=1)

    again = await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    assert again.json()["generation"] == 2
    assert (await feedback_when_done(client, auth, interview_id, 2))["status"] == "ready"


async def test_feedback_is_encrypted_at_rest(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    interview_id = await answered_interview(client, server, auth)
    await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    await feedback_when_done(client, auth, interview_id)
    db = services_of(server).db
    row = await db.fetchrow(
        "SELECT body, summary FROM interview_feedback WHERE interview_id = $1", interview_id
    )
    assert row is not None
    assert "Redis" not in row["body"] and "checkout" not in row["body"]
    assert "checkout" not in row["summary"]


async def test_an_interview_without_answers_cannot_be_scored(client: httpx.AsyncClient) -> None:
    auth = await signed_in(client)
    created = await client.post("/v1/interviews", headers=auth, json={"type": "behavioral"})
    response = await client.post(f"/v1/interviews/{created.json()['id']}/rescore", headers=auth)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_answers"


async def test_a_plan_from_a_job_is_tailored_and_labelled_offline(
    client: httpx.AsyncClient,
) -> None:
    auth = await signed_in(client)
    job_id = await ready_job(client, auth)
    created = await client.post(
        "/v1/interviews",
        headers=auth,
        json={"type": "technical", "job_id": job_id, "question_count": 3},
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["plan_source"] == "offline"
    assert body["questions"][0]["requirement"] is not None
    assert all(q["source"] == "offline" for q in body["questions"])
    again = await client.get(f"/v1/interviews/{body['id']}", headers=auth)
    assert again.json()["questions"] == body["questions"]  # stored, word for word


# The LLM path ---------------------------------------------------------------------------


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as fake:
        yield fake


@pytest.fixture
async def llm_server(settings: Settings, fake_llm: FakeOpenAI) -> AsyncIterator[RunningServer]:
    configured = settings.model_copy(
        update={
            "openai_api_key": SecretStr(fake_llm.api_key),
            "openai_base_url": fake_llm.openai_base_url,
            "llm_providers": ["openai"],
            "document_parser": "heuristic",
        }
    )
    async with run_server(configured) as running:
        yield running


@pytest.fixture
async def llm_client(llm_server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=llm_server.url, timeout=10) as llm_http:
        yield llm_http


async def test_with_an_llm_the_scores_are_its_validated_answer(
    llm_client: httpx.AsyncClient, llm_server: RunningServer, fake_llm: FakeOpenAI
) -> None:
    auth = await signed_in(llm_client)
    interview_id = await answered_interview(llm_client, llm_server, auth)
    fake_llm.script(llm_feedback())
    await llm_client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    body = await feedback_when_done(llm_client, auth, interview_id)
    assert (body["source"], body["model"], body["prompt_version"]) == (
        "llm:gpt-4o-mini",
        "gpt-4o-mini",
        "feedback-1",
    )
    assert body["feedback"]["answers"][0]["scores"][0]["quotes"] == ["I added a Redis cache"]

    # The LLM fails (HTTP 500 twice): the re-score is heuristic, labelled, never invented.
    fake_llm.fail_next = 2
    await llm_client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    body = await feedback_when_done(llm_client, auth, interview_id, 2)
    assert body["status"] == "ready"
    assert (body["source"], body["model"]) == ("heuristic", None)
    assert all(a["source"] == "heuristic" for a in body["feedback"]["answers"])


# After a real live interview ----------------------------------------------------------------


async def test_feedback_is_scored_when_a_live_interview_ends(
    live_server: RunningServer,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
    providers: FakeProviders,  # noqa: F811
) -> None:
    token, iid = await new_interview(http, "live@example.org", count=2)
    url = await ticket_url(http, live_server, token, iid)
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("ready")
        for number in range(1, 3):
            await client.wait_for("agent_turn_end", number)
            await client.send(b"\x00\x00" * 320)
            providers.recognizers[-1].stream.say(LIVE_ANSWER)
            await client.wait_for("user_turn_end", number)
        assert (await client.wait_for("interview_end"))["reason"] == "completed"
    body = await feedback_when_done(http, bearer(token), iid)
    assert body["status"] == "ready" and body["source"] == "heuristic"
    assert [a["turn"] for a in body["feedback"]["answers"]] == [1, 2]
    quotes = [q for a in body["feedback"]["answers"] for s in a["scores"] for q in s["quotes"]]
    assert quotes and all(q.lower() in LIVE_ANSWER.lower() for q in quotes)
