"""Scoring interviews on the durable queue, and the chat model coaching features use.

When an interview ends (or a re-score is asked for), its feedback row becomes ``pending``
with a new generation and a ``feedback.score`` job is queued for that generation. The
handler claims it (``scoring``), scores the stored turns, and stores the result
(``ready``) or a failure code (``failed``). Delivery is at least once: a generation that
is finished, or superseded by a newer request, is left alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Final

from pipeline.documents.types import JobData, ResumeData
from pipeline.feedback.scoring import score_interview
from pipeline.feedback.types import AnswerInput, JobContext, Position, ResumeFacts
from pipeline.kinds import question_kind, rubric_for
from server.jobs.turns import JOB_KIND as TURN_JOB_KIND
from server.jobs.turns import METRICS_JOB_KIND as TURN_METRICS_JOB_KIND
from server.services import Services
from storage.feedback import FeedbackRepository
from storage.queue import Handler, Job
from storage.types import Feedback, Interview, InterviewTurn

log = logging.getLogger("intrvuer.feedback")

FEEDBACK_SCORE: Final = "feedback.score"
SCORING_FAILED: Final = "scoring_failed"
# How long scoring waits for the interview's turns still on the queue (another worker is
# writing them): scored without them, a late turn would have it scored again.
QUEUED_TURNS_WAIT_S: Final = 5.0


def feedback_repository(svc: Services) -> FeedbackRepository:
    return FeedbackRepository(svc.db, svc.cipher)


async def request_feedback(svc: Services, *, user_id: str, interview_id: str) -> Feedback:
    """Mark the interview's feedback pending (a new generation) and queue its scoring."""
    feedback = await feedback_repository(svc).request(user_id=user_id, interview_id=interview_id)
    await svc.queue.enqueue(
        FEEDBACK_SCORE,
        {"interview_id": interview_id, "generation": feedback.generation},
        idempotency_key=f"{FEEDBACK_SCORE}:{interview_id}:{feedback.generation}",
        user_id=user_id,
    )
    return feedback


def answers_of(
    interview: Interview, turns: list[InterviewTurn], job: JobData | None = None
) -> list[AnswerInput]:
    """The answered turns, with the planned question's competency, requirement, kind and
    the rubric it is scored on (a role rubric from ``job``).

    A turn's ``metrics`` are those of the interviewer's reply to it, so the latency
    before a question is the previous turn's ``voice_to_voice_ms``."""
    answers: list[AnswerInput] = []
    previous: InterviewTurn | None = None
    asked: set[int] = set()
    for turn in turns:
        index = turn.question_index
        in_plan = index is not None and 0 <= index < len(interview.questions)
        planned = interview.questions[index] if in_plan and index is not None else None
        latency_ms = previous.metrics.get("voice_to_voice_ms") if previous is not None else None
        previous = turn
        # The first turn of a planned question answers that question (its stored words
        # may begin with the greeting or an acknowledgement); later ones, follow-ups.
        first = planned is not None and index not in asked
        if index is not None:
            asked.add(index)
        if not turn.answer.strip():
            continue
        # A turn outside the plan (the greeting, a closing) is judged as the interview's
        # kind; in a mixed interview, as the first rubric of the mix.
        kind = (
            question_kind(interview.kind, planned)
            if planned is not None
            else (interview.kind if interview.kind != "mixed" else "behavioral")
        )
        answers.append(
            AnswerInput(
                turn=turn.turn,
                question=planned.text if first and planned is not None else turn.question,
                answer=turn.answer,
                words=turn.words,
                competency=planned.competency if planned else None,
                requirement=planned.requirement if planned else None,
                reply_latency_s=latency_ms / 1000 if latency_ms is not None else None,
                question_end_s=turn.question_end_s,
                question_audio_s=turn.question_audio_s,
                kind=kind,
                rubric=rubric_for(kind, job, planned),
            )
        )
    return answers


def job_data(parsed: dict[str, object] | None) -> JobData | None:
    return JobData.model_validate(parsed) if parsed else None


def job_context(job: JobData | None) -> JobContext:
    if job is None:
        return JobContext()
    return JobContext(
        title=job.title,
        requirements=tuple(job.requirements),
        skills=tuple(job.skills),
        responsibilities=tuple(job.responsibilities),
    )


def resume_facts(parsed: dict[str, object] | None) -> ResumeFacts:
    """The positions, achievements and skills of a parsed resume: what a stronger
    answer's example may be built from."""
    if not parsed:
        return ResumeFacts()
    resume = ResumeData.model_validate(parsed)
    return ResumeFacts(
        positions=tuple(
            Position(
                title=p.title,
                company=p.company,
                start=p.start,
                end=p.end,
                highlights=tuple(p.highlights),
            )
            for p in resume.experience
        ),
        achievements=tuple(resume.achievements),
        skills=tuple(resume.skills),
    )


async def _turns_written(svc: Services, user_id: str, interview_id: str) -> None:
    """Wait (``QUEUED_TURNS_WAIT_S`` at most) until no turn of the interview (nor the
    metrics of a reply) is still on the queue: its last answers may be a job behind its
    conclusion."""
    deadline = time.monotonic() + QUEUED_TURNS_WAIT_S
    while time.monotonic() < deadline:
        queued = [
            payload
            for kind in (TURN_JOB_KIND, TURN_METRICS_JOB_KIND)
            for payload in await svc.sealed_queue.unfinished(kind, user_id)
        ]
        if not any(payload.get("interview_id") == interview_id for payload in queued):
            return
        await asyncio.sleep(0.1)
    log.warning("scoring without turns still queued", extra={"interview_id": interview_id})


def handlers(svc: Services) -> dict[str, Handler]:
    async def score(job: Job) -> None:
        user_id = job.user_id
        interview_id = str(job.payload.get("interview_id", ""))
        generation = int(job.payload.get("generation", 0))
        if user_id is None or not interview_id:
            log.error("feedback job without an owner or an interview", extra={"job_id": job.id})
            return
        repository = feedback_repository(svc)
        await _turns_written(svc, user_id, interview_id)
        if not await repository.claim(user_id, interview_id, generation):
            return  # finished by an earlier delivery, or superseded by a re-score
        interview = await svc.interviews.get(user_id, interview_id)
        if interview is None:
            return  # deleted since; its feedback went with it
        try:
            turns = await svc.turns.list(interview.id)
            stored_job = (
                await svc.job_descriptions.get(user_id, interview.job_id)
                if interview.job_id
                else None
            )
            stored_resume = (
                await svc.resumes.get(user_id, interview.resume_id) if interview.resume_id else None
            )
            parsed_job = job_data(stored_job.parsed if stored_job else None)
            result = await score_interview(
                answers_of(interview, turns, parsed_job),
                job_context(parsed_job),
                svc.coaching,
                resume_facts(stored_resume.parsed if stored_resume else None),
            )
        except Exception as error:
            # A bug, not a passing fault: the same turns would fail the same way. No
            # content in the log, only what failed.
            log.error(
                "feedback scoring raised",
                extra={
                    "interview_id": interview_id,
                    "job_id": job.id,
                    "error_type": type(error).__name__,
                },
            )
            await repository.mark_failed(user_id, interview_id, generation, SCORING_FAILED)
            return
        await repository.save(
            user_id,
            interview_id,
            generation,
            source=result.source,
            model=result.model,
            prompt_version=result.prompt_version,
            summary=result.summary,
            body=result.body,
        )

    return {FEEDBACK_SCORE: score}
