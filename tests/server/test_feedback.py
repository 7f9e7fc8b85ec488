"""Feedback through a real server on every backend: turns written through the
repositories (real storage), scoring on the durable queue, re-scoring, the LLM path and
its failure, encryption at rest, and plans tailored to a job. For every interview kind,
with and without an LLM: each answer scored on its kind's rubric with quotes of its own
words, and a stronger answer whose every number, name and title is the candidate's."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from pipeline.documents.types import JobData
from pipeline.feedback.grounding import ungrounded
from pipeline.kinds import rubric_for
from server.services import Services
from server.settings import Settings
from storage.types import InterviewTurn, TurnWord
from tests.documents import pdf
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai
from tests.live_client import live
from tests.polling import eventually
from tests.server.coaching_data import ANSWERS, JOB_TEXT
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


async def ready_resume(client: httpx.AsyncClient, auth: dict[str, str]) -> str:
    """Ada's resume (tests/documents.py), uploaded and parsed."""
    created = await client.post(
        "/v1/resumes", headers=auth, files={"file": ("cv.pdf", pdf(), "application/pdf")}
    )
    assert created.status_code in (201, 202), created.text
    resume_id = str(created.json()["id"])

    async def read() -> dict[str, Any]:
        return dict((await client.get(f"/v1/resumes/{resume_id}", headers=auth)).json())

    await eventually(read, lambda body: body["status"] == "ready")
    return resume_id


def spoken_turn(
    interview_id: str, number: int, question: str, answer: str, *, start_s: float
) -> InterviewTurn:
    """Turn ``number`` answering planned question ``number - 1``, its words 0.4 s apart
    from ``start_s`` on the candidate's audio clock."""
    words = tuple(
        TurnWord(word, start_s + i * 0.4, start_s + i * 0.4 + 0.3, 0.9)
        for i, word in enumerate(answer.split())
    )
    return InterviewTurn(
        interview_id=interview_id,
        turn=number,
        question=question,
        question_index=number - 1,
        interrupted=False,
        answer=answer,
        words=words,
        answer_audio_s=round(words[-1].end_s - words[0].start_s, 3),
        metrics={"voice_to_voice_ms": 800.0},
        interviewer_source="offline",
        created_at=datetime.now(UTC),
    )


async def answered_interview(
    client: httpx.AsyncClient,
    server: RunningServer,
    auth: dict[str, str],
    *,
    job_id: str | None = None,
    resume_id: str | None = None,
    answers: list[tuple[str, str]] = ANSWERS,
    kind: str = "mixed",
) -> str:
    """An interview whose answers were written through the turn repository, ended."""
    body: dict[str, Any] = {"type": kind, "question_count": len(answers)}
    if job_id:
        body["job_id"] = job_id
    if resume_id:
        body["resume_id"] = resume_id
    created = await client.post("/v1/interviews", headers=auth, json=body)
    assert created.status_code == 201, created.text
    interview_id = str(created.json()["id"])
    svc = services_of(server)
    clock = 0.0
    for number, (question, answer) in enumerate(answers, start=1):
        clock += 4.0
        turn = spoken_turn(interview_id, number, question, answer, start_s=clock)
        clock = turn.words[-1].start_s + 0.4
        await svc.turns.save(turn)
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
        "heuristic-2",
    )
    feedback = body["feedback"]
    assert feedback["source"] == "heuristic"
    assert [a["turn"] for a in feedback["answers"]] == [1, 2]
    answers = dict(enumerate((a for _, a in ANSWERS), start=1))
    for answer in feedback["answers"]:
        assert [s["criterion"] for s in answer["scores"]] == [d["name"] for d in answer["rubric"]]
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
    plan = await rubrics_of(llm_client, auth, interview_id)
    fake_llm.script(llm_feedback(plan, ANSWERS, quote="I added a Redis cache"))
    await llm_client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    body = await feedback_when_done(llm_client, auth, interview_id)
    assert (body["source"], body["model"], body["prompt_version"]) == (
        "llm:gpt-4o-mini",
        "gpt-4o-mini",
        "feedback-2",
    )
    assert body["feedback"]["answers"][0]["scores"][0]["quotes"] == ["I added a Redis cache"]

    # The LLM fails (HTTP 500 twice): the re-score is heuristic, labelled, never invented.
    fake_llm.fail_next = 2
    await llm_client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    body = await feedback_when_done(llm_client, auth, interview_id, 2)
    assert body["status"] == "ready"
    assert (body["source"], body["model"]) == ("heuristic", None)
    assert all(a["source"] == "heuristic" for a in body["feedback"]["answers"])


