"""Feedback scoring through the real OpenAI SDK against the wire-level fake: each answer
on its own kind's rubric (the schema sent names the dimensions), validated answers are
kept, invented quotes and foreign dimensions are refused, a stronger answer that invents
facts is replaced by the offline one, failures fall back to the labelled heuristic
scorer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from pipeline.feedback.grounding import is_grounded
from pipeline.feedback.heuristic import score_interview as heuristic_scores
from pipeline.feedback.scoring import check_scores, score_interview, scores_model
from pipeline.feedback.types import (
    AnswerInput,
    JobContext,
    Position,
    ResumeFacts,
    ScoredInterview,
    quote_occurs,
    rubric_of,
)
from pipeline.kinds import rubric_for
from pipeline.llm.sdk import SdkChat as SdkJsonChat
from storage.types import TurnWord
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
        words=tuple(TurnWord(w, i * 0.4, i * 0.4 + 0.3) for i, w in enumerate(ANSWER_ONE.split())),
        kind="technical",
        rubric=rubric_for("technical"),
    ),
    AnswerInput(
        turn=2,
        question="Describe a disagreement with a colleague.",
        answer=ANSWER_TWO,
        competency="collaboration",
        kind="behavioral",
        rubric=rubric_for("behavioral"),
    ),
]
RESUME = ResumeFacts(
    positions=(
        Position(
            "Backend Engineer",
            "Example Shop",
            "2021",
            "present",
            ("Cut checkout latency by 60% with a Redis cache",),
        ),
    ),
    achievements=("Speaker at PyCon 2023",),
)
JOB = JobContext(
    title="Backend engineer",
    requirements=("Experience with Redis and PostgreSQL", "Mentoring junior engineers"),
    skills=("Redis", "PostgreSQL", "Kubernetes"),
)


def scores(names: list[str], quotes: dict[str, list[str]], score: int = 4) -> list[dict[str, Any]]:
    return [
        {"criterion": c, "score": score, "quotes": quotes.get(c, []), "reason": "Clear."}
        for c in names
    ]


TECHNICAL = [d.name for d in rubric_for("technical")]
STAR = [d.name for d in rubric_for("behavioral")]
GROUNDED_EXAMPLE = (
    "For example, from your time as Backend Engineer at Example Shop: cut checkout "
    "latency by 60% with a Redis cache."
)


def llm_answer(
    first_quote: str = "I added a Redis cache",
    *,
    example: str = GROUNDED_EXAMPLE,
    first_names: list[str] = TECHNICAL,
) -> str:
    return json.dumps(
        {
            "answers": [
                {
                    "turn": 1,
                    "scores": scores(
                        first_names,
                        {
                            "correctness": [first_quote],
                            "depth": ["I profiled the database calls"],
                            "trade_offs": ["p95 latency dropped from 900 ms to 200 ms"],
                            "clarity": ["i PROFILED   the database calls"],
                        },
                    ),
                    "suggestions": ["Say what you would do differently."],
                    "stronger_answer_outline": ["Correctness", "Depth", "Trade-offs"],
                    "stronger_answer": {
                        "missing": ["trade_offs"],
                        "advice": "A stronger answer would name what the cache cost.",
                        "example": example,
                    },
                },
                {
                    "turn": 2,
                    "scores": scores(
                        STAR,
                        {c: ["talk to them"] for c in ("situation", "task", "action")}
                        | {"result": ["It went fine I guess"]},
                        score=2,
                    ),
                    "suggestions": ["Give a real example."],
                    "stronger_answer_outline": ["Name the disagreement", "Say what you did"],
                    "stronger_answer": None,
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
    result = await score_interview(ANSWERS, JOB, chat, RESUME)
    assert (result.source, result.model, result.prompt_version) == (
        "llm:gpt-4o-mini",
        "gpt-4o-mini",
        "feedback-2",
    )
    by_turn = {a.turn: a.answer for a in ANSWERS}
    for answer in result.body["answers"]:
        assert answer["source"] == "llm:gpt-4o-mini"
        for score in answer["scores"]:
            assert 1 <= score["score"] <= 5
            for quote in score["quotes"]:
                assert quote_occurs(quote, by_turn[answer["turn"]])
    assert result.body["coverage"][0]["status"] == "covered"
    assert result.summary["scores"]["correctness"] == 4.0
    assert result.summary["scores"]["situation"] == 2.0
    # Each answer on its own rubric, its overall score weighted by it.
    first, second = result.body["answers"]
    assert [s["criterion"] for s in first["scores"]] == TECHNICAL
    assert [s["label"] for s in first["scores"]] == [
        "Correctness",
        "Depth",
        "Trade-offs",
        "Clarity",
    ]
    assert first["kind"] == "technical" and second["kind"] == "behavioral"
    assert (first["overall"], second["overall"]) == (4.0, 2.0)
    assert result.body["overall"] == 3.0 and result.summary["overall"] == 3.0
    # The model's grounded stronger answer is kept; one it did not give is the offline one.
    assert first["stronger_answer"]["example"] == GROUNDED_EXAMPLE
    assert first["stronger_answer"]["source"] == "llm:gpt-4o-mini"
    assert first["stronger_answer"]["missing_labels"] == ["Trade-offs"]
    assert second["stronger_answer"]["source"] == "heuristic"
    assert second["stronger_answer"]["missing"] == ["action", "result"]  # weakest, heaviest
    # Delivery comes from the timings, not from the model.
    assert result.body["delivery"]["words"] == len(ANSWER_ONE.split())
    assert len(fake.requests) == 1
    sent = fake.requests[0].messages[-1]["content"]
    assert "ada@example.org" not in sent and "[email]" in sent
    asked = json.loads(sent)
    assert [d["name"] for d in asked["answers"][0]["rubric"]] == TECHNICAL
    assert [d["name"] for d in asked["answers"][1]["rubric"]] == STAR
    assert asked["resume"]["positions"][0]["company"] == "Example Shop"
    response_format = fake.requests[0].body["response_format"]
    assert response_format["type"] == "json_schema"
    # The schema lists the dimensions of the answers' rubrics, and no others.
    score = response_format["json_schema"]["schema"]["properties"]["answers"]["items"]
    criterion = score["properties"]["scores"]["items"]["properties"]["criterion"]
    assert criterion["enum"] == TECHNICAL + STAR


async def test_scores_on_another_kinds_dimensions_are_refused(
    fake: FakeOpenAI, chat: SdkJsonChat
) -> None:
    fake.script(llm_answer(first_names=STAR), llm_answer())
    result = await score_interview(ANSWERS, JOB, chat, RESUME)
    assert result.source == "llm:gpt-4o-mini" and len(fake.requests) == 2
    retry = fake.requests[1].messages[-1]["content"]
    assert "answers[0] must score each dimension of its rubric once" in retry


async def test_a_stronger_answer_that_invents_facts_is_replaced_by_the_offline_one(
    fake: FakeOpenAI, chat: SdkJsonChat
) -> None:
    invented = "For example, say that at Google you cut costs by 40% as a staff engineer."
    fake.script(llm_answer(example=invented))
    result = await score_interview(ANSWERS, JOB, chat, RESUME)
    assert result.source == "llm:gpt-4o-mini" and len(fake.requests) == 1  # scores kept
    stronger = result.body["answers"][0]["stronger_answer"]
    assert stronger["source"] == "heuristic" and "Google" not in stronger["example"]
    assert "Example Shop" in stronger["example"]  # built from the resume instead
    sources = [*RESUME.texts(), ANSWER_ONE, ANSWERS[0].question, "Trade-offs", "Depth"]
    assert is_grounded(stronger["advice"] + " " + stronger["example"], sources)


def test_the_schema_names_each_rubric_dimension() -> None:
    model = scores_model(ANSWERS)
    names = {d.name for a in ANSWERS for d in rubric_of(a)}
    assert model.model_json_schema()["$defs"]["DimensionScore"]["properties"]["criterion"][
        "enum"
    ] == list(dict.fromkeys(n for a in ANSWERS for n in (d.name for d in rubric_of(a))))
    assert set(TECHNICAL + STAR) == names


async def test_a_quote_not_in_the_transcript_is_refused_and_retried(
    fake: FakeOpenAI, chat: SdkJsonChat
) -> None:
    fake.script(llm_answer("I rewrote the whole system in Rust"), llm_answer())
    result = await score_interview(ANSWERS, JOB, chat, RESUME)
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
        "heuristic-2",
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
    assert [[s["score"] for s in a["scores"]] for a in result.body["answers"]] == [
        [s.score for s in a.scores] for a in offline.answers
    ]


def test_check_scores_names_every_problem() -> None:
    scored = ScoredInterview.model_validate_json(llm_answer())
    assert check_scores(scored, ANSWERS, JOB) == []
    broken = scored.model_copy(update={"answers": scored.answers[:1], "coverage": []})
    problems = check_scores(broken, ANSWERS, JOB)
    assert any("score exactly the turns" in p for p in problems)
    assert any("coverage must list each job requirement" in p for p in problems)


def test_heuristic_scores_rest_on_sentences_of_the_answer() -> None:
    scored = heuristic_scores(ANSWERS, JOB, RESUME)
    strong, weak = scored.answers
    by_name = {s.criterion: s for s in strong.scores}
    assert set(by_name) == set(TECHNICAL)
    assert by_name["correctness"].score >= 4  # the question's words and named tools
    assert by_name["trade_offs"].score == 1  # no alternative weighed
    assert {s.criterion: s.score for s in weak.scores} == dict.fromkeys(STAR, 1)
    for answer, source in zip(scored.answers, ANSWERS, strict=True):
        for score in answer.scores:
            assert all(quote_occurs(q, source.answer) for q in score.quotes)
        assert answer.stronger_answer_outline and answer.suggestions
        assert answer.stronger_answer is not None and answer.stronger_answer.example
        sources = [*RESUME.texts(), source.answer, source.question]
        sources += [d.label for d in rubric_of(source)]
        stronger = answer.stronger_answer
        assert is_grounded(f"{stronger.advice} {stronger.example}", sources)
    assert strong.stronger_answer is not None
    assert strong.stronger_answer.missing == ["depth", "trade_offs"]  # scored 1, weighed alike
    grid = {c.requirement: c for c in scored.coverage}
    assert grid["Experience with Redis and PostgreSQL"].status in ("covered", "partly")
    assert grid["Experience with Redis and PostgreSQL"].turn == 1
    assert grid["Mentoring junior engineers"].status == "missing"


async def test_without_an_llm_feedback_is_heuristic() -> None:
    result = await score_interview(ANSWERS, JOB, None)
    assert result.source == "heuristic"
    assert set(result.summary["scores"]) == set(TECHNICAL + STAR)
    assert result.summary["labels"]["trade_offs"] == "Trade-offs"
    assert result.summary["coverage"]["missing"] == 1
