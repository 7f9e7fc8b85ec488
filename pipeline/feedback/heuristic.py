"""The transparent scorer used without an LLM (or when it fails): every score is a rule
that can be read here and in ``signals.py``, every quote a sentence of the answer, and the
result is labelled ``source: "heuristic"``.

Each answer is scored on the dimensions of its kind's rubric, one readable signal per
dimension (``signals.SIGNALS``): STAR parts from cue phrases, trade-offs from "but",
"instead", "on the other hand", "cost", data and scaling from figures with units and
"cache", "shard", "replica", requirements from the questions asked and assumptions
stated, a job requirement from how much of it the answer speaks to, clarity and
communication from the delivery metrics. Its tips, outline and stronger answer come from
the dimensions it scored lowest (``stronger.py``).
"""

from __future__ import annotations

from pipeline.feedback.signals import (
    best_sentence,
    evidence,
    keywords,
    overlap,
    sentences,
    signal,
)
from pipeline.feedback.stronger import outline, stronger_answer, tips
from pipeline.feedback.types import (
    NO_JOB,
    NO_RESUME,
    AnswerFeedback,
    AnswerInput,
    Coverage,
    CriterionScore,
    JobContext,
    RequirementCoverage,
    ResumeFacts,
    ScoredInterview,
    rubric_of,
)

# Re-exported: the quiz grader reads answers with the same rules.
__all__ = ["coverage", "keywords", "overlap", "score_answer", "score_interview", "sentences"]


def score_answer(
    item: AnswerInput, job: JobContext = NO_JOB, resume: ResumeFacts = NO_RESUME
) -> AnswerFeedback:
    """``item`` scored on each dimension of its rubric, with its coaching."""
    rubric = rubric_of(item)
    if len(item.answer.split()) < 3:
        reason = "There was (almost) no answer to score."
        scores = [
            CriterionScore(criterion=d.name, score=1, quotes=[], reason=reason) for d in rubric
        ]
        return AnswerFeedback(
            turn=item.turn,
            scores=scores,
            suggestions=["Answer the question with a concrete example, even a short one."],
            stronger_answer_outline=outline(item, scores, rubric),
            stronger_answer=stronger_answer(item, scores, rubric, resume),
        )
    read = evidence(item, job)
    scores = []
    for dimension in rubric:
        found = signal(dimension, read)
        scores.append(
            CriterionScore(
                criterion=dimension.name,
                score=found.score,
                quotes=list(found.quotes),
                reason=found.reason,
            )
        )
    return AnswerFeedback(
        turn=item.turn,
        scores=scores,
        suggestions=tips(scores, rubric),
        stronger_answer_outline=outline(item, scores, rubric),
        stronger_answer=stronger_answer(item, scores, rubric, resume),
    )


def coverage(answers: list[AnswerInput], job: JobContext) -> list[RequirementCoverage]:
    """Each job requirement: covered (half or more of its key words in one sentence),
    partly (some), or missing, with the sentence and turn that came closest."""
    grid: list[RequirementCoverage] = []
    for requirement in job.requirements:
        wanted = keywords(requirement)
        best: tuple[float, str | None, int | None] = (0.0, None, None)
        for item in answers:
            sentence, share = best_sentence(wanted, item.answer)
            if share > best[0]:
                best = (share, sentence, item.turn)
        share, sentence, turn = best
        status: Coverage = "covered" if share >= 0.5 else "partly" if share > 0 else "missing"
        grid.append(
            RequirementCoverage(
                requirement=requirement[:600],
                status=status,
                quote=sentence if status != "missing" else None,
                turn=turn if status != "missing" else None,
            )
        )
    return grid


def score_interview(
    answers: list[AnswerInput], job: JobContext, resume: ResumeFacts = NO_RESUME
) -> ScoredInterview:
    """Heuristic feedback on every answer, the coverage grid and overall suggestions."""
    scored = [score_answer(item, job, resume) for item in answers]
    grid = coverage(answers, job)
    overall: list[str] = []
    for answer in scored:
        for tip in answer.suggestions:
            if tip not in overall:
                overall.append(tip)
    missing = [c.requirement for c in grid if c.status == "missing"]
    if missing:
        overall.append("Prepare an example for: " + "; ".join(missing[:3]) + ".")
    return ScoredInterview(answers=scored, coverage=grid, suggestions=overall[:8])
