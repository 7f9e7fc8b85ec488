"""Question plans tailored to a resume and a job description.

Two planners with one result type:

- the **offline planner** is deterministic: the same resume, job, kind and count give the
  same questions, word for word. Technical questions come from the job's requirements and
  skills, behavioural ones from its responsibilities, the resume's roles and the
  behavioural bank; each question names the requirement or competency it probes;
- the **LLM planner** asks the configured model for the questions (JSON schema, validated,
  one retry) with a redacted summary of the resume and the job. Any failure falls back to
  the offline plan, labelled ``offline``: creating an interview never fails on the LLM.

Either way the questions are stored with the interview, so its wording is reproducible.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pipeline.background import summarize
from pipeline.documents.llm import JsonChat, LlmParseError
from pipeline.documents.skills import find_skills
from pipeline.documents.types import JobData, ResumeData
from pipeline.feedback.llm import ask_validated
from pipeline.interviewer.redact import redact
from pipeline.questions import BEHAVIORAL, TECHNICAL
from storage.types import PlannedQuestion

log = logging.getLogger("intrvuer.planner")

OFFLINE: Final = "offline"
PLANNER_PROMPT_VERSION: Final = "planner-1"
MAX_TOPIC_CHARS: Final = 160
# Planning happens while the candidate waits for the interview to be created: a slow or
# hung provider gets this long for both attempts, then the offline plan is used.
PLAN_TIMEOUT_S: Final = 15.0


@dataclass(frozen=True, slots=True)
class Plan:
    questions: list[PlannedQuestion]
    source: str  # "offline" | "llm:<model>"


def _topic(text: str) -> str:
    """A requirement as it reads inside a question: trimmed, no final period."""
    text = " ".join(text.split()).rstrip(".;:")
    if len(text) > MAX_TOPIC_CHARS:
        text = text[:MAX_TOPIC_CHARS].rsplit(" ", 1)[0]
    if text[:1].isupper() and not text[1:2].isupper():
        text = text[0].lower() + text[1:]
    return text


def _competency(text: str, fallback: str) -> str:
    skills = find_skills(text)
    return skills[0] if skills else fallback


def _technical(job: JobData | None, resume: ResumeData | None) -> list[PlannedQuestion]:
    found: list[PlannedQuestion] = []
    if job is not None:
        for requirement in job.requirements:
            found.append(
                PlannedQuestion(
                    f"The role asks for {_topic(requirement)}. Tell me about a time your work "
                    "called for exactly that: what did you do, and what came of it?",
                    _competency(requirement, "job requirement"),
                    requirement=requirement,
                    source=OFFLINE,
                )
            )
        covered = {q.competency.lower() for q in found}
        for skill in job.skills:
            if skill.lower() in covered:
                continue
            found.append(
                PlannedQuestion(
                    f"How have you used {skill} in practice? Walk me through a concrete "
                    "problem you solved with it.",
                    skill,
                    requirement=skill,
                    source=OFFLINE,
                )
            )
    elif resume is not None:
        for skill in resume.skills:
            found.append(
                PlannedQuestion(
                    f"Your resume lists {skill}. Describe the most demanding thing you have "
                    f"built or fixed with {skill}.",
                    skill,
                    source=OFFLINE,
                )
            )
    return found


def _behavioural(job: JobData | None, resume: ResumeData | None) -> list[PlannedQuestion]:
    found: list[PlannedQuestion] = []
    if job is not None:
        for duty in job.responsibilities:
            found.append(
                PlannedQuestion(
                    f"This job involves {_topic(duty)}. Describe a situation where you did "
                    "something similar. What was your part, and how did it turn out?",
                    _competency(duty, "responsibility"),
                    requirement=duty,
                    source=OFFLINE,
                )
            )
    if resume is not None:
        for role in resume.experience[:3]:
            if not role.title:
                continue
            where = f" at {role.company}" if role.company else ""
            found.append(
                PlannedQuestion(
                    f"In your time as {role.title}{where}, what was the hardest problem you "
                    "owned, and how did you handle it?",
                    "ownership",
                    source=OFFLINE,
                )
            )
    found.extend(PlannedQuestion(q.text, q.competency, source=OFFLINE) for q in BEHAVIORAL)
    return found


def _interleave(
    first: list[PlannedQuestion], second: list[PlannedQuestion]
) -> list[PlannedQuestion]:
    merged: list[PlannedQuestion] = []
    for index in range(max(len(first), len(second))):
        merged.extend(pool[index] for pool in (first, second) if index < len(pool))
    return merged


def offline_plan(
    kind: str, count: int, *, resume: ResumeData | None, job: JobData | None
) -> list[PlannedQuestion]:
    """``count`` questions tailored to ``resume`` and ``job``; deterministic."""
    technical = _technical(job, resume) + [
        PlannedQuestion(q.text, q.competency, source=OFFLINE) for q in TECHNICAL
    ]
    behavioural = _behavioural(job, resume)
    if kind == "technical":
        pool = technical
    elif kind == "behavioral":
        pool = behavioural
    else:
        pool = _interleave(technical, behavioural)
    unique: list[PlannedQuestion] = []
    seen: set[str] = set()
    for question in pool:
        if question.text not in seen:
            seen.add(question.text)
            unique.append(question)
    return unique[: max(1, count)]


# The LLM planner --------------------------------------------------------------------------

QuestionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=400)
]

SYSTEM_PROMPT: Final = """You plan a mock job interview.
Write the requested number of interview questions for this candidate and target job, of \
the requested kind (behavioral, technical, or a mix). Each question is one or two spoken \
sentences, asks for a concrete example, and probes one thing: set "requirement" to the \
job requirement it probes, copied exactly from the list given, or null when it probes a \
general competency; set "competency" to a short name of what it tests (e.g. "Python", \
"stakeholder management"). Do not repeat questions. Contact details appear as \
placeholders such as [email]; never ask about them."""


class _LlmQuestion(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: QuestionText
    competency: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)
    ]
    requirement: str | None


class _LlmPlan(BaseModel):
    model_config = ConfigDict(extra="ignore")
    questions: list[_LlmQuestion] = Field(max_length=20)


def _check(plan: _LlmPlan, count: int, requirements: list[str]) -> list[str]:
    problems: list[str] = []
    if len(plan.questions) < count:
        problems.append(f"write {count} questions, not {len(plan.questions)}")
    allowed = {r.strip().lower() for r in requirements}
    for index, question in enumerate(plan.questions):
        if question.requirement is not None and question.requirement.strip().lower() not in allowed:
            problems.append(
                f"questions[{index}].requirement must be one of the listed requirements or null"
            )
    if len({q.text.lower() for q in plan.questions}) < len(plan.questions):
        problems.append("the questions repeat")
    return problems


async def llm_plan(
    chat: JsonChat, kind: str, count: int, *, resume: ResumeData | None, job: JobData | None
) -> list[PlannedQuestion]:
    """The model's questions; ``LlmParseError`` when it gave no valid plan twice."""
    requirements = list(job.requirements) if job is not None else []
    background = summarize(
        resume.model_dump(mode="json") if resume is not None else None,
        job.model_dump(mode="json") if job is not None else None,
    )
    user = (
        f"Kind: {kind}. Number of questions: {count}.\n"
        f"Requirements (copy exactly when a question probes one):\n"
        + "\n".join(f"- {r}" for r in requirements)
        + f"\n\nBackground:\n{background}"
    )
    answer = await ask_validated(
        chat,
        system=SYSTEM_PROMPT,
        user=redact(user),
        model=_LlmPlan,
        schema_name="interview_plan",
        check=lambda plan: _check(plan, count, requirements),
    )
    by_lower = {r.strip().lower(): r for r in requirements}
    source = f"llm:{chat.model}"
    return [
        PlannedQuestion(
            q.text,
            q.competency,
            requirement=by_lower.get(q.requirement.strip().lower()) if q.requirement else None,
            source=source,
        )
        for q in answer.questions[:count]
    ]


async def tailored_plan(
    kind: str,
    count: int,
    *,
    resume: ResumeData | None,
    job: JobData | None,
    chat: JsonChat | None,
    timeout_s: float = PLAN_TIMEOUT_S,
) -> Plan:
    """The LLM's plan when ``chat`` is given and answers validly within ``timeout_s``,
    else the offline one."""
    if chat is not None:
        try:
            async with asyncio.timeout(timeout_s):
                questions = await llm_plan(chat, kind, count, resume=resume, job=job)
            return Plan(questions, f"llm:{chat.model}")
        except LlmParseError as error:
            log.warning(
                "LLM question planning failed; the offline plan is used",
                extra={"llm": error.source, "reason": error.reason},
            )
        except TimeoutError:
            log.warning(
                "LLM question planning timed out; the offline plan is used",
                extra={"llm": chat.name, "timeout_s": timeout_s},
            )
    return Plan(offline_plan(kind, count, resume=resume, job=job), OFFLINE)
