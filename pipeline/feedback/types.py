"""What feedback holds: rubric scores with their evidence, suggestions, a stronger answer,
coverage, delivery.

The same models validate an LLM's answer and what the heuristic scorer produces, and are
what is stored (encrypted) and served. A score names the rubric dimension it judges (its
``criterion``): the dimensions of the answer's interview kind (``pipeline/kinds.py``).
Feedback stored before rubrics had kinds names the four criteria of ``LEGACY_LABELS``;
it loads and renders as it was.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pipeline.kinds import Dimension, rubric_for
from storage.types import InterviewKind, TurnWord

# The one rubric of every answer before kinds had their own (prompt feedback-1,
# heuristic-1): kept so that feedback stored then is still labelled when shown.
LEGACY_LABELS: Final[dict[str, str]] = {
    "relevance": "Relevance",
    "structure": "Structure (STAR)",
    "specificity": "Specificity and impact",
    "communication": "Communication",
}
Coverage = Literal["covered", "partly", "missing"]

PROMPT_VERSION: Final = "feedback-2"
HEURISTIC_VERSION: Final = "heuristic-2"

ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
Quote = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=400)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore")


class CriterionScore(_Model):
    criterion: str  # the rubric dimension's name
    score: int = Field(ge=1, le=5)
    quotes: list[Quote] = Field(max_length=4)  # words of the answer the score rests on
    reason: ShortText


class StrongerAnswer(_Model):
    """What "a stronger answer would…" do: the dimensions it would add to, in the kind's
    terms, and one example built from the candidate's own resume (or answer)."""

    missing: list[str] = Field(max_length=5)  # dimension names, weakest first
    advice: ShortText  # "A stronger answer would …"
    example: ShortText | None  # the facts in it are the candidate's own (grounding.py)


class AnswerFeedback(_Model):
    turn: int
    scores: list[CriterionScore]
    suggestions: list[ShortText] = Field(max_length=6)
    stronger_answer_outline: list[ShortText] = Field(max_length=8)
    # None from a model that gave none: the offline one is put in its place.
    stronger_answer: StrongerAnswer | None = None


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
    words: tuple[TurnWord, ...] = ()
    competency: str | None = None
    requirement: str | None = None
    question_end_s: float | None = None
    reply_latency_s: float | None = None
    question_audio_s: float | None = None
    # The kind of the question (a mixed interview's differ) and the rubric it is scored
    # on; without a rubric, the kind's own (``rubric_of``).
    kind: InterviewKind = "behavioral"
    rubric: tuple[Dimension, ...] = ()


def rubric_of(item: AnswerInput) -> tuple[Dimension, ...]:
    """The dimensions ``item`` is scored on."""
    return item.rubric or rubric_for(item.kind)


@dataclass(frozen=True, slots=True)
class JobContext:
    title: str | None = None
    requirements: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    responsibilities: tuple[str, ...] = ()


NO_JOB: Final = JobContext()


@dataclass(frozen=True, slots=True)
class Position:
    """A position of the candidate's parsed resume."""

    title: str | None
    company: str | None
    start: str | None = None
    end: str | None = None
    highlights: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ResumeFacts:
    """What the candidate's resume says they did: the only facts a stronger answer's
    example may be built from (most recent position first)."""

    positions: tuple[Position, ...] = ()
    achievements: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()

    def texts(self) -> list[str]:
        """Every fact as text, for the grounding check."""
        found: list[str] = []
        for position in self.positions:
            found.extend(
                part
                for part in (position.title, position.company, position.start, position.end)
                if part
            )
            found.extend(position.highlights)
        return [*found, *self.achievements, *self.skills]


NO_RESUME: Final = ResumeFacts()


_SPACE = re.compile(r"\s+")


def normalised(text: str) -> str:
    """Text as quotes are compared: lower case, one space, straight apostrophes."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    return _SPACE.sub(" ", text.replace("\u201d", '"').lower()).strip()


def quote_occurs(quote: str, text: str) -> bool:
    """Whether ``quote`` occurs verbatim in ``text``, ignoring case and whitespace."""
    wanted = normalised(quote).strip(" .,;:!?\"'")
    return bool(wanted) and wanted in normalised(text)


def weighted(scores: list[CriterionScore], rubric: tuple[Dimension, ...]) -> float | None:
    """The answer's overall score: its scores weighted by their dimensions' weights (a
    dimension the rubric does not weigh counts as much as the mean weight)."""
    if not scores:
        return None
    weights = {d.name: d.weight for d in rubric}
    fallback = sum(weights.values()) / len(weights) if weights else 1.0
    total = sum(weights.get(s.criterion, fallback) for s in scores)
    if total <= 0:
        return None
    return round(sum(s.score * weights.get(s.criterion, fallback) for s in scores) / total, 2)


def averages(answers: list[AnswerFeedback]) -> dict[str, float]:
    """Mean score per dimension over the answers (dimensions nobody scored left out)."""
    totals: dict[str, list[int]] = {}
    for answer in answers:
        for score in answer.scores:
            totals.setdefault(score.criterion, []).append(score.score)
    return {name: round(sum(v) / len(v), 2) for name, v in totals.items() if v}
