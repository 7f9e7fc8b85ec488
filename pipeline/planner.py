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
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Final

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pipeline.background import summarize
from pipeline.documents.skills import find_skills
from pipeline.documents.types import JobData, ResumeData
from pipeline.kinds import QUESTION_KINDS
from pipeline.llm.redact import redact
from pipeline.llm.types import JsonChat, LlmParseError
from pipeline.llm.validated import ask_validated
from pipeline.questions import (
    BEHAVIORAL,
    DOMAIN_QUESTIONS,
    DOMAIN_WORDS,
    ROLE,
    SYSTEM_DESIGN,
    TECHNICAL,
    fresh_first,
    interleave,
)
from storage.types import InterviewKind, PlannedQuestion, RequirementType

log = logging.getLogger("intrvuer.planner")

OFFLINE: Final = "offline"
PLANNER_PROMPT_VERSION: Final = "planner-2"
MAX_TOPIC_CHARS: Final = 160
# Planning happens while the candidate waits for the interview to be created: a slow or
# hung provider gets this long for both attempts, then the offline plan is used.
PLAN_TIMEOUT_S: Final = 15.0


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What a plan is asked for: ``count`` questions of ``kind`` for this resume and job,
    none of them asked in the ``recent`` interviews (question texts, newest first) while
    others are left."""

    kind: InterviewKind
    count: int
    resume: ResumeData | None
    job: JobData | None
    recent: Sequence[frozenset[str]] = ()


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


# The offline planner's questions; {topic} is a requirement or duty as ``_topic`` words it.
_ABOUT_REQUIREMENT: Final = (
    "The role asks for {topic}. Tell me about a time your work called for exactly that: "
    "what did you do, and what came of it?"
)
_ABOUT_JOB_SKILL: Final = (
    "How have you used {skill} in practice? Walk me through a concrete problem you solved with it."
)
_ABOUT_RESUME_SKILL: Final = (
    "Your resume lists {skill}. Describe the most demanding thing you have built or fixed "
    "with {skill}."
)
_ABOUT_DUTY: Final = (
    "This job involves {topic}. Describe a situation where you did something similar. "
    "What was your part, and how did it turn out?"
)
_ABOUT_ROLE: Final = (
    "In your time as {title}{where}, what was the hardest problem you owned, and how did "
    "you handle it?"
)

_ROLE_SKILL: Final = (
    "The role asks for {topic}. Walk me through how you use that in your work, and a time "
    "it really mattered."
)
_ROLE_QUALIFICATION: Final = (
    "The role requires {topic}. How does it shape the way you work? Give me a situation "
    "where it mattered."
)
_ROLE_REQUIREMENT: Final = (
    "The role asks for {topic}. What does doing that well look like, and when have you shown it?"
)
_ROLE_DUTY: Final = (
    "The job lists this duty: {topic}. Take me through how you do that, step by step, "
    "and a time it was hard."
)
_DESIGN_WITH_SKILL: Final = (
    "Design a service this team might run that relies on {skill}. Start with the "
    "requirements you would clarify, then sketch the main parts and how data flows."
)
_QUALIFICATION = re.compile(
    r"\b(licen[cs]\w*|certif\w*|registered|registration|degree|diploma|qualifi\w*|"
    r"accredit\w*|chartered|clearance|cpr|bls|acls|qts|cpa|acca)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[a-z0-9+#]+")
# Words too common to tie a question to a requirement by.
_COMMON: Final = frozenset(
    re.findall(
        r"\w+",
        "a an and the of to in on for with at by or as is are be your you our this that "
        "work working experience years year strong good ability able skills skill using "
        "use knowledge understanding team teams time role job new",
    )
)
MAX_DESIGN_SKILLS: Final = 3

# Tailored questions of one kind, then the bank's of that kind.
Family = Callable[[JobData | None, ResumeData | None], list[PlannedQuestion]]


def requirement_type(text: str, job: JobData | None = None) -> RequirementType:
    """What kind of requirement ``text`` is: a licence or certification, a duty of the
    role, or a skill."""
    if _QUALIFICATION.search(text):
        return "qualification"
    if job is not None and text in job.responsibilities:
        return "responsibility"
    return "skill"


def _offline(
    text: str,
    competency: str,
    kind: InterviewKind,
    requirement: str | None = None,
    *,
    job: JobData | None = None,
    tags: tuple[str, ...] = (),
) -> PlannedQuestion:
    return PlannedQuestion(
        text,
        competency,
        requirement=requirement,
        source=OFFLINE,
        kind=kind,
        tags=tuple(dict.fromkeys((competency, *tags))),
        requirement_type=requirement_type(requirement, job) if requirement else "competency",
    )


def _words(text: str) -> set[str]:
    """The telling words of ``text``, plurals as singulars ("critiques" is "critique")."""
    return {
        w.removesuffix("s") for w in _WORD.findall(text.lower()) if w not in _COMMON and len(w) > 2
    }


def _tie(
    question: PlannedQuestion, job: JobData, targets: Sequence[tuple[str, set[str]]]
) -> PlannedQuestion:
    """A bank question tied to the job requirement it speaks to: of ``targets`` (the job's
    texts with their words), the one sharing most words with its competency and tags
    (first listed on a tie); unchanged when none shares any."""
    probes = _words(" ".join((question.competency, *question.tags)))
    best: tuple[int, str] | None = None
    for text, words in targets:
        shared = len(probes & words)
        if shared and (best is None or shared > best[0]):
            best = (shared, text)
    if best is None:
        return replace(question, source=OFFLINE)
    return replace(
        question,
        source=OFFLINE,
        requirement=best[1],
        requirement_type=requirement_type(best[1], job),
    )


def _from_bank(bank: Sequence[PlannedQuestion], job: JobData | None) -> list[PlannedQuestion]:
    if job is None:
        return [replace(question, source=OFFLINE) for question in bank]
    targets = [
        (text, _words(text)) for text in (*job.requirements, *job.responsibilities, *job.skills)
    ]
    return [_tie(question, job, targets) for question in bank]


def _about_each(
    items: Sequence[str], template: str, otherwise: str, kind: InterviewKind, job: JobData
) -> list[PlannedQuestion]:
    """A question about each of the job's ``items`` (its requirements, its duties)."""
    return [
        _offline(
            template.format(topic=_topic(item)), _competency(item, otherwise), kind, item, job=job
        )
        for item in items
    ]