# Every kind, with and without an LLM ---------------------------------------------------------

NURSING_JOB = """Registered Nurse at St Mary's Hospital

Requirements:
- Patient safety and infection control
- Clinical workflows and handover

Responsibilities:
- Care for patients on a surgical ward
"""
KIND_ANSWERS: dict[str, list[tuple[str, str]]] = {
    "behavioral": ANSWERS,
    "technical": [
        (
            "How would you speed up a slow read path?",
            "I would first measure where the time goes, because guessing wastes days. "
            "A Redis cache in front of PostgreSQL cuts the p95 latency, but it costs "
            "memory and adds invalidation work. Instead of a cache, a read replica "
            "keeps the data fresh, on the other hand it still pays the query cost.",
        )
    ],
    "system_design": [
        (
            "Design a URL shortener.",
            "How many users do we expect, and is it read-heavy? Assuming 100 million "
            "links and 10000 reads per second, the API service writes to a key-value "
            "database and reads go through a cache. We shard the database by the short "
            "code and keep two replicas. The trade-off is that eventual consistency "
            "means a fresh link may miss the cache, but that costs little.",
        )
    ],
    "role": [
        (
            "How do you keep patients safe during a shift handover?",
            "On my last ward I checked every patient's infection control notes before "
            "the handover, because patient safety depends on it. I used a written "
            "checklist for the clinical workflows and I asked the next nurse to read "
            "back the risks.",
        )
    ],
    "mixed": ANSWERS,
}


async def rubrics_of(
    client: httpx.AsyncClient, auth: dict[str, str], interview_id: str, job_id: str | None = None
) -> list[list[str]]:
    """The dimension names each planned question is scored on, as the kinds define them."""
    interview = (await client.get(f"/v1/interviews/{interview_id}", headers=auth)).json()
    job = None
    if job_id is not None:
        parsed = (await client.get(f"/v1/jobs/{job_id}", headers=auth)).json()
        job = JobData(requirements=parsed["requirements"], skills=parsed["skills"])
    return [
        [d.name for d in rubric_for(q["kind"] or interview["type"], job)]
        for q in interview["questions"]
    ]


def llm_feedback(
    plan: list[list[str]],
    answers: list[tuple[str, str]],
    *,
    quote: str | None = None,
    requirements: tuple[str, ...] = (),
) -> str:
    """A valid LLM answer scoring each answer on its planned rubric, quoting its first
    words; the stronger answer of the first is built from Ada's resume, of any other
    invents an employer and a figure."""
    scored = []
    for turn, ((_, answer), names) in enumerate(zip(answers, plan, strict=False), start=1):
        words = quote if quote and turn == 1 else " ".join(answer.split()[:4])
        example = (
            "For example, from your time as Senior Software Engineer at Analytical "
            "Engines Ltd: you mentored four engineers."
            if turn == 1
            else "For example, say you led 40 engineers at Google."
        )
        scored.append(
            {
                "turn": turn,
                "scores": [
                    {"criterion": n, "score": 3, "quotes": [words], "reason": "Reason."}
                    for n in names
                ],
                "suggestions": ["Name the trade-offs."],
                "stronger_answer_outline": ["First", "Then"],
                "stronger_answer": {
                    "missing": names[:1],
                    "advice": "A stronger answer would go further.",
                    "example": example,
                },
            }
        )
    coverage = [
        {"requirement": r, "status": "missing", "quote": None, "turn": None} for r in requirements
    ]
    return json.dumps({"answers": scored, "coverage": coverage, "suggestions": ["Practise."]})


