"""The interview kinds: one definition each, its rubric (a role interview's from its job, a
mixed interview's per question), its bank and its follow-ups."""

from __future__ import annotations

import math
from typing import get_args

import pytest

from pipeline.documents.types import JobData
from pipeline.followups import FOLLOW_UP_QUESTIONS, follow_up_hint
from pipeline.interviewer.offline import GENERIC_PHRASES, spoken_chunks
from pipeline.kinds import KINDS, QUESTION_KINDS, question_kind, rubric_for
from pipeline.plan import PlanCursor
from pipeline.questions import BANKS, DOMAIN_QUESTIONS, default_plan, fresh_first
from storage.types import InterviewKind, PlannedQuestion

NURSE = JobData(
    title="Registered Nurse",
    requirements=["Registered nursing license", "Experience with Epic EHR", "BLS certification"],
    responsibilities=["Deliver patient care on a medical ward"],
)


def test_every_kind_has_one_definition_and_every_bank_forty_tagged_questions() -> None:
    assert set(KINDS) == set(get_args(InterviewKind))
    for kind in QUESTION_KINDS:
        bank = KINDS[kind].bank
        assert len(bank) >= 40 and len({q.text for q in bank}) == len(bank)
        assert all(q.kind == kind and q.tags and q.requirement_type for q in bank)
    # A mixed interview draws on the others, each question keeping its own kind.
    assert {q.kind for q in BANKS["mixed"]} == set(QUESTION_KINDS)
    for definition in KINDS.values():
        assert definition.label and definition.prompt_line and definition.follow_ups
        assert len(definition.explanation) < 140  # one line on the form


@pytest.mark.parametrize(
    ("kind", "names"),
    [
        ("behavioral", ["situation", "task", "action", "result"]),
        ("technical", ["correctness", "depth", "trade_offs", "clarity"]),
        (
            "system_design",
            [
                "requirements",
                "high_level_design",
                "data_and_scaling",
                "trade_offs",
                "communication",
            ],
        ),
        ("role", ["domain_knowledge", "judgement", "communication"]),
    ],
)
def test_each_kind_is_scored_on_its_own_rubric(kind: InterviewKind, names: list[str]) -> None:
    rubric = rubric_for(kind)
    assert [d.name for d in rubric] == names
    assert math.isclose(sum(d.weight for d in rubric), 1.0)


def test_a_role_rubric_is_the_jobs_requirements() -> None:
    rubric = rubric_for("role", NURSE)
    assert [d.label for d in rubric] == [
        "Registered nursing license",
        "Experience with Epic EHR",
        "BLS certification",
    ]
    assert rubric[0].name == "registered_nursing_license"
    assert math.isclose(sum(d.weight for d in rubric), 1.0, abs_tol=1e-3)
    # Without requirements or skills, the role rubric's own dimensions.
    assert rubric_for("role", JobData(title="Nurse")) == KINDS["role"].dimensions


def test_a_mixed_interview_scores_each_question_on_its_kinds_rubric() -> None:
    design = BANKS["system_design"][0]
    assert rubric_for("mixed", question=design) == KINDS["system_design"].dimensions
    # A question stored before questions had a kind: the bank it came from says.
    old = PlannedQuestion(BANKS["technical"][3].text, "performance")
    assert question_kind("mixed", old) == "technical"
    assert question_kind("role", old) == "role"
    assert question_kind("mixed", PlannedQuestion("Anything else?", "c")) == "behavioral"


THIN = "I did it."
NO_RESULT = (
    "We had a hard quarter and I took over the planning of the team's work myself, talking "
    "to each person about what they were doing and moving two people to the urgent work."
)
NO_SCALE = (
    "I would put a proxy in front of a few stateless web servers, which write "
    "links into a database table keyed by a short code, with a cache in front of the reads."
)
NO_TRADE_OFFS = (
    "I would use a hash of the link because it spreads the keys evenly, stored in Postgres "
    "with an index on the code, and I tested it with a benchmark that checked every read."
)


@pytest.mark.parametrize(
    ("kind", "answer", "hint"),
    [
        ("behavioral", THIN, "a concrete example"),
        ("behavioral", NO_RESULT, "the result"),
        ("technical", THIN, "a concrete example"),
        ("technical", NO_RESULT, "why they chose that approach"),
        ("technical", NO_TRADE_OFFS, "the trade-offs"),
        ("system_design", NO_SCALE, "the scale it has to handle"),
        ("system_design", NO_RESULT + " Each second it serves 10 thousand users.", None),
        ("role", NO_RESULT, "how they made the call"),
    ],
)
def test_each_kind_follows_up_on_what_its_answers_lack(
    kind: InterviewKind, answer: str, hint: str | None
) -> None:
    found = follow_up_hint(answer, kind)
    if hint is None:
        assert found is not None and found != "the scale it has to handle"
    else:
        assert found == hint
    if found is not None:
        assert found in FOLLOW_UP_QUESTIONS  # the offline interviewer can ask it


def test_the_plan_cursor_follows_up_each_question_as_its_kind() -> None:
    plan = (BANKS["behavioral"][0], BANKS["system_design"][0])
    cursor = PlanCursor(plan, kind="mixed")
    cursor.opening()
    assert cursor.after_answer(NO_RESULT).hint == "the result"
    assert cursor.after_answer(NO_RESULT).action == "next_question"  # one follow-up each
    assert cursor.after_answer(NO_SCALE).hint == "the scale it has to handle"
    # Questions stored without a kind are followed up as the interview's.
    old = PlanCursor((PlannedQuestion("Tell me about a time.", "c"),))
    old.opening()
    assert old.after_answer(NO_RESULT).hint == "the result"


def test_every_bank_question_and_follow_up_is_generic_speech() -> None:
    """What the offline interviewer says of them carries nothing of any candidate: the
    phrase cache may keep it on disk."""
    for question in (*BANKS["mixed"], *(q for pack in DOMAIN_QUESTIONS.values() for q in pack)):
        spoken = spoken_chunks(f"Thank you. {question.text}")
        assert all(chunk in GENERIC_PHRASES for chunk in spoken), question.text
    for text in FOLLOW_UP_QUESTIONS.values():
        assert all(chunk in GENERIC_PHRASES for chunk in spoken_chunks(text))


def test_fresh_questions_come_first_then_the_least_recently_asked() -> None:
    pool = list(BANKS["technical"][:6])
    a, b, c, d, e, f = (q.text for q in pool)
    recent = [frozenset({a, b}), frozenset({c}), frozenset({d, e})]  # newest first
    assert [q.text for q in fresh_first(pool, recent)] == [f, d, e, c, a, b]
    assert default_plan("technical", 2, recent) == [pool[5], *BANKS["technical"][6:7]]
    assert fresh_first(pool, []) == pool