def _technical(job: JobData | None, resume: ResumeData | None) -> list[PlannedQuestion]:
    found: list[PlannedQuestion] = []
    if job is not None:
        found = _about_each(
            job.requirements, _ABOUT_REQUIREMENT, "job requirement", "technical", job
        )
        covered = {q.competency.lower() for q in found}
        found += [
            _offline(_ABOUT_JOB_SKILL.format(skill=skill), skill, "technical", skill, job=job)
            for skill in job.skills
            if skill.lower() not in covered
        ]
    elif resume is not None:
        found = [
            _offline(_ABOUT_RESUME_SKILL.format(skill=skill), skill, "technical")
            for skill in resume.skills
        ]
    return found + _from_bank(TECHNICAL, job)


def _behavioural(job: JobData | None, resume: ResumeData | None) -> list[PlannedQuestion]:
    found: list[PlannedQuestion] = []
    if job is not None:
        found = _about_each(job.responsibilities, _ABOUT_DUTY, "responsibility", "behavioral", job)
    if resume is not None:
        found += [
            _offline(
                _ABOUT_ROLE.format(
                    title=role.title, where=f" at {role.company}" if role.company else ""
                ),
                "ownership",
                "behavioral",
            )
            for role in resume.experience[:3]
            if role.title
        ]
    return found + _from_bank(BEHAVIORAL, job)


def _system_design(job: JobData | None, resume: ResumeData | None) -> list[PlannedQuestion]:
    """Designs around the tools the job (or else the resume) names, then the bank's."""
    found: list[PlannedQuestion] = []
    if job is not None:
        skills = [s for s in job.skills if find_skills(s)][:MAX_DESIGN_SKILLS]
        found = [
            _offline(
                _DESIGN_WITH_SKILL.format(skill=skill),
                "system design",
                "system_design",
                skill,
                job=job,
                tags=(skill,),
            )
            for skill in skills
        ]
    elif resume is not None:
        found = [
            _offline(
                _DESIGN_WITH_SKILL.format(skill=skill),
                "system design",
                "system_design",
                tags=(skill,),
            )
            for skill in resume.skills[:MAX_DESIGN_SKILLS]
        ]
    return found + _from_bank(SYSTEM_DESIGN, job)