async def kind_interview(
    client: httpx.AsyncClient, server: RunningServer, kind: str
) -> tuple[dict[str, str], str, str | None]:
    auth = await signed_in(client)
    resume_id = await ready_resume(client, auth)
    job_id = await ready_job(client, auth, NURSING_JOB) if kind == "role" else None
    interview_id = await answered_interview(
        client,
        server,
        auth,
        kind=kind,
        job_id=job_id,
        resume_id=resume_id,
        answers=KIND_ANSWERS[kind],
    )
    return auth, interview_id, job_id


async def resume_texts(client: httpx.AsyncClient, auth: dict[str, str]) -> list[str]:
    resumes = (await client.get("/v1/resumes", headers=auth)).json()["resumes"]
    parsed = (await client.get(f"/v1/resumes/{resumes[0]['id']}", headers=auth)).json()
    return [json.dumps(parsed, ensure_ascii=False)]


def assert_feedback_in_the_kinds_terms(
    feedback: dict[str, Any],
    plan: list[list[str]],
    answers: list[tuple[str, str]],
    resume: list[str],
) -> None:
    """Each answer on its planned rubric, every quote the candidate's own words, the
    overall score weighted, and a stronger answer of the candidate's own facts."""
    assert feedback["answers"], "no answer was scored"
    for answer in feedback["answers"]:
        question, said = answers[answer["turn"] - 1]
        names = plan[answer["turn"] - 1]
        assert [s["criterion"] for s in answer["scores"]] == names
        assert [d["name"] for d in answer["rubric"]] == names
        assert all(s["label"] for s in answer["scores"])
        for score in answer["scores"]:
            assert score["quotes"]
            for quote in score["quotes"]:
                assert quote.lower() in said.lower()
        weights = {d["name"]: d["weight"] for d in answer["rubric"]}
        expected = sum(s["score"] * weights[s["criterion"]] for s in answer["scores"])
        assert answer["overall"] == pytest.approx(expected / sum(weights.values()), abs=0.01)
        stronger = answer["stronger_answer"]
        assert stronger["advice"].startswith("A stronger answer would")
        assert set(stronger["missing"]) <= set(names)
        labels = [d["label"] for d in answer["rubric"]]
        text = f"{stronger['advice']} {stronger['example'] or ''}"
        # Every number, organisation and title is in the resume or the answer (or, for
        # the words of the coaching itself, the question and the rubric's labels).
        assert ungrounded(text, [*resume, said, question, *labels]) == []
        facts = ("Analytical Engines Ltd", "Babbage & Co", "Royal Society Medal")
        assert any(fact in (stronger["example"] or "") for fact in facts)  # from the resume
    assert isinstance(feedback["overall"], float)


@pytest.mark.parametrize("kind", list(KIND_ANSWERS))
async def test_each_kind_is_scored_on_its_rubric_with_a_grounded_stronger_answer(
    client: httpx.AsyncClient, server: RunningServer, kind: str
) -> None:
    auth, interview_id, job_id = await kind_interview(client, server, kind)
    await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    body = await feedback_when_done(client, auth, interview_id)
    assert body["status"] == "ready" and body["source"] == "heuristic"
    plan = await rubrics_of(client, auth, interview_id, job_id)
    if kind == "role":  # the job's own requirements are the dimensions
        assert plan[0] == [
            "patient_safety_and_infection_control",
            "clinical_workflows_and_handover",
        ]
    elif kind != "mixed":
        assert plan[0] == [d.name for d in rubric_for(kind)]  # type: ignore[arg-type]
    resume = await resume_texts(client, auth)
    assert_feedback_in_the_kinds_terms(body["feedback"], plan, KIND_ANSWERS[kind], resume)
    assert all(a["stronger_answer"]["source"] == "heuristic" for a in body["feedback"]["answers"])


