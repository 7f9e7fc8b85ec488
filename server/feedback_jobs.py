"""Scoring interviews on the durable queue, and the chat model coaching features use.

When an interview ends (or a re-score is asked for), its feedback row becomes ``pending``
with a new generation and a ``feedback.score`` job is queued for that generation. The
handler claims it (``scoring``), scores the stored turns, and stores the result
(``ready``) or a failure code (``failed``). Delivery is at least once: a generation that
is finished, or superseded by a newer request, is left alone.
"""

from __future__ import annotations

import logging
from typing import Final

from pipeline.documents.types import JobData
from pipeline.feedback.scoring import score_interview
from pipeline.feedback.types import AnswerInput, JobContext
from server.services import Services
from storage.feedback import FeedbackRepository
from storage.queue import Handler, Job
from storage.types import Feedback, Interview, InterviewTurn

log = logging.getLogger("intrvuer.feedback")

FEEDBACK_SCORE: Final = "feedback.score"
SCORING_FAILED: Final = "scoring_failed"


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


def answers_of(interview: Interview, turns: list[InterviewTurn]) -> list[AnswerInput]:
    """The answered turns, with the planned question's competency and requirement.

    A turn's ``metrics`` are those of the interviewer's reply to it, so the latency
    before a question is the previous turn's ``voice_to_voice_ms``."""
    answers: list[AnswerInput] = []
    previous: InterviewTurn | None = None
    for turn in turns:
        index = turn.question_index
        in_plan = index is not None and 0 <= index < len(interview.questions)
        planned = interview.questions[index] if in_plan and index is not None else None
        latency_ms = previous.metrics.get("voice_to_voice_ms") if previous is not None else None
        previous = turn
        if not turn.answer.strip():
            continue
        answers.append(
            AnswerInput(
                turn=turn.turn,
                question=turn.question,
                answer=turn.answer,
                words=turn.words,
                competency=planned.competency if planned else None,
                requirement=planned.requirement if planned else None,
                reply_latency_s=latency_ms / 1000 if latency_ms is not None else None,
                question_end_s=turn.question_end_s,
                question_audio_s=turn.question_audio_s,
            )
        )
    return answers


def job_context(parsed: dict[str, object] | None) -> JobContext:
    if not parsed:
        return JobContext()
    job = JobData.model_validate(parsed)
    return JobContext(
        title=job.title,
        requirements=tuple(job.requirements),
        skills=tuple(job.skills),
        responsibilities=tuple(job.responsibilities),
    )


def handlers(svc: Services) -> dict[str, Handler]:
    async def score(job: Job) -> None:
        user_id = job.user_id
        interview_id = str(job.payload.get("interview_id", ""))
        generation = int(job.payload.get("generation", 0))
        if user_id is None or not interview_id:
            log.error("feedback job without an owner or an interview", extra={"job_id": job.id})
            return
        repository = feedback_repository(svc)
        if not await repository.claim(user_id, interview_id, generation):
            return  # finished by an earlier delivery, or superseded by a re-score
        interview = await svc.interviews.get(user_id, interview_id)
        if interview is None:
            return  # deleted since; its feedback went with it
        try:
            turns = await svc.turns.list(interview.id)
            parsed_job = (
                await svc.job_descriptions.get(user_id, interview.job_id)
                if interview.job_id
                else None
            )
            result = await score_interview(
                answers_of(interview, turns),
                job_context(parsed_job.parsed if parsed_job else None),
                svc.coaching,
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
