"""What an interviewer is given for each reply, and the interface every interviewer has."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Literal, Protocol

from storage.types import InterviewKind, PlannedQuestion

Action = Literal["greet", "follow_up", "next_question", "close", "resume"]
# The hint of a ``next_question`` that asks the current question again: the candidate
# spoke over the greeting or acknowledgement before it and never heard it.
ASKED_AGAIN = "asked_again"


@dataclass(frozen=True, slots=True)
class Message:
    """One utterance of the conversation so far: only words actually spoken."""

    role: Literal["interviewer", "candidate"]
    text: str


@dataclass(frozen=True, slots=True)
class Instruction:
    """What the next reply must do; the session decides, the interviewer phrases it.

    ``question`` is the planned question to ask (for greet, next_question and resume);
    ``hint`` says what a follow-up should draw out (e.g. "a concrete example"), or, as
    ``ASKED_AGAIN`` on a next_question, that the question is asked once more.
    """

    action: Action
    question: PlannedQuestion | None = None
    hint: str | None = None
    question_number: int | None = None  # 1-based position of ``question`` in the plan


@dataclass(frozen=True, slots=True)
class InterviewContext:
    kind: InterviewKind
    candidate_first_name: str | None
    background: str  # summary of resume and job description, identifiers removed
    plan: tuple[PlannedQuestion, ...]
    history: tuple[Message, ...]
    instruction: Instruction


class InterviewerError(Exception):
    """The interviewer could not answer (provider error, timeout, refusal)."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source


class Interviewer(Protocol):
    """Produces the interviewer's next reply as a stream of text deltas."""

    name: str  # e.g. "openai:gpt-4o-mini", "groq:llama-3.3-70b-versatile", "offline"

    @property
    def source(self) -> str:
        """Who phrased the latest reply, as stored with its turn: ``name``, or for an
        interviewer that hands replies on (a fallback chain) the one that answered."""
        ...

    def respond(self, context: InterviewContext) -> AsyncIterator[str]:
        """Text deltas of the reply. Raises ``InterviewerError`` on failure."""
        ...

    async def warm(self) -> None:
        """Be ready to reply without a connection handshake (nothing for a local one);
        never raises. Called at the start of an interview and while the candidate speaks."""
        ...
