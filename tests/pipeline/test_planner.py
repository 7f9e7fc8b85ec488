"""Question plans: the offline planner is tailored and deterministic; the LLM planner is
validated, and its failure falls back to the offline plan, labelled."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from pipeline.documents.types import Experience, JobData, ResumeData
from pipeline.llm.sdk import SdkChat as SdkJsonChat
from pipeline.planner import PlanRequest, offline_plan, tailored_plan
from pipeline.questions import BANKS
from storage.types import InterviewKind
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai

JOB = JobData(
    title="Backend Engineer",
    requirements=["5+ years of Python experience", "Experience running PostgreSQL at scale"],
    responsibilities=["Mentor junior engineers", "Own the billing service"],
    skills=["Python", "PostgreSQL", "Kubernetes"],
)
RESUME = ResumeData(
    experience=[Experience(title="Senior Engineer", company="Analytical Engines Ltd")],
    skills=["Python", "Go"],
)


def test_technical_questions_probe_the_job_requirements() -> None:
    plan = offline_plan(PlanRequest("technical", 4, resume=RESUME, job=JOB))
    assert [q.requirement for q in plan] == [
        "5+ years of Python experience",
        "Experience running PostgreSQL at scale",
        "Kubernetes",  # skills not named by a requirement come next
        None,  # then the technical bank
    ]
    assert plan[0].competency == "Python" and plan[1].competency == "PostgreSQL"
    assert "5+ years of Python experience" in plan[0].text
    assert all(q.source == "offline" for q in plan)


def test_behavioural_questions_use_duties_roles_and_the_bank() -> None:
    plan = offline_plan(PlanRequest("behavioral", 4, resume=RESUME, job=JOB))
    assert plan[0].requirement == "Mentor junior engineers"
    assert "mentor junior engineers" in plan[0].text
    assert "Senior Engineer at Analytical Engines Ltd" in plan[2].text
    assert plan[3].requirement is None  # the behavioural bank


def test_mixed_plans_alternate_and_the_same_input_gives_the_same_words() -> None:
    first = offline_plan(PlanRequest("mixed", 6, resume=RESUME, job=JOB))
    assert first == offline_plan(PlanRequest("mixed", 6, resume=RESUME, job=JOB))
    assert first[0].requirement == "5+ years of Python experience"
    assert first[1].requirement == "Mentor junior engineers"
    assert len({q.text for q in first}) == 6


def test_a_resume_alone_gives_questions_about_its_skills() -> None:
    plan = offline_plan(PlanRequest("technical", 2, resume=RESUME, job=None))
    assert [q.competency for q in plan] == ["Python", "Go"]


@pytest.fixture
async def chat() -> AsyncIterator[tuple[FakeOpenAI, SdkJsonChat]]:
    async with run_fake_openai() as fake:
        client = SdkJsonChat.openai(
            api_key=fake.api_key, base_url=fake.openai_base_url, model="gpt-4o-mini", timeout_s=5
        )
        yield fake, client
        await client.aclose()


def _plan(*requirements: str | None) -> str:
    return json.dumps(
        {
            "questions": [
                {
                    "text": f"Question number {i} about your work, with an example?",
                    "competency": "Python",
                    "requirement": r,
                }
                for i, r in enumerate(requirements)
            ]
        }
    )


async def test_the_llm_plan_is_labelled_and_tagged(
    chat: tuple[FakeOpenAI, SdkJsonChat],
) -> None:
    fake, client = chat
    fake.script(_plan("5+ years of python experience", None))
    plan = await tailored_plan(PlanRequest("technical", 2, resume=RESUME, job=JOB), chat=client)
    assert plan.source == "llm:gpt-4o-mini"
    # The requirement is stored in the job's own spelling.
    assert plan.questions[0].requirement == "5+ years of Python experience"
    assert plan.questions[1].requirement is None
    assert all(q.source == "llm:gpt-4o-mini" for q in plan.questions)
    sent = fake.requests[0].messages[-1]["content"]
    assert "Experience running PostgreSQL at scale" in sent


async def test_an_invented_requirement_is_retried_then_the_offline_plan_is_used(
    chat: tuple[FakeOpenAI, SdkJsonChat],
) -> None:
    fake, client = chat
    fake.script(_plan("Ten years of Haskell", None), _plan("Ten years of Haskell", None))
    plan = await tailored_plan(PlanRequest("technical", 2, resume=RESUME, job=JOB), chat=client)
    assert plan.source == "offline"
    assert plan.questions == offline_plan(PlanRequest("technical", 2, resume=RESUME, job=JOB))
    assert len(fake.requests) == 2
    assert "must be one of the listed requirements" in fake.requests[1].messages[-1]["content"]


async def test_an_llm_error_gives_the_offline_plan(chat: tuple[FakeOpenAI, SdkJsonChat]) -> None:
    fake, client = chat
    fake.fail_next = 2
    plan = await tailored_plan(PlanRequest("behavioral", 3, resume=RESUME, job=JOB), chat=client)
    assert plan.source == "offline" and len(plan.questions) == 3


async def test_a_hung_llm_gives_the_offline_plan_in_time(
    chat: tuple[FakeOpenAI, SdkJsonChat],
) -> None:
    fake, client = chat
    fake.hang_next = 2
    plan = await tailored_plan(
        PlanRequest("technical", 2, resume=RESUME, job=JOB), chat=client, timeout_s=0.5
    )
    assert plan.source == "offline"
    assert plan.questions == offline_plan(PlanRequest("technical", 2, resume=RESUME, job=JOB))


NURSE_JOB = JobData(
    title="Registered Nurse",
    company="St Mary's Hospital",
    requirements=[
        "Registered nursing license",
        "Experience with Epic EHR",
        "Knowledge of clinical workflows",
    ],
    responsibilities=["Deliver patient care on a busy medical ward"],
    skills=["Electronic Health Records"],
)
DESIGN_JOB = JobData(
    title="Senior Product Designer",
    requirements=["A portfolio showing user research", "Experience with Figma"],
    responsibilities=["Run design critiques with the team"],
    skills=["Figma"],
)


@pytest.mark.parametrize("kind", ["behavioral", "technical", "system_design", "role", "mixed"])
def test_every_kind_has_an_offline_plan_of_its_own_questions(kind: InterviewKind) -> None:
    plan = offline_plan(PlanRequest(kind, 8, resume=RESUME, job=JOB))
    assert plan == offline_plan(PlanRequest(kind, 8, resume=RESUME, job=JOB))
    assert len({q.text for q in plan}) == 8
    kinds = [q.kind for q in plan]
    if kind == "mixed":
        assert kinds[:4] == ["technical", "behavioral", "system_design", "role"]
    else:
        assert set(kinds) == {kind}
    assert all(q.source == "offline" and q.tags and q.requirement_type for q in plan)


def test_a_system_design_plan_is_built_around_the_jobs_tools() -> None:
    plan = offline_plan(PlanRequest("system_design", 4, resume=None, job=JOB))
    assert plan[0].text.startswith("Design a service") and "Python" in plan[0].text
    assert plan[0].requirement == "Python"
    assert all(q.text.startswith("Design ") for q in plan)


def test_a_nurse_is_asked_about_patient_safety_and_clinical_workflows() -> None:
    plan = offline_plan(PlanRequest("role", 6, resume=None, job=NURSE_JOB))
    asked = " ".join(q.text for q in plan).lower()
    assert "patient's safety" in asked and "clinical workflow" in asked
    assert "epic ehr" in asked and "nursing license" in asked
    # Every question is tied to a requirement of the job, stored with its type.
    assert all(q.requirement for q in plan)
    licence = next(q for q in plan if q.requirement == "Registered nursing license")
    assert licence.requirement_type == "qualification"
    assert licence.text.startswith("The role requires registered nursing license.")
    duty = next(q for q in plan if q.requirement == "Deliver patient care on a busy medical ward")
    assert duty.requirement_type == "responsibility"


def test_a_designer_is_asked_about_research_and_critique() -> None:
    plan = offline_plan(PlanRequest("role", 6, resume=None, job=DESIGN_JOB))
    asked = " ".join(q.text for q in plan).lower()
    assert "user research" in asked and "critique" in asked
    assert "patient" not in asked
    critique = next(q for q in plan if q.competency == "design critique")
    assert critique.requirement == "Run design critiques with the team"


def test_without_a_job_a_role_plan_is_domain_neutral() -> None:
    plan = offline_plan(PlanRequest("role", 5, resume=RESUME, job=None))
    assert [q.text for q in plan] == [q.text for q in BANKS["role"][:5]]
    assert all(q.requirement is None for q in plan)


def test_recent_questions_are_asked_last() -> None:
    first = offline_plan(PlanRequest("technical", 4, resume=RESUME, job=JOB))
    second = offline_plan(
        PlanRequest(
            "technical", 4, resume=RESUME, job=JOB, recent=[frozenset(q.text for q in first)]
        )
    )
    assert not {q.text for q in first} & {q.text for q in second}


@pytest.mark.parametrize("kind", ["behavioral", "technical", "system_design", "role", "mixed"])
async def test_every_kind_has_an_llm_plan(
    chat: tuple[FakeOpenAI, SdkJsonChat], kind: InterviewKind
) -> None:
    fake, client = chat
    questions = [
        {
            "text": "Walk me through the design of a billing service.",
            "competency": "design",
            "requirement": None,
            "kind": "system_design",
        },
        {
            "text": "Tell me about a time you mentored someone.",
            "competency": "mentoring",
            "requirement": "5+ years of python experience",
            "kind": "nonsense",
        },
    ]
    fake.script(json.dumps({"questions": questions}))
    asked = frozenset({"An old question about PostgreSQL?"})
    plan = await tailored_plan(
        PlanRequest(kind, 2, resume=RESUME, job=JOB, recent=[asked]), chat=client
    )
    assert plan.source == "llm:gpt-4o-mini"
    if kind == "mixed":
        # The model's kind when it names one, else the kinds in turn.
        assert [q.kind for q in plan.questions] == ["system_design", "technical"]
    else:
        assert {q.kind for q in plan.questions} == {kind}
    assert plan.questions[1].requirement == "5+ years of Python experience"
    assert plan.questions[1].requirement_type == "skill"
    sent = fake.requests[0].messages[-1]["content"]
    assert f"Kind: {kind}" in sent and "An old question about PostgreSQL?" in sent


async def test_an_llm_plan_that_repeats_a_recent_question_is_retried(
    chat: tuple[FakeOpenAI, SdkJsonChat],
) -> None:
    fake, client = chat
    repeat = "Question number 0 about your work, with an example?"
    fake.script(_plan(None, None), _plan(None, None))
    plan = await tailored_plan(
        PlanRequest("technical", 2, resume=RESUME, job=JOB, recent=[frozenset({repeat})]),
        chat=client,
    )
    assert plan.source == "offline"
    assert "was asked recently" in fake.requests[1].messages[-1]["content"]