_DOMAIN_PATTERNS: Final = {
    domain: re.compile(rf"\b({words})\b", re.IGNORECASE) for domain, words in DOMAIN_WORDS.items()
}


def job_domain(job: JobData) -> str | None:
    """The profession a job belongs to (a key of ``DOMAIN_QUESTIONS``): the domain whose
    words it uses most, its title counting three times; None when it uses none."""
    title = job.title or ""
    body = " ".join((*job.requirements, *job.responsibilities, *job.skills))
    best: tuple[int, str] | None = None
    for domain, pattern in _DOMAIN_PATTERNS.items():
        score = 3 * len(pattern.findall(title)) + len(pattern.findall(body))
        if score and (best is None or score > best[0]):
            best = (score, domain)
    return best[1] if best else None


def _role_question(requirement: str, job: JobData) -> PlannedQuestion:
    """A question about one of the job's requirements, worded for what it is."""
    kind = requirement_type(requirement, job)
    skills = find_skills(requirement)
    if kind == "qualification":
        template = _ROLE_QUALIFICATION
    elif skills or requirement in job.skills:
        template = _ROLE_SKILL
    else:
        template = _ROLE_REQUIREMENT
    return _offline(
        template.format(topic=_topic(requirement)),
        skills[0] if skills else _topic(requirement),
        "role",
        requirement,
        job=job,
    )


def _role(job: JobData | None, resume: ResumeData | None) -> list[PlannedQuestion]:
    """The job's own work: its requirements and duties in turn with its profession's
    questions, then the domain-neutral bank."""
    if job is None:
        return _from_bank(ROLE, None)
    covered = {r.lower() for r in job.requirements}
    requirements = [_role_question(r, job) for r in job.requirements]
    requirements += [
        _role_question(skill, job) for skill in job.skills if skill.lower() not in covered
    ]
    duties = [
        _offline(
            _ROLE_DUTY.format(topic=_topic(duty)),
            _competency(duty, _topic(duty)),
            "role",
            duty,
            job=job,
        )
        for duty in job.responsibilities
    ]
    domain = job_domain(job)
    profession = _from_bank(DOMAIN_QUESTIONS[domain], job) if domain else []
    return interleave(requirements, profession, duties) + _from_bank(ROLE, job)


# The question families an interview of each kind draws on, one question of each in turn.
_FAMILIES: Final[Mapping[InterviewKind, tuple[Family, ...]]] = {
    "behavioral": (_behavioural,),
    "technical": (_technical,),
    "system_design": (_system_design,),
    "role": (_role,),
    "mixed": (_technical, _behavioural, _system_design, _role),
}


def offline_plan(request: PlanRequest) -> list[PlannedQuestion]:
    """The ``request``'s questions from the offline banks; deterministic."""
    job, resume = request.job, request.resume
    pool = interleave(*(family(job, resume) for family in _FAMILIES[request.kind]))
    unique: list[PlannedQuestion] = []
    seen: set[str] = set()
    for question in pool:
        if question.text not in seen:
            seen.add(question.text)
            unique.append(question)
    return fresh_first(unique, request.recent)[: max(1, request.count)]


# The LLM planner --------------------------------------------------------------------------

QuestionText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=10, max_length=400)
]

SYSTEM_PROMPT: Final = """You plan a mock job interview.
Write the requested number of interview questions for this candidate and target job, of \
the requested kind, described below. Each question is one or two spoken sentences and \
probes one thing: set "requirement" to the job requirement it probes, copied exactly \
from the list given, or null when it probes a general competency; set "competency" to a \
short name of what it tests (e.g. "Python", "stakeholder management"); set "kind" to the \
question's kind (behavioral, technical, system_design or role). Do not repeat questions, \
and do not ask again any question listed as asked recently. Contact details appear as \
placeholders such as [email]; never ask about them."""
# How the planner is told what each kind asks, beyond the interviewer's prompt line.
_KIND_BRIEFS: Final[Mapping[InterviewKind, str]] = {
    "behavioral": "behavioral: past situations; each question asks for a concrete example.",
    "technical": "technical: how the candidate builds, debugs and reasons about the job's "
    "tools; ask about real problems they solved.",
    "system_design": "system_design: each question asks the candidate to design a system "
    "out loud (requirements, components, data, scaling, trade-offs), fitting the job.",
    "role": "role: the everyday work, standards and judgement of this profession, in its "
    "own words (for a nurse, patient safety and clinical workflows; for a designer, "
    "research and critique); tie each question to one of the listed requirements.",
    "mixed": "mixed: behavioral, technical, system_design and role questions in turn.",
}
# Recently asked questions the planner is shown, at most: enough to steer it away.
MAX_RECENT_SHOWN: Final = 30


