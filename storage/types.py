"""Records returned by the repositories, and the row type the backends hand back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Row = Mapping[str, Any]
Record = TypeVar("Record", bound="DataclassInstance")


def from_row(record_type: type[Record], row: Row, **converted: Any) -> Record:
    """A record from the row's columns of the same names as its fields, but for the
    ``converted`` ones (decrypted, decoded, or of a type the backends differ on)."""
    values = {f.name: row[f.name] for f in fields(record_type) if f.name not in converted}
    return record_type(**values, **converted)


# The kinds of interview. Each has one definition in pipeline/kinds.py (its rubric,
# question bank, follow-ups and the interviewer's prompt lines): a new kind is one entry there.
InterviewKind = Literal["behavioral", "technical", "system_design", "role", "mixed"]


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

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    @property
    def age_confirmed(self) -> bool:
        """Accounts made by Google, GitHub or Supabase confirm their age after signing in."""
        return self.age_confirmed_at is not None


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


# What part of a job a question probes: a skill or tool, a duty of the role, a
# qualification (a licence, a certification), or a general competency.
RequirementType = Literal["skill", "responsibility", "qualification", "competency"]


@dataclass(frozen=True, slots=True)
class PlannedQuestion:
    """A question of an interview's plan. ``requirement``: the job requirement it probes,
    when tailored to a job; ``source``: "bank", "offline" or "llm:<model>"; ``kind``: the
    kind whose rubric scores it (a mixed interview's questions differ), None in plans
    stored before questions had one; ``tags``: the skills it probes."""

    text: str
    competency: str
    requirement: str | None = None
    source: str = "bank"
    kind: InterviewKind | None = None
    tags: tuple[str, ...] = ()
    requirement_type: RequirementType | None = None

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> PlannedQuestion:
        """A question as stored: plans of any age load (fields added later take their
        defaults; fields this version does not know are left out)."""
        known = {f.name for f in fields(cls)}
        values = {key: value for key, value in item.items() if key in known}
        if "tags" in values:
            values["tags"] = tuple(str(tag) for tag in values["tags"] or ())
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Interview:
    id: str
    user_id: str
    kind: InterviewKind
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
    # A drill practises question ``drill_question`` of interview ``drill_of`` again.
    drill_of: str | None = None
    drill_question: int | None = None


@dataclass(frozen=True, slots=True)
class TurnWord:
    """A word of an answer as the recogniser timed it (as spoken, with punctuation when
    the provider adds it), on the candidate's audio clock (seconds since the stream
    started); ``voices.types.WordTiming`` as a turn keeps it."""

    word: str
    start_s: float
    end_s: float
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class InterviewTurn:
    """One finalized exchange: what the interviewer actually said, and the answer."""

    interview_id: str
    turn: int
    question: str
    question_index: int | None
    interrupted: bool
    answer: str
    words: tuple[TurnWord, ...]
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

    @property
    def archived(self) -> bool:
        return self.archived_at is not None


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

    @property
    def question_count(self) -> int:
        return len(self.questions)


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
