"""Feedback on an interview: read it, and ask for a re-score.

Scoring runs on the durable queue (``server/jobs/feedback.py``): a finished interview's
feedback is ``pending`` at first, ``ready`` when scored, ``failed`` if scoring broke.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request

from server.api import ApiRouter
from server.context import audit, services
from server.errors import ApiError
from server.jobs.feedback import feedback_repository, request_feedback
from server.routes.interviews import owned_interview
from server.routes.models import FromRecord
from storage.types import Feedback, User

router = ApiRouter(tags=["feedback"])


class FeedbackOut(FromRecord):
    interview_id: str
    status: Literal["none", "pending", "scoring", "ready", "failed"]
    error: str | None = Field(validation_alias="error_code")
    generation: int
    source: str | None  # "heuristic" | "llm:<model>"
    model: str | None
    prompt_version: str | None
    updated_at: datetime | None
    # once ready: each answer on its kind's rubric (scores with quotes, labels and weights,
    # a weighted overall), a stronger answer, suggestions, outlines, coverage and delivery
    feedback: dict[str, Any] | None = Field(validation_alias="body")

    @classmethod
    def of_interview(cls, interview_id: str, feedback: Feedback | None) -> FeedbackOut:
        if feedback is not None:
            return cls.of(feedback)
        return cls(
            interview_id=interview_id,
            status="none",
            error=None,
            generation=0,
            source=None,
            model=None,
            prompt_version=None,
            updated_at=None,
            feedback=None,
        )


@router.get("/v1/interviews/{interview_id}/feedback", response=FeedbackOut, errors=(404,))
async def get_feedback(request: Request, user: User, interview_id: str) -> FeedbackOut:
    """The interview's feedback and its status (``none`` until the interview ends)."""
    interview = await owned_interview(request, user, interview_id)
    found = await feedback_repository(services(request)).get(user.id, interview.id)
    return FeedbackOut.of_interview(interview.id, found)


@router.post(
    "/v1/interviews/{interview_id}/rescore",
    response=FeedbackOut,
    status=202,
    errors=(404, 409),
)
async def rescore(request: Request, user: User, interview_id: str) -> FeedbackOut:
    """Score the interview again (for instance with an LLM configured since)."""
    svc = services(request)
    interview = await owned_interview(request, user, interview_id)
    if not await svc.turns.list(interview.id):
        raise ApiError(409, "no_answers", "This interview has no answers to score yet.")
    feedback = await request_feedback(svc, user_id=user.id, interview_id=interview.id)
    await audit(request, "interview.rescored", user_id=user.id, target_id=interview.id)
    return FeedbackOut.of_interview(interview.id, feedback)
