"""Interviews: create, list, read with turns, delete, and tickets for the live socket."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, computed_field
from starlette.requests import Request

from pipeline.documents.types import JobData, ResumeData
from pipeline.kinds import KINDS
from pipeline.planner import PlanRequest, tailored_plan
from pipeline.questions import default_plan
from server.api import ApiRouter
from server.context import audit, client_ip, services, user_agent
from server.errors import ApiError
from server.routes.models import FromRecord, Strict
from server.routes.owned import owned, referenced
from storage._util import utcnow
from storage.audit import AuditRepository
from storage.interviews import InterviewRepository, words_to_json
from storage.tokens import TicketRepository
from storage.types import Interview, InterviewKind, User

router = ApiRouter(tags=["interviews"])

TICKET_TTL_S = 60
DEFAULT_VOICE = "default"
# A new interview asks none of the questions of the candidate's last this many
# interviews of its kind, while its bank has others.
NO_REPEAT_INTERVIEWS = 3


class DrillOf(Strict):
    interview_id: str = Field(max_length=64)
    question: int = Field(ge=0, le=50)  # the question's index in that interview's plan


class CreateInterview(Strict):
    type: InterviewKind
    # Practise one question of an earlier interview again: a one-question interview.
    drill_of: DrillOf | None = None
    resume_id: str | None = Field(default=None, max_length=64)
    job_id: str | None = Field(default=None, max_length=64)
    question_count: int = Field(default=5, ge=1, le=12)
    voice: str | None = Field(default=None, min_length=1, max_length=64)


class QuestionOut(FromRecord):
    text: str
    competency: str
    requirement: str | None = None  # the job requirement it probes
    source: str = "bank"  # "bank" | "offline" | "llm:<model>"
    # The kind whose rubric scores it (in a mixed interview, each its own); None for
    # questions planned before questions had one.
    kind: str | None = None
    tags: list[str] = []  # the skills it probes
    requirement_type: str | None = None  # skill | responsibility | qualification | competency


class TurnOut(FromRecord):
    turn: int
    question: str
    question_index: int | None
    interrupted: bool
    answer: str
    # As stored: {word, start, end, confidence}, times in seconds of the candidate's audio.
    words: Annotated[list[dict[str, Any]], BeforeValidator(words_to_json)]
    answer_audio_s: float
    metrics: dict[str, float]
    interviewer_source: str
    created_at: datetime


class InterviewOut(FromRecord):
    id: str
    type: str = Field(validation_alias="kind")
    status: str
    resume_id: str | None
    job_id: str | None
    question_count: int
    voice: str
    questions: list[QuestionOut]
    plan_source: str
    end_reason: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    # A drill: the interview whose question it practises again, and the question's index.
    drill_of: str | None = None
    drill_question: int | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def type_label(self) -> str:
        """The kind's name as people read it ("System design")."""
        known = KINDS.get(self.type)  # type: ignore[call-overload]
        return known.label if known is not None else self.type.replace("_", " ").capitalize()


class InterviewDetail(InterviewOut):
    turns: list[TurnOut]


class InterviewList(BaseModel):
    interviews: list[InterviewOut]


class DimensionOut(BaseModel):
    name: str
    label: str
    weight: float  # of the answer's overall score; the weights of a rubric sum to 1


class KindOut(BaseModel):
    name: str  # the ``type`` of ``POST /v1/interviews``
    label: str
    explanation: str  # one line, as the new-interview form shows it
    # What its answers are scored on; a role interview's come from its job's requirements
    # (these are used when it has none), a mixed one's from each question's own kind.
    dimensions: list[DimensionOut]


class KindList(BaseModel):
    kinds: list[KindOut]


class TicketOut(BaseModel):
    ticket: str
    url: str
    expires_in: int


