"""Coaching in the kind's terms, offline: the tips, the outline and "a stronger answer
would…" of one answer, from its rubric gaps and the candidate's parsed resume.

The example of a stronger answer is one fact of the resume (a position's highlight, else
an achievement) quoted as written, with the position it belongs to; with no resume, a
sentence of the answer itself. No number, employer or title is ever made up, and
``grounding.py`` holds every suggestion, offline or an LLM's, to that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pipeline.feedback.signals import best_sentence, keywords, overlap, sentences
from pipeline.feedback.types import (
    AnswerInput,
    CriterionScore,
    Position,
    ResumeFacts,
    StrongerAnswer,
)
from pipeline.kinds import Dimension

MAX_MISSING: Final = 2
MAX_EXAMPLE_CHARS: Final = 600


@dataclass(frozen=True, slots=True)
class Coaching:
    """How the coaching speaks of one dimension. ``would`` completes "a stronger answer
    would…"; ``show`` what the example should bring out; ``outline`` a step of a stronger
    answer (``{topic}`` is the question's topic); ``tip`` the suggestion when it is weak."""

    would: str
    show: str
    outline: str
    tip: str


_CLEAR: Final = Coaching(
    "lead with the point in one sentence, then give the steps in order, without fillers",
    "the point first, then the steps in order",
    "{label}: the answer in one sentence first, then the steps in order, then a summary.",
    "Aim for 60 to 150 words at 130 to 160 words per minute, with few fillers; say the "
    "point first.",
)
COACHING: Final[dict[str, Coaching]] = {
    "situation": Coaching(
        "set the scene briefly: where you were and what was at stake",
        "where you were and what was at stake",
        "Situation: one or two sentences on where you were and why {topic} mattered.",
        "Start with the situation: where you were, when, and what was at stake.",
    ),
    "task": Coaching(
        "say what you in particular had to achieve, and what made it hard",
        "what you in particular had to achieve",
        "Task: what you in particular had to achieve, and the constraint that made it hard.",
        "Say what your own task was, and the deadline or constraint that made it hard.",
    ),
    "action": Coaching(
        "walk through the steps you took yourself, in order, saying 'I' rather than 'we'",
        "the steps you took yourself",
        "Action: three or four things you did yourself, in order, with the tools you used.",
        "Spend most of the answer on what you did yourself, step by step ('I', not 'we').",
    ),
    "result": Coaching(
        "end with the outcome, in numbers where you have them, and what you learned",
        "what came of it, and what you learned",
        "Result: the outcome in numbers, and what you would do again or differently.",
        "End with the result: what changed, by how much, and what you learned.",
    ),
    "correctness": Coaching(
        "answer the exact question asked and name the tools and concepts precisely",
        "exactly how it works",
        "Correctness: answer the question asked directly, naming the concepts precisely.",
        "Answer the question that was asked: name its topic in your first sentence, and "
        "state facts you are sure of.",
    ),
    "depth": Coaching(
        "explain why it works that way, not only what was done",
        "why it works that way",
        "Depth: why it works that way: the mechanism underneath, and where it stops working.",
        "Go one level deeper: explain why it works, not only what you did.",
    ),
    "trade_offs": Coaching(
        "name the alternative you weighed and what your choice cost",
        "what you weighed it against and what it cost",
        "Trade-offs: the alternative you considered, and what your choice gave up.",
        "Name a trade-off: the option you did not take, and what your choice cost.",
    ),
    "clarity": _CLEAR,
    "communication": _CLEAR,
    "requirements": Coaching(
        "start by clarifying the requirements: who uses it, how much load, what must not fail",
        "the requirements and load you designed for",
        "Requirements: ask who uses it and how much, and state your assumptions.",
        "Before designing, ask about users, load and what must never fail, and say your "
        "assumptions out loud.",
    ),
    "high_level_design": Coaching(
        "sketch the main components and how a request flows through them",
        "its main parts and how a request flows through them",
        "High-level design: the main components, and one request's path through them.",
        "Name the main components (clients, services, stores, queues) and walk one request "
        "through them.",
    ),
    "data_and_scaling": Coaching(
        "say where the data lives and how it grows: an estimate of the load, and caching, "
        "sharding or replicas where they fit",
        "where the data lived and how it scaled",
        "Data and scaling: where the data lives, an estimate of the load, and how it scales "
        "(caches, shards, replicas).",
        "Estimate the load with numbers and units, and say how the data scales: caches, "
        "shards, replicas.",
    ),
    "domain_knowledge": Coaching(
        "use the standards, tools and terms of the field",
        "the standards and terms of the field",
        "Domain knowledge: the standards, tools and terms of the field, used precisely.",
        "Use the field's own terms and standards, and the job's tools by name.",
    ),
    "judgement": Coaching(
        "explain how you made the call and which risks you weighed",
        "how you made the call and what risk you weighed",
        "Judgement: how you decided, what you weighed, and why it was the right call.",
        "Say how you decided: what you weighed, the risk, and why you chose as you did.",
    ),
}


def coaching(dimension: Dimension) -> Coaching:
    """The dimension's coaching; a job requirement's is written from its label."""
    found = COACHING.get(dimension.name)
    if found is not None:
        return found
    label = dimension.label.lower()
    return Coaching(
        f"show {label} with one case you handled yourself",
        label,
        f"{dimension.label}: one case that shows it, what you did and what came of it.",
        f"Show {label}: one case you handled, what you did and what came of it.",
    )


def missing_dimensions(
    scores: list[CriterionScore], rubric: tuple[Dimension, ...]
) -> list[Dimension]:
    """What a stronger answer adds to: the dimensions scored 3 or less, weakest (then
    heaviest) first; when none is, the one scored lowest below 5."""
    score_of = {s.criterion: s.score for s in scores}
    scored = [d for d in rubric if d.name in score_of]
    ranked = sorted(scored, key=lambda d: (score_of[d.name], -d.weight))
    weak = [d for d in ranked if score_of[d.name] <= 3]
    if weak:
        return weak[:MAX_MISSING]
    return [d for d in ranked if score_of[d.name] < 5][:1]


def tips(scores: list[CriterionScore], rubric: tuple[Dimension, ...]) -> list[str]:
    by_name = {d.name: d for d in rubric}
    weak = sorted(
        (s for s in scores if s.score <= 3 and s.criterion in by_name), key=lambda s: s.score
    )
    found = [coaching(by_name[s.criterion]).tip for s in weak][:4]
    return found or ["Keep this shape: it covers the question with evidence."]


def outline(
    item: AnswerInput, scores: list[CriterionScore], rubric: tuple[Dimension, ...]
) -> list[str]:
    """The steps of a stronger answer in the kind's terms, the weak ones first."""
    topic = item.requirement or item.competency or "the question's topic"
    score_of = {s.criterion: s.score for s in scores}
    ordered = sorted(rubric, key=lambda d: score_of.get(d.name, 5) >= 4)
    return [coaching(d).outline.format(topic=topic, label=d.label) for d in ordered][:8]


def _fact(
    item: AnswerInput, missing: list[Dimension], resume: ResumeFacts
) -> tuple[Position | None, str | None]:
    """The resume fact closest to the question: a highlight of a position (most recent
    first on ties), else an achievement, else the most recent position alone."""
    wanted = (
        keywords(item.question)
        | keywords(item.requirement or "")
        | keywords(item.competency or "")
        | {w for d in missing for w in keywords(d.label)}
    )
    best: tuple[float, Position | None, str | None] = (-1.0, None, None)
    for position in resume.positions:
        for highlight in position.highlights:
            share = overlap(wanted, highlight)
            if share > best[0]:
                best = (share, position, highlight)
    for achievement in resume.achievements:
        share = overlap(wanted, achievement)
        if share > best[0]:
            best = (share, None, achievement)
    if best[2] is not None:
        return best[1], best[2]
    return (resume.positions[0] if resume.positions else None), None


def _where(position: Position) -> str | None:
    if position.title and position.company:
        return f"your time as {position.title} at {position.company}"
    if position.company:
        return f"your time at {position.company}"
    if position.title:
        return f"your time as {position.title}"
    return None


def _joined(parts: list[str]) -> str:
    return ", and also ".join(parts)


def example(
    item: AnswerInput, missing: list[Dimension], resume: ResumeFacts, rubric: tuple[Dimension, ...]
) -> str | None:
    """One example of a stronger answer, built only of the candidate's own facts."""
    focus = missing or sorted(rubric, key=lambda d: -d.weight)[:1]
    show = _joined([coaching(d).show for d in focus])
    position, fact = _fact(item, missing, resume)
    where = _where(position) if position is not None else None
    if fact is not None and where is not None:
        text = f"For example, from {where}: “{fact}”. Tell it so that it shows {show}."
    elif fact is not None:
        text = f"For example, “{fact}”, from your resume. Tell it so that it shows {show}."
    elif where is not None:
        text = f"For example, a case from {where}, told so that it shows {show}."
    else:
        wanted = keywords(item.question) | keywords(item.requirement or "")
        said, _ = best_sentence(wanted, item.answer)
        said = said or next(iter(sentences(item.answer)), None)
        if said is None:
            return None
        text = f"For example, build on what you said, “{said}”, and add {show}."
    return text[:MAX_EXAMPLE_CHARS]


def stronger_answer(
    item: AnswerInput,
    scores: list[CriterionScore],
    rubric: tuple[Dimension, ...],
    resume: ResumeFacts,
) -> StrongerAnswer:
    """What a stronger answer would add, in the kind's terms, with one example."""
    missing = missing_dimensions(scores, rubric)
    if missing:
        first, *others = [coaching(d).would for d in missing]
        advice = f"A stronger answer would {first}." + "".join(
            f" It would also {other}." for other in others
        )
    else:
        advice = "A stronger answer would keep this shape: every part of the rubric is there."
    return StrongerAnswer(
        missing=[d.name for d in missing],
        advice=advice[:600],
        example=example(item, missing, resume, rubric),
    )


def grounding_sources(
    item: AnswerInput, resume: ResumeFacts, rubric: tuple[Dimension, ...]
) -> list[str]:
    """What a suggestion for ``item`` may take its facts from: the resume and the answer,
    and the words of the question and of the rubric it is coached on."""
    return [*resume.texts(), item.answer, item.question, *(d.label for d in rubric)]
