"""Records the tests build: a finalized interview turn as the live session hands it over."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.types import InterviewTurn


def a_turn(
    interview_id: str, number: int = 1, answer: str = "I owned the weekly release train."
) -> InterviewTurn:
    """Turn ``number`` of ``interview_id``, answered with ``answer`` just now."""
    return InterviewTurn(
        interview_id=interview_id,
        turn=number,
        question="Tell me about a release you owned.",
        question_index=0,
        interrupted=False,
        answer=answer,
        words=(),
        answer_audio_s=2.0,
        metrics={},
        interviewer_source="offline",
        created_at=datetime.now(UTC),
    )
