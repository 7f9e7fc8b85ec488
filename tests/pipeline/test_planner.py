"""Question plans: the offline planner is tailored and deterministic; the LLM planner is
validated, and its failure falls back to the offline plan, labelled."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from pipeline.documents.llm import SdkJsonChat
from pipeline.documents.types import Experience, JobData, ResumeData
from pipeline.planner import offline_plan, tailored_plan
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
    plan = offline_plan("technical", 4, resume=RESUME, job=JOB)
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
    plan = offline_plan("behavioral", 4, resume=RESUME, job=JOB)
    assert plan[0].requirement == "Mentor junior engineers"
    assert "mentor junior engineers" in plan[0].text
    assert "Senior Engineer at Analytical Engines Ltd" in plan[2].text
    assert plan[3].requirement is None  # the behavioural bank


def test_mixed_plans_alternate_and_the_same_input_gives_the_same_words() -> None:
    first = offline_plan("mixed", 6, resume=RESUME, job=JOB)
    assert first == offline_plan("mixed", 6, resume=RESUME, job=JOB)
    assert first[0].requirement == "5+ years of Python experience"
    assert first[1].requirement == "Mentor junior engineers"
    assert len({q.text for q in first}) == 6


def test_a_resume_alone_gives_questions_about_its_skills() -> None:
    plan = offline_plan("technical", 2, resume=RESUME, job=None)
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
    plan = await tailored_plan("technical", 2, resume=RESUME, job=JOB, chat=client)
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
    plan = await tailored_plan("technical", 2, resume=RESUME, job=JOB, chat=client)
    assert plan.source == "offline"
    assert plan.questions == offline_plan("technical", 2, resume=RESUME, job=JOB)
    assert len(fake.requests) == 2
    assert "must be one of the listed requirements" in fake.requests[1].messages[-1]["content"]


async def test_an_llm_error_gives_the_offline_plan(chat: tuple[FakeOpenAI, SdkJsonChat]) -> None:
    fake, client = chat
    fake.fail_next = 2
    plan = await tailored_plan("behavioral", 3, resume=RESUME, job=JOB, chat=client)
    assert plan.source == "offline" and len(plan.questions) == 3


async def test_a_hung_llm_gives_the_offline_plan_in_time(
    chat: tuple[FakeOpenAI, SdkJsonChat],
) -> None:
    fake, client = chat
    fake.hang_next = 2
    plan = await tailored_plan("technical", 2, resume=RESUME, job=JOB, chat=client, timeout_s=0.5)
    assert plan.source == "offline"
    assert plan.questions == offline_plan("technical", 2, resume=RESUME, job=JOB)
