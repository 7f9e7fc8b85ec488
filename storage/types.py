"""Records returned by the repositories, and the row type the backends hand back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    email_verified: bool
    name: str
    password_hash: str | None
    preferences: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    last_login_at: datetime | None = None
    age_confirmed_at: datetime | None = None

    @property
    def first_name(self) -> str | None:
        """The first word of ``name``, as the interviewer greets the candidate."""
        return next(iter(self.name.split()), None)


@dataclass(frozen=True, slots=True)
class RefreshToken:
    id: str
    user_id: str
    family_id: str
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    revoked_at: datetime | None
    # When the family's sign-in happened; None for families older than the column.
    auth_time: datetime | None = None
    # Where the request that got this token came from (migration 0007).
    user_agent: str | None = None
    ip_prefix: str | None = None


@dataclass(frozen=True, slots=True)
class SignInSession:
    """One sign-in that is still alive: a refresh-token family and its newest token."""

    id: str  # the family id
    started_at: datetime  # when the person signed in
    last_used_at: datetime  # when its newest token was issued (the latest refresh)
    user_agent: str | None
    ip_prefix: str | None  # the network the last refresh came from (/24, /48)


@dataclass(frozen=True, slots=True)
class EmailToken:
    """A single-use link sent by e-mail (``storage.email_tokens``), without its secret."""

    purpose: str  # verify_email | password_reset | email_change
    user_id: str
    email: str  # the address it was sent to; for an e-mail change, the new address
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    user_id: str | None
    action: str
    target_id: str | None
    ip: str | None
    user_agent: str | None
    created_at: datetime
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class OAuthState:
    state: str
    provider: str
    code_verifier: str
    redirect_to: str
    created_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class PlannedQuestion:
    """A question of an interview's plan. ``requirement``: the job requirement it probes,
    when tailored to a job; ``source``: "bank", "offline" or "llm:<model>"."""

    text: str
    competency: str
    requirement: str | None = None
    source: str = "bank"


@dataclass(frozen=True, slots=True)
class Interview:
    id: str
    user_id: str
    kind: str  # behavioral | technical | mixed
    status: str  # created | live | completed | abandoned
    resume_id: str | None
    job_id: str | None
    question_count: int
    voice: str
    questions: tuple[PlannedQuestion, ...]
    plan_source: str
    end_reason: str | None
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    last_activity_at: datetime | None


@dataclass(frozen=True, slots=True)
class InterviewTurn:
    """One finalized exchange: what the interviewer actually said, and the answer."""

    interview_id: str
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
    # Where the question ended in the candidate's audio (seconds since the stream
    # started), and how long its audio played: timing for delivery metrics.
    question_end_s: float | None = None
    question_audio_s: float | None = None


@dataclass(frozen=True, slots=True)
class Resume:
    """An uploaded resume, without its file and text (``ResumeRepository`` reads those
    apart). ``status``: pending | parsing | ready | failed."""

    id: str
    user_id: str
    filename: str
    content_type: str
    size: int
    sha256: str
    status: str
    error_code: str | None
    parsed: dict[str, Any] | None
    parser: str | None  # "heuristic" | "llm:<model>"
    parser_version: int | None
    archived_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class StoredFile:
    """The original bytes of an upload, as it came."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True, slots=True)
class JobDescription:
    """A pasted job description and its parse. ``status`` as for ``Resume``."""

    id: str
    user_id: str
    text: str
    status: str
    error_code: str | None
    parsed: dict[str, Any] | None
    parser: str | None
    parser_version: int | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Feedback:
    """The feedback on one interview. ``status``: pending | scoring | ready | failed;
    ``summary`` holds only numbers (scores, delivery) and ``body`` the full, decrypted
    feedback once ready. ``generation`` counts re-scores."""

    interview_id: str
    user_id: str
    status: str
    generation: int
    source: str | None  # "heuristic" | "llm:<model>"
    model: str | None
    prompt_version: str | None
    summary: dict[str, Any]
    body: dict[str, Any] | None
    error_code: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Quiz:
    """Generated quiz questions, with their answers (``questions`` is decrypted)."""

    id: str
    user_id: str
    job_id: str | None
    resume_id: str | None
    interview_id: str | None
    source: str  # "offline" | "llm:<model>"
    questions: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QuizAttempt:
    """One graded set of answers to a quiz (``answers`` and ``results`` are decrypted)."""

    id: str
    quiz_id: str
    user_id: str
    grader: str  # "exact+heuristic" | "exact+llm:<model>"
    score: float  # 0..1
    answers: list[dict[str, Any]]
    results: list[dict[str, Any]]
    created_at: datetime