class _LlmQuestion(BaseModel):
    model_config = ConfigDict(extra="ignore")
    text: QuestionText
    competency: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)
    ]
    requirement: str | None
    kind: str | None = None


class _LlmPlan(BaseModel):
    model_config = ConfigDict(extra="ignore")
    questions: list[_LlmQuestion] = Field(max_length=20)


def _check(
    plan: _LlmPlan, count: int, requirements: list[str], asked: frozenset[str] = frozenset()
) -> list[str]:
    problems: list[str] = []
    if len(plan.questions) < count:
        problems.append(f"write {count} questions, not {len(plan.questions)}")
    allowed = {r.strip().lower() for r in requirements}
    for index, question in enumerate(plan.questions):
        if question.requirement is not None and question.requirement.strip().lower() not in allowed:
            problems.append(
                f"questions[{index}].requirement must be one of the listed requirements or null"
            )
        if question.text.strip().lower() in asked:
            problems.append(f"questions[{index}] was asked recently; write a new one")
    if len({q.text.lower() for q in plan.questions}) < len(plan.questions):
        problems.append("the questions repeat")
    return problems


def _question_kind(kind: InterviewKind, given: str | None, index: int) -> InterviewKind:
    """A planned question's own kind: the interview's; in a mixed interview the one the
    model gave, or the kinds in turn when it gave none that exists."""
    if kind != "mixed":
        return kind
    for name in QUESTION_KINDS:
        if given is not None and given.strip().lower() == name:
            return name
    return QUESTION_KINDS[index % len(QUESTION_KINDS)]


async def llm_plan(chat: JsonChat, request: PlanRequest) -> list[PlannedQuestion]:
    """The model's questions; ``LlmParseError`` when it gave no valid plan twice."""
    kind, count, resume, job = request.kind, request.count, request.resume, request.job
    requirements = list(job.requirements) if job is not None else []
    background = summarize(
        resume.model_dump(mode="json") if resume is not None else None,
        job.model_dump(mode="json") if job is not None else None,
    )
    asked = list(dict.fromkeys(text for texts in request.recent for text in sorted(texts)))
    user = (
        f"Kind: {_KIND_BRIEFS[kind]}\nNumber of questions: {count}.\n"
        f"Requirements (copy exactly when a question probes one):\n"
        + "\n".join(f"- {r}" for r in requirements)
        + (
            "\n\nAsked recently (do not ask again):\n"
            + "\n".join(f"- {text}" for text in asked[:MAX_RECENT_SHOWN])
            if asked
            else ""
        )
        + f"\n\nBackground:\n{background}"
    )
    answer = await ask_validated(
        chat,
        system=SYSTEM_PROMPT,
        user=redact(user),
        model=_LlmPlan,
        schema_name="interview_plan",
        check=lambda plan: _check(
            plan, count, requirements, frozenset(t.strip().lower() for t in asked)
        ),
    )
    by_lower = {r.strip().lower(): r for r in requirements}
    source = f"llm:{chat.model}"
    planned: list[PlannedQuestion] = []
    for index, q in enumerate(answer.questions[:count]):
        requirement = by_lower.get(q.requirement.strip().lower()) if q.requirement else None
        planned.append(
            PlannedQuestion(
                q.text,
                q.competency,
                requirement=requirement,
                source=source,
                kind=_question_kind(kind, q.kind, index),
                tags=(q.competency,),
                requirement_type=requirement_type(requirement, job)
                if requirement
                else "competency",
            )
        )
    return planned


async def tailored_plan(
    request: PlanRequest, *, chat: JsonChat | None, timeout_s: float = PLAN_TIMEOUT_S
) -> Plan:
    """The LLM's plan when ``chat`` is given and answers validly within ``timeout_s``,
    else the offline one. Either avoids the questions of the ``recent`` interviews."""
    if chat is not None:
        try:
            async with asyncio.timeout(timeout_s):
                questions = await llm_plan(chat, request)
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
    return Plan(offline_plan(request), OFFLINE)
