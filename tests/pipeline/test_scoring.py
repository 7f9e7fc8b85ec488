"""Feedback scoring through the real OpenAI SDK against the wire-level fake: validated
answers are kept, invented quotes are refused, failures fall back to the labelled
heuristic scorer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipeline.documents.llm import SdkJsonChat
from pipeline.feedback.heuristic import score_interview as heuristic_scores
from pipeline.feedback.scoring import check_scores, score_interview
from pipeline.feedback.types import AnswerInput, JobContext, ScoredInterview, quote_occurs
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai

ANSWER_ONE = (
    "At my last job our checkout service was timing out during sales. My task was to "
    "fix it before Black Friday. I profiled the database calls and I added a Redis cache "
    "in front of the pricing queries. As a result the p95 latency dropped from 900 ms to "
    "200 ms and we handled 3x the traffic. You can mail me at ada@example.org."
)
ANSWER_TWO = "Um, I think I would, uh, talk to them. It went fine I guess."
ANSWERS = [
    AnswerInput(
        turn=1,
        question="Tell me about a time you improved the performance of a service.",
        answer=ANSWER_ONE,
        competency="performance",
        requirement="Experience with Redis and PostgreSQL",
        words=[
            {"word": w, "start": i * 0.4, "end": i * 0.4 + 0.3}
            for i, w in enumerate(ANSWER_ONE.split())
        ],
    ),
    AnswerInput(
        turn=2,
        question="Describe a disagreement with a colleague.",
        answer=ANSWER_TWO,
        competency="collaboration",
    ),
]
JOB = JobContext(
    title="Backend engineer",
    requirements=("Experience with Redis and PostgreSQL", "Mentoring junior engineers"),
    skills=("Redis", "PostgreSQL", "Kubernetes"),
)


def scores(quotes: dict[str, list[str]]) -> list[dict[str, Any]]:
    return [
        {"criterion": c, "score": 4, "quotes": quotes.get(c, []), "reason": "Clear."}
        for c in ("relevance", "structure", "specificity", "communication")
    ]


def llm_answer(first_quote: str = "I added a Redis cache") -> str:
    return json.dumps(
        {
            "answers": [
                {
                    "turn": 1,
                    "scores": scores(
                        {
                            "relevance": [first_quote],
                            "structure": ["My task was to fix it before Black Friday"],
                            "specificity": ["p95 latency dropped from 900 ms to 200 ms"],
                            "communication": ["i PROFILED   the database calls"],
                        }
                    ),
                    "suggestions": ["Say what you would do differently."],
                    "stronger_answer_outline": ["Situation", "Task", "Action", "Result"],
                },
                {
                    "turn": 2,
                    "scores": scores(
                        {c: ["talk to them"] for c in ("relevance", "structure", "specificity")}
                        | {"communication": ["It went fine I guess"]}
                    ),
                    "suggestions": ["Give a real example."],
                    "stronger_answer_outline": ["Name the disagreement", "Say what you did"],
                },
            ],
            "coverage": [
                {
                    "requirement": "Experience with Redis and PostgreSQL",
                    "status": "covered",
                    "quote": "added a Redis cache",
                    "turn": 1,
                },
                {
                    "requirement": "Mentoring junior engineers",
                    "status": "missing",
                    "quote": None,
                    "turn": None,
                },
            ],
            "suggestions": ["Prepare a mentoring example."],
        }
    )


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as running:
        yield running


@pytest.fixture
async def chat(fake: FakeOpenAI) -> AsyncIterator[SdkJsonChat]:
    client = SdkJsonChat.openai(
        api_key=fake.api_key, base_url=fake.openai_base_url, model="gpt-4o-mini", timeout_s=5
    )
    yield client
    await client.aclose()


async def test_llm_feedback_is_validated_and_its_quotes_occur_in_the_answers(
    fake: FakeOpenAI, chat: SdkJsonChat
) -> None:
    fake.script(llm_answer())
    result = await score_interview(ANSWERS, JOB, chat)
    assert (result.source, result.model, result.prompt_version) == (
        "llm:gpt-4o-mini",
        "gpt-4o-mini",
        "feedback-1",
    )
    by_turn = {a.turn: a.answer for a in ANSWERS}
    for answer in result.body["answers"]:
        assert answer["source"] == "llm:gpt-4o-mini"
        for score in answer["scores"]:
            assert 1 <= score["score"] <= 5
            for quote in score["quotes"]:
                assert quote_occurs(quote, by_turn[answer["turn"]])
    assert result.body["coverage"][0]["status"] == "covered"
    assert result.summary["scores"]["relevance"] == 4.0
    # Delivery comes from the timings, not from the model.
    assert result.body["delivery"]["words"] == len(ANSWER_ONE.split())
    assert len(fake.requests) == 1
    sent = fake.requests[0].messages[-1]["content"]
    assert "ada@example.org" not in sent and "[email]" in sent
    assert fake.requests[0].body["response_format"]["type"] == "json_schema"


async def test_a_quote_not_in_the_transcript_is_refused_and_retried(
    fake: FakeOpenAI, chat: SdkJsonChat
) -> None:
    fake.script(llm_answer("I rewrote the whole system in Rust"), llm_answer())
    result = await score_interview(ANSWERS, JOB, chat)
    assert result.source == "llm:gpt-4o-mini"
    assert len(fake.requests) == 2
    retry = fake.requests[1].messages[-1]["content"]
    assert "quotes[0] does not occur verbatim" in retry
    assert "Rust" not in retry  # the problem names the place, not the text


async def test_invented_quotes_twice_give_heuristic_feedback(
    fake: FakeOpenAI, chat: SdkJsonChat
) -> None:
    fake.script(llm_answer("we doubled revenue"), llm_answer("we doubled revenue"))
    result = await score_interview(ANSWERS, JOB, chat)
    assert (result.source, result.model, result.prompt_version) == (
        "heuristic",
        None,
        "heuristic-1",
    )
    assert len(fake.requests) == 2
    assert all(a["source"] == "heuristic" for a in result.body["answers"])


async def test_an_llm_failure_gives_labelled_heuristic_feedback_not_invented_scores(
    fake: FakeOpenAI, chat: SdkJsonChat
) -> None:
    fake.fail_next = 2  # HTTP 500 twice
    result = await score_interview(ANSWERS, JOB, chat)
    assert result.source == "heuristic" and result.body["source"] == "heuristic"
    assert len(fake.requests) == 2
    # The same answers scored offline give exactly the heuristic's scores.
    offline = heuristic_scores(ANSWERS, JOB)
    assert [a["scores"] for a in result.body["answers"]] == [
        [s.model_dump() for s in a.scores] for a in offline.answers
    ]


def test_check_scores_names_every_problem() -> None:
    scored = ScoredInterview.model_validate_json(llm_answer())
    assert check_scores(scored, ANSWERS, JOB) == []
    broken = scored.model_copy(update={"answers": scored.answers[:1], "coverage": []})
    problems = check_scores(broken, ANSWERS, JOB)
    assert any("score exactly the turns" in p for p in problems)
    assert any("coverage must list each job requirement" in p for p in problems)


def test_heuristic_scores_rest_on_sentences_of_the_answer() -> None:
    scored = heuristic_scores(ANSWERS, JOB)
    strong, weak = scored.answers
    by_name = {s.criterion: s for s in strong.scores}
    assert by_name["structure"].score == 5  # situation, task, action and result cues
    assert by_name["specificity"].score >= 4  # figures and named tools
    assert {s.criterion: s.score for s in weak.scores}["structure"] <= 2
    for answer, source in zip(scored.answers, ANSWERS, strict=True):
        for score in answer.scores:
            assert all(quote_occurs(q, source.answer) for q in score.quotes)
        assert answer.stronger_answer_outline and answer.suggestions
    grid = {c.requirement: c for c in scored.coverage}
    assert grid["Experience with Redis and PostgreSQL"].status in ("covered", "partly")
    assert grid["Experience with Redis and PostgreSQL"].turn == 1
    assert grid["Mentoring junior engineers"].status == "missing"


async def test_without_an_llm_feedback_is_heuristic() -> None:
    result = await score_interview(ANSWERS, JOB, None)
    assert result.source == "heuristic"
    assert set(result.summary["scores"]) == {
        "relevance",
        "structure",
        "specificity",
        "communication",
    }
    assert result.summary["coverage"]["missing"] == 1
