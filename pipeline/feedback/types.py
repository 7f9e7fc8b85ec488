"""What feedback holds: rubric scores with their evidence, suggestions, coverage, delivery.

The same models validate an LLM's answer and what the heuristic scorer produces, and are
what is stored (encrypted) and served.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Criterion = Literal["relevance", "structure", "specificity", "communication"]
CRITERIA: Final[tuple[Criterion, ...]] = ("relevance", "structure", "specificity", "communication")
CRITERION_LABELS: Final[dict[str, str]] = {
    "relevance": "Relevance",
    "structure": "Structure (STAR)",
    "specificity": "Specificity and impact",
    "communication": "Communication",
}
Coverage = Literal["covered", "partly", "missing"]

PROMPT_VERSION: Final = "feedback-1"
HEURISTIC_VERSION: Final = "heuristic-1"

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
Quote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CriterionScore(_Model):
    criterion: Criterion
    score: int = Field(ge=1, le=5)
    quotes: list[Quote] = Field(max_length=4)  # words of the answer the score rests on
    reason: ShortText


class AnswerFeedback(_Model):
    turn: int
    scores: list[CriterionScore]
    suggestions: list[ShortText] = Field(max_length=6)
    stronger_answer_outline: list[ShortText] = Field(max_length=8)


class RequirementCoverage(_Model):
    requirement: ShortText
    status: Coverage
    quote: Quote | None
    turn: int | None


class ScoredInterview(_Model):
    """The judged part of feedback: what an LLM is asked for, or the heuristic computes."""

    answers: list[AnswerFeedback]
    coverage: list[RequirementCoverage]
    suggestions: list[ShortText] = Field(max_length=8)


@dataclass(frozen=True, slots=True)
class AnswerInput:
    """One answer to score, and the question it answered."""

    turn: int
    question: str
    answer: str
    words: list[dict[str, Any]] = field(default_factory=list)
    competency: str | None = None
    requirement: str | None = None
    question_end_s: float | None = None
    reply_latency_s: float | None = None
    question_audio_s: float | None = None


@dataclass(frozen=True, slots=True)
class JobContext:
    title: str | None = None
    requirements: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    responsibilities: tuple[str, ...] = ()


_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    """Text as quotes are compared: lower case, one space, straight apostrophes."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    return _SPACE.sub(" ", text.replace("\u201d", '"').lower()).strip()


def quote_occurs(quote: str, text: str) -> bool:
    """Whether ``quote`` occurs verbatim in ``text``, ignoring case and whitespace."""
    wanted = normalised(quote).strip(" .,;:!?\"'")
    return bool(wanted) and wanted in normalised(text)


def averages(answers: list[AnswerFeedback]) -> dict[str, float]:
    """Mean score per criterion over the answers (criteria nobody scored left out)."""
    totals: dict[str, list[int]] = {}
    for answer in answers:
        for score in answer.scores:
            totals.setdefault(score.criterion, []).append(score.score)
    return {name: round(sum(v) / len(v), 2) for name, v in totals.items() if v}