def hash_ticket(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def owned_interview(request: Request, user: User, interview_id: str) -> Interview:
    return await owned(services(request).interviews.get, user, interview_id, "interview")


@router.get("/v1/interview-kinds", response=KindList)
async def list_kinds(request: Request, user: User) -> KindList:
    """The kinds of interview there are, each with its one-line explanation and rubric."""
    return KindList(
        kinds=[
            KindOut(
                name=kind.name,
                label=kind.label,
                explanation=kind.explanation,
                dimensions=[
                    DimensionOut(name=d.name, label=d.label, weight=d.weight)
                    for d in kind.dimensions
                ],
            )
            for kind in KINDS.values()
        ]
    )


@router.post(
    "/v1/interviews", body=CreateInterview, response=InterviewOut, status=201, errors=(404,)
)
async def create_interview(request: Request, user: User, body: CreateInterview) -> InterviewOut:
    """Plan a new mock interview, or with ``drill_of`` a drill of one earlier question."""
    svc = services(request)
    if body.drill_of is not None:
        return await _create_drill(request, user, body, body.drill_of)
    resume = await referenced(
        svc.resumes.get, user, body.resume_id, "resume", code="resume_not_found"
    )
    job = await referenced(
        svc.job_descriptions.get, user, body.job_id, "job description", code="job_not_found"
    )
    recent = await svc.interviews.recent_questions(
        user.id, body.type, interviews=NO_REPEAT_INTERVIEWS
    )
    if resume is None and job is None:
        questions, plan_source = default_plan(body.type, body.question_count, recent), "bank"
    else:
        # Tailored to what has been parsed so far (a pending document adds nothing yet).
        plan_request = PlanRequest(
            body.type,
            body.question_count,
            resume=ResumeData.model_validate(resume.parsed) if resume and resume.parsed else None,
            job=JobData.model_validate(job.parsed) if job and job.parsed else None,
            recent=recent,
        )
        plan = await tailored_plan(plan_request, chat=svc.coaching)
        questions, plan_source = plan.questions, plan.source
    interview = await svc.interviews.create(
        user_id=user.id,
        kind=body.type,
        questions=questions,
        voice=body.voice or DEFAULT_VOICE,
        plan_source=plan_source,
        resume_id=body.resume_id,
        job_id=body.job_id,
    )
    await audit(request, "interview.created", user_id=user.id, target_id=interview.id)
    # A local voice that is already loaded speaks the greeting (which names the candidate)
    # and the questions now, before the candidate joins: into this interview's memory,
    # never to disk (voices/phrase_cache.py).
    svc.providers.prepare_phrases(interview, user.first_name, only_if_loaded=True)
    return InterviewOut.of(interview)


async def _create_drill(
    request: Request, user: User, body: CreateInterview, drill: DrillOf
) -> InterviewOut:
    svc = services(request)
    earlier = await owned(
        svc.interviews.get, user, drill.interview_id, "interview", code="interview_not_found"
    )
    # Every attempt of a question is grouped under the interview it was first asked in.
    if earlier.drill_of is not None and earlier.drill_question is not None:
        if drill.question != 0:
            raise ApiError(422, "question_not_found", "A drill has one question: its index is 0.")
        first_id, index, question = earlier.drill_of, earlier.drill_question, earlier.questions[0]
    elif drill.question < len(earlier.questions):
        first_id, index, question = earlier.id, drill.question, earlier.questions[drill.question]
    else:
        raise ApiError(
            422,
            "question_not_found",
            f"That interview has {len(earlier.questions)} questions (indices from 0).",
        )
    if body.type not in (earlier.kind, question.kind):
        raise ApiError(
            422,
            "drill_type_mismatch",
            f"A drill keeps the kind of the interview it practises ({earlier.kind}).",
        )
    interview = await svc.interviews.create(
        user_id=user.id,
        kind=earlier.kind,
        questions=[question],
        voice=body.voice or earlier.voice,
        plan_source="drill",
        resume_id=earlier.resume_id,
        job_id=earlier.job_id,
        drill_of=first_id,
        drill_question=index,
    )
    await audit(request, "interview.created", user_id=user.id, target_id=interview.id)
    svc.providers.prepare_phrases(interview, user.first_name, only_if_loaded=True)
    return InterviewOut.of(interview)


@router.get("/v1/interviews", response=InterviewList)
async def list_interviews(request: Request, user: User) -> InterviewList:
    """The caller's interviews, newest first."""
    found = await services(request).interviews.list_for_user(user.id)
    return InterviewList(interviews=[InterviewOut.of(interview) for interview in found])


@router.get("/v1/interviews/{interview_id}", response=InterviewDetail, errors=(404,))
async def get_interview(request: Request, user: User, interview_id: str) -> InterviewDetail:
    """An interview with its status, questions and finalized turns."""
    interview = await owned_interview(request, user, interview_id)
    turns = await services(request).turns.list(interview.id)
    return InterviewDetail.of(interview, turns=turns)


@router.delete("/v1/interviews/{interview_id}", status=204, errors=(404,))
async def delete_interview(request: Request, user: User, interview_id: str) -> None:
    """Delete an interview with its turns, tickets and feedback; quizzes made from it stay,
    no longer linked to it. Allowed while it is live: what its session still sends is
    not stored."""
    svc = services(request)
    async with svc.db.transaction() as tx:
        if not await InterviewRepository(tx, svc.cipher).delete(user.id, interview_id):
            raise ApiError(404, "not_found", "No such interview.")
        # One transaction: the erasure and the record of it stand or fall together.
        await AuditRepository(tx).record(
            "interview.deleted",
            user_id=user.id,
            target_id=interview_id,
            ip=client_ip(request),
            user_agent=user_agent(request),
        )
    # What this process holds of it goes too: its live session and its speech in memory.
    svc.live_sessions.forget(interview_id)
    svc.providers.forget_interview(interview_id)


@router.post(
    "/v1/interviews/{interview_id}/ticket", response=TicketOut, status=201, errors=(404, 409)
)
async def create_ticket(request: Request, user: User, interview_id: str) -> TicketOut:
    """A single-use ticket (valid 60 s) to open the interview's live WebSocket."""
    svc = services(request)
    interview = await owned_interview(request, user, interview_id)
    if interview.status not in ("created", "live"):
        raise ApiError(409, "interview_ended", f"This interview is {interview.status}.")
    ticket = secrets.token_urlsafe(32)
    await TicketRepository(svc.db).add(
        ticket_hash=hash_ticket(ticket),
        user_id=user.id,
        interview_id=interview.id,
        expires_at=utcnow() + timedelta(seconds=TICKET_TTL_S),
    )
    base = svc.settings.public_url.rstrip("/")
    ws_base = "wss://" + base[8:] if base.startswith("https://") else "ws://" + base[7:]
    return TicketOut(
        ticket=ticket,
        url=f"{ws_base}/v1/interviews/{interview.id}/live?ticket={ticket}",
        expires_in=TICKET_TTL_S,
    )