@pytest.mark.parametrize("kind", list(KIND_ANSWERS))
async def test_each_kind_with_an_llm_keeps_only_grounded_stronger_answers(
    llm_client: httpx.AsyncClient, llm_server: RunningServer, fake_llm: FakeOpenAI, kind: str
) -> None:
    auth, interview_id, job_id = await kind_interview(llm_client, llm_server, kind)
    plan = await rubrics_of(llm_client, auth, interview_id, job_id)
    requirements: tuple[str, ...] = ()
    if job_id is not None:
        job = (await llm_client.get(f"/v1/jobs/{job_id}", headers=auth)).json()
        requirements = tuple(job["requirements"])
    fake_llm.script(llm_feedback(plan, KIND_ANSWERS[kind], requirements=requirements))
    await llm_client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    body = await feedback_when_done(llm_client, auth, interview_id)
    assert body["status"] == "ready" and body["source"] == "llm:gpt-4o-mini", body["source"]
    request = fake_llm.requests[-1]
    schema = request.body["response_format"]["json_schema"]["schema"]
    answers = schema["properties"]["answers"]["items"]["properties"]
    sent_names = answers["scores"]["items"]["properties"]["criterion"]["enum"]
    assert sent_names == list(
        dict.fromkeys(n for names in plan[: len(KIND_ANSWERS[kind])] for n in names)
    )
    resume = await resume_texts(llm_client, auth)
    feedback = body["feedback"]
    assert_feedback_in_the_kinds_terms(feedback, plan, KIND_ANSWERS[kind], resume)
    sources = [a["stronger_answer"]["source"] for a in feedback["answers"]]
    # The first stronger answer is the model's; an invented one is replaced offline.
    assert sources == ["llm:gpt-4o-mini"] + ["heuristic"] * (len(sources) - 1)


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


async def test_an_answer_typed_over_the_greeting_is_filed_under_the_first_question(
    live_server: RunningServer,  # noqa: F811
    http: httpx.AsyncClient,  # noqa: F811
    providers: FakeProviders,  # noqa: F811
) -> None:
    providers.seconds_per_char = 0.03  # a greeting of seconds, to be spoken over
    hello = "Hi, thanks, happy to be here."
    token, iid = await new_interview(http, "early@example.org", count=2)
    url = await ticket_url(http, live_server, token, iid)
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_text", 1)
        await client.send({"type": "text", "text": hello})
        assert (await client.wait_for("agent_turn_end", 1))["interrupted"] is True
        for number in (2, 3):  # the first question, asked again, then the second
            await client.wait_for("agent_turn_end", number)
            await client.send(b"\x00\x00" * 320)
            providers.recognizers[-1].stream.say(LIVE_ANSWER)
            await client.wait_for("user_turn_end", number)
        assert (await client.wait_for("interview_end"))["reason"] == "completed"
    auth = bearer(token)

    async def read() -> dict[str, Any]:
        return dict((await http.get(f"/v1/interviews/{iid}", headers=auth)).json())

    detail = await eventually(read, lambda d: len(d["turns"]) == 2)
    first_question = detail["questions"][0]["text"]
    turns = detail["turns"]
    assert [(t["turn"], t["question_index"]) for t in turns] == [(2, 0), (3, 1)]
    assert first_question in turns[0]["question"]
    assert turns[0]["answer"] == f"{hello} {LIVE_ANSWER}"  # kept, with the answer after it
    body = await feedback_when_done(http, auth, iid)
    answers = body["feedback"]["answers"]
    assert [a["question"] for a in answers] == [q["text"] for q in detail["questions"]]
