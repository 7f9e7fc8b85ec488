"""Interviews: create, list, read with turns, delete, and tickets for the live socket."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request

from pipeline.documents.types import JobData, ResumeData
from pipeline.planner import tailored_plan
from pipeline.questions import default_plan
from server.api import ApiRouter
from server.context import audit, client_ip, services, user_agent
from server.errors import ApiError
from server.routes.models import Strict
from storage._util import utcnow
from storage.audit import AuditRepository
from storage.interviews import InterviewRepository, TicketRepository
from storage.types import Interview, InterviewTurn, User

router = ApiRouter(tags=["interviews"])

TICKET_TTL_S = 60
DEFAULT_VOICE = "default"


class CreateInterview(Strict):
    type: Literal["behavioral", "technical", "mixed"]
    resume_id: str | None = Field(default=None, max_length=64)
    job_id: str | None = Field(default=None, max_length=64)
    question_count: int = Field(default=5, ge=1, le=12)
    voice: str | None = Field(default=None, min_length=1, max_length=64)


class QuestionOut(BaseModel):
    text: str
    competency: str
    requirement: str | None = None  # the job requirement it probes
    source: str = "bank"  # "bank" | "offline" | "llm:<model>"


class TurnOut(BaseModel):
    turn: int
    question: str
    question_index: int | None
    interrupted: bool
    answer: str
    words: list[dict[str, Any]]
    answer_audio_s: float
    metrics: dict[str, float]
    interviewer_source: str
    created_at: datetime

    @classmethod
    def of(cls, turn: InterviewTurn) -> TurnOut:
        return cls(
            turn=turn.turn,
            question=turn.question,
            question_index=turn.question_index,
            interrupted=turn.interrupted,
            answer=turn.answer,
            words=turn.words,
            answer_audio_s=turn.answer_audio_s,
            metrics=turn.metrics,
            interviewer_source=turn.interviewer_source,
            created_at=turn.created_at,
        )


class InterviewOut(BaseModel):
    id: str
    type: str
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

    @classmethod
    def of(cls, interview: Interview) -> InterviewOut:
        return cls(
            id=interview.id,
            type=interview.kind,
            status=interview.status,
            resume_id=interview.resume_id,
            job_id=interview.job_id,
            question_count=interview.question_count,
            voice=interview.voice,
            questions=[
                QuestionOut(
                    text=q.text, competency=q.competency, requirement=q.requirement, source=q.source
                )
                for q in interview.questions
            ],
            plan_source=interview.plan_source,
            end_reason=interview.end_reason,
            created_at=interview.created_at,
            started_at=interview.started_at,
            ended_at=interview.ended_at,
        )


class InterviewDetail(InterviewOut):
    turns: list[TurnOut]


class InterviewList(BaseModel):
    interviews: list[InterviewOut]


class TicketOut(BaseModel):
    ticket: str
    url: str
    expires_in: int


def hash_ticket(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


async def owned_interview(request: Request, user: User, interview_id: str) -> Interview:
    interview = await services(request).interviews.get(user.id, interview_id)
    if interview is None:
        # The same answer for "missing" and "someone else's": ids reveal nothing.
        raise ApiError(404, "not_found", "No such interview.")
    return interview


@router.post(
    "/v1/interviews", body=CreateInterview, response=InterviewOut, status=201, errors=(404,)
)
async def create_interview(request: Request, user: User, body: CreateInterview) -> InterviewOut:
    """Plan a new mock interview."""
    svc = services(request)
    resume = await svc.resumes.get(user.id, body.resume_id) if body.resume_id else None
    if body.resume_id is not None and resume is None:
        raise ApiError(404, "resume_not_found", "No such resume.")
    job = await svc.job_descriptions.get(user.id, body.job_id) if body.job_id else None
    if body.job_id is not None and job is None:
        raise ApiError(404, "job_not_found", "No such job description.")
    if resume is None and job is None:
        questions, plan_source = default_plan(body.type, body.question_count), "bank"
    else:
        # Tailored to what has been parsed so far (a pending document adds nothing yet).
        plan = await tailored_plan(
            body.type,
            body.question_count,
            resume=ResumeData.model_validate(resume.parsed) if resume and resume.parsed else None,
            job=JobData.model_validate(job.parsed) if job and job.parsed else None,
            chat=svc.coaching,
        )
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
    return InterviewDetail(
        **InterviewOut.of(interview).model_dump(), turns=[TurnOut.of(t) for t in turns]
    )


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
