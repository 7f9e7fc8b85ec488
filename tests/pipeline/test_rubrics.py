"""Feedback in each kind's terms, without a server: every dimension's heuristic signal, the
weighted overall score, the grounding check of "a stronger answer would…", and the LLM
path through the scripted chat model for every kind."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from pipeline.documents.types import JobData
from pipeline.feedback.grounding import Claim, is_grounded, numbers, ungrounded
from pipeline.feedback.heuristic import score_answer
from pipeline.feedback.scoring import score_interview
from pipeline.feedback.types import (
    NO_JOB,
    AnswerInput,
    CriterionScore,
    JobContext,
    Position,
    ResumeFacts,
    quote_occurs,
    rubric_of,
    weighted,
)
from pipeline.kinds import rubric_for
from pipeline.llm.scripted import ScriptedJsonChat
from storage.types import InterviewKind, PlannedQuestion

RESUME = ResumeFacts(
    positions=(
        Position(
            "Senior Software Engineer",
            "Analytical Engines Ltd",
            "2020-01",
            "present",
            ("Built the difference engine's scheduler in Python", "Mentored four engineers"),
        ),
        Position("Software Engineer", "Babbage & Co", "2016", "2019", ("Cut build times by 40%",)),
    ),
    achievements=("Royal Society Medal, 2021",),
    skills=("Python", "PostgreSQL"),
)
NURSING = JobData(
    title="Registered Nurse",
    requirements=["Patient safety and infection control", "Clinical workflows and handover"],
    skills=["infection control", "Epic EHR"],
)

STAR_ANSWER = (
    "At my last job our release process kept breaking. My task was to fix it before the "
    "launch deadline. I wrote a checklist and I automated the build checks. As a result "
    "failed releases dropped from 6 to 1 a month, and I learned to measure first."
)
TECHNICAL_ANSWER = (
    "A B-tree index keeps keys sorted, which means range queries are cheap because the "
    "database walks the leaves in order. PostgreSQL uses it by default. But it costs "
    "write speed, and instead of an index a partial index on hot rows is smaller; on the "
    "other hand it only helps those queries."
)
DESIGN_ANSWER = (
    "Who uses it and how many requests do we expect? Assuming 50 million users and "
    "20000 reads per second, clients call an API service behind a load balancer, which "
    "reads from a cache and writes to a database. We shard the database by user id and "
    "keep two read replicas. The trade-off is eventual consistency, but that costs little."
)
NURSE_ANSWER = (
    "On my last ward I checked each patient's infection control plan before every "
    "handover, because patient safety comes first. I asked the next nurse to read the "
    "risks back to me."
)
VAGUE = "It went fine, I guess, we just did it together as a team."


def answer(
    kind: InterviewKind,
    text: str,
    *,
    job: JobData | None = None,
    question: str = "Tell me about it.",
    turn: int = 1,
) -> AnswerInput:
    return AnswerInput(
        turn=turn, question=question, answer=text, kind=kind, rubric=rubric_for(kind, job)
    )


def scores_of(item: AnswerInput, job: JobContext = NO_JOB) -> dict[str, int]:
    return {s.criterion: s.score for s in score_answer(item, job, RESUME).scores}


# The heuristic signal of each dimension ---------------------------------------------------------


def test_star_parts_come_from_cue_phrases() -> None:
    strong = scores_of(answer("behavioral", STAR_ANSWER))
    assert list(strong) == ["situation", "task", "action", "result"]
    assert strong["situation"] >= 3 and strong["task"] >= 4  # a cue, and its deadline
    assert strong["action"] >= 3  # what "I" did
    assert strong["result"] == 5  # a result, with a figure, and what was learned
    weak = scores_of(answer("behavioral", VAGUE))
    assert weak["action"] == 2  # what "we" did, never what "I" did
    assert weak["situation"] == weak["task"] == weak["result"] == 1


def test_a_long_unpunctuated_answer_is_read_to_its_end() -> None:
    # Speech recognisers do not always punctuate: the result comes after 500 characters.
    spoken = " ".join(["we had a flaky build at my last job and i needed to fix it"] * 9)
    spoken += " so i rewrote the cache and as a result builds dropped to 3 minutes"
    scored = score_answer(answer("behavioral", spoken), NO_JOB, RESUME)
    result = next(s for s in scored.scores if s.criterion == "result")
    assert result.score >= 4 and any("as a result" in q for q in result.quotes)
    assert all(quote_occurs(q, spoken) and len(q) <= 240 for s in scored.scores for q in s.quotes)


def test_technical_answers_are_judged_on_depth_and_trade_offs() -> None:
    question = "How does a database index speed up a range query?"
    strong = scores_of(answer("technical", TECHNICAL_ANSWER, question=question))
    assert list(strong) == ["correctness", "depth", "trade_offs", "clarity"]
    assert strong["trade_offs"] >= 4  # "but", "costs", "instead", "on the other hand"
    assert strong["depth"] >= 3  # "which means", "because"
    assert strong["correctness"] >= 3  # the question's words and named tools
    flat = scores_of(answer("technical", "I added an index and it was faster after that."))
    assert flat["trade_offs"] == 1 and flat["depth"] <= 2


def test_system_design_requirements_data_and_scaling_have_their_own_signals() -> None:
    strong = scores_of(answer("system_design", DESIGN_ANSWER, question="Design a feed."))
    assert list(strong) == [
        "requirements",
        "high_level_design",
        "data_and_scaling",
        "trade_offs",
        "communication",
    ]
    assert strong["requirements"] >= 4  # a question asked, an assumption with figures
    assert strong["data_and_scaling"] == 5  # figures with units, shard, replicas, cache
    assert strong["high_level_design"] >= 4  # clients, API, load balancer, cache, database
    plain = scores_of(answer("system_design", "I would build it with good code and test it well."))
    assert plain["requirements"] == plain["data_and_scaling"] == 1


def test_a_role_interview_is_scored_on_the_jobs_own_requirements() -> None:
    item = answer("role", NURSE_ANSWER, job=NURSING, question="How do you run a handover?")
    job = JobContext(requirements=tuple(NURSING.requirements), skills=tuple(NURSING.skills))
    found = scores_of(item, job)
    assert list(found) == [
        "patient_safety_and_infection_control",
        "clinical_workflows_and_handover",
    ]
    assert found["patient_safety_and_infection_control"] >= 4
    assert found["clinical_workflows_and_handover"] >= 2
    without_job = scores_of(answer("role", NURSE_ANSWER))
    assert list(without_job) == ["domain_knowledge", "judgement", "communication"]
    assert without_job["judgement"] >= 3  # "because", "checked"


def test_a_mixed_interviews_question_is_scored_on_its_own_kinds_rubric() -> None:
    planned = PlannedQuestion("Design a feed.", "system design", kind="system_design")
    item = replace(
        answer("system_design", DESIGN_ANSWER), rubric=rubric_for("mixed", None, planned)
    )
    assert [d.name for d in rubric_of(item)] == [d.name for d in rubric_for("system_design")]


def test_the_overall_score_is_weighted_by_the_rubric() -> None:
    rubric = rubric_for("behavioral")  # situation .2, task .2, action .35, result .25
    scores = [
        CriterionScore(criterion=d.name, score=s, quotes=[], reason="r")
        for d, s in zip(rubric, (1, 1, 5, 3), strict=True)
    ]
    assert weighted(scores, rubric) == pytest.approx((0.2 + 0.2 + 1.75 + 0.75) / 1.0, abs=0.01)
    assert weighted([], rubric) is None


# Every kind: quotes, and a stronger answer of the candidate's own facts ---------------------

KIND_CASES: list[tuple[InterviewKind, str, JobData | None]] = [
    ("behavioral", STAR_ANSWER, None),
    ("behavioral", VAGUE, None),
    ("technical", TECHNICAL_ANSWER, None),
    ("technical", VAGUE, None),
    ("system_design", DESIGN_ANSWER, None),
    ("system_design", VAGUE, None),
    ("role", NURSE_ANSWER, NURSING),
    ("role", VAGUE, NURSING),
    ("role", NURSE_ANSWER, None),
]


@pytest.mark.parametrize("resume", [RESUME, ResumeFacts()], ids=["resume", "no-resume"])
@pytest.mark.parametrize(("kind", "text", "job"), KIND_CASES)
def test_every_kinds_offline_feedback_quotes_the_answer_and_invents_nothing(
    kind: InterviewKind, text: str, job: JobData | None, resume: ResumeFacts
) -> None:
    item = answer(kind, text, job=job)
    scored = score_answer(item, JobContext(), resume)
    assert [s.criterion for s in scored.scores] == [d.name for d in rubric_for(kind, job)]
    for score in scored.scores:
        assert score.quotes and all(quote_occurs(q, text) for q in score.quotes)
    stronger = scored.stronger_answer
    assert stronger is not None and stronger.advice.startswith("A stronger answer would")
    assert stronger.example is not None
    # Every number and organisation (and title) is in the resume or the answer.
    assert ungrounded(f"{stronger.advice} {stronger.example}", [*resume.texts(), text]) == []
    if resume.positions:
        assert any(p.company and p.company in stronger.example for p in resume.positions)
    weakest = min(scored.scores, key=lambda s: s.score)
    assert weakest.criterion in stronger.missing or weakest.score >= 4


def test_the_example_is_the_resume_fact_closest_to_the_question() -> None:
    item = answer("behavioral", VAGUE, question="Tell me about mentoring engineers.")
    stronger = score_answer(item, JobContext(), RESUME).stronger_answer
    assert stronger is not None and stronger.example is not None
    assert "“Mentored four engineers”" in stronger.example
    assert "Senior Software Engineer at Analytical Engines Ltd" in stronger.example


# The grounding check ----------------------------------------------------------------------------


def test_numbers_are_read_in_digits_and_words() -> None:
    assert numbers("cut 1,200 builds by 40% in three weeks, 3.5x faster, p95") == {
        1200.0,
        40.0,
        3.0,
        3.5,
        95.0,
    }
    assert is_grounded("You mentored 4 engineers.", ["Mentored four engineers"])
    assert is_grounded("You mentored four engineers.", ["Mentored 4 engineers"])


def test_invented_numbers_employers_and_titles_are_caught() -> None:
    sources = [*RESUME.texts(), STAR_ANSWER]
    assert ungrounded("Say you cut build times by 40% at Babbage & Co.", sources) == []
    assert ungrounded("Describe how you led Analytical Engines Ltd's scheduler.", sources) == []
    assert ungrounded("Say that at Google you cut costs by 60% in two weeks.", sources) == [
        Claim("number", "60"),
        Claim("number", "two"),
        Claim("name", "Google"),
    ]
    assert ungrounded("Mention your years as a principal engineer.", sources) == [
        Claim("title", "principal engineer")
    ]
    assert ungrounded("Talk about your time as a senior software engineer.", sources) == []


def test_ordinary_words_that_start_a_sentence_are_not_names() -> None:
    text = "Start with the result. Then say what you did. Instead, name the Royal Society Medal."
    assert ungrounded(text, RESUME.texts()) == []
    assert ungrounded("Northwind hired you.", RESUME.texts()) == [Claim("name", "Northwind")]
    # The pronoun (curly or straight) and the craft's acronyms name no one.
    assert ungrounded("I’ve seen you name the API and its SLA first.", RESUME.texts()) == []


# The LLM path, through the scripted chat model, for every kind -----------------------------------


def llm_answer(items: list[AnswerInput], example: str) -> str:
    body: dict[str, Any] = {
        "answers": [
            {
                "turn": item.turn,
                "scores": [
                    {
                        "criterion": d.name,
                        "score": 4,
                        "quotes": [" ".join(item.answer.split()[:5])],
                        "reason": "Reason.",
                    }
                    for d in rubric_of(item)
                ],
                "suggestions": ["More detail."],
                "stronger_answer_outline": ["One", "Two"],
                "stronger_answer": {
                    "missing": [rubric_of(item)[0].name],
                    "advice": "A stronger answer would add detail.",
                    "example": example,
                },
            }
            for item in items
        ],
        "coverage": [],
        "suggestions": ["Practise."],
    }
    return json.dumps(body)


LLM_CASES: list[tuple[InterviewKind, str, JobData | None]] = [
    ("behavioral", STAR_ANSWER, None),
    ("technical", TECHNICAL_ANSWER, None),
    ("system_design", DESIGN_ANSWER, None),
    ("role", NURSE_ANSWER, NURSING),
]


@pytest.mark.parametrize(("kind", "text", "job"), LLM_CASES)
async def test_every_kind_with_the_scripted_llm(
    kind: InterviewKind, text: str, job: JobData | None
) -> None:
    items = [answer(kind, text, job=job)]
    grounded = "For example, your time at Babbage & Co, where you cut build times by 40%."
    chat = ScriptedJsonChat([llm_answer(items, grounded)])
    result = await score_interview(items, JobContext(), chat, RESUME)
    assert result.source == "llm:scripted" and len(chat.requests) == 1
    scored = result.body["answers"][0]
    assert [s["criterion"] for s in scored["scores"]] == [d.name for d in rubric_for(kind, job)]
    assert scored["overall"] == 4.0
    assert scored["stronger_answer"]["example"] == grounded
    assert scored["stronger_answer"]["source"] == "llm:scripted"
    sent = json.loads(chat.requests[0][-1]["content"])
    assert [d["name"] for d in sent["answers"][0]["rubric"]] == [
        d.name for d in rubric_for(kind, job)
    ]

    # An example with an employer and a figure the candidate never had is dropped.
    invented = "For example, say you grew revenue by 300% at Initech."
    chat = ScriptedJsonChat([llm_answer(items, invented)])
    result = await score_interview(items, JobContext(), chat, RESUME)
    stronger = result.body["answers"][0]["stronger_answer"]
    assert result.source == "llm:scripted" and stronger["source"] == "heuristic"
    assert "Initech" not in stronger["example"] and is_grounded(
        stronger["example"], [*RESUME.texts(), text]
    )


async def test_scores_on_another_kinds_rubric_are_retried_then_left_to_the_heuristic() -> None:
    items = [answer("system_design", DESIGN_ANSWER)]
    star = [replace(items[0], kind="behavioral", rubric=rubric_for("behavioral"))]
    wrong = llm_answer(star, "For example, your time at Babbage & Co.")
    chat = ScriptedJsonChat([wrong, wrong])
    result = await score_interview(items, JobContext(), chat, RESUME)
    assert len(chat.requests) == 2
    assert "must score each dimension of its rubric once" in chat.requests[1][-1]["content"]
    assert result.source == "heuristic"
    assert [s["criterion"] for s in result.body["answers"][0]["scores"]] == [
        d.name for d in rubric_for("system_design")
    ]
