"""The transparent scorer used without an LLM (or when it fails): every score is a rule
that can be read here, every quote a sentence of the answer, and the result is labelled
``source: "heuristic"``.

- relevance: share of the question's (and requirement's) key words the answer uses;
- structure (STAR): 1 + how many of situation, task, action and result it has a cue for;
- specificity and impact: figures, named tools and results in the answer;
- communication: length, pace and fillers from the delivery metrics.
"""

from __future__ import annotations

import re
from typing import Final

from pipeline.documents.skills import find_skills
from pipeline.feedback.delivery import (
    STOP_WORDS,
    AnswerTiming,
    delivery,
    normalise,
    words_of,
)
from pipeline.feedback.types import (
    AnswerFeedback,
    AnswerInput,
    Coverage,
    CriterionScore,
    JobContext,
    RequirementCoverage,
    ScoredInterview,
)

MAX_QUOTE: Final = 240
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")
_STAR_CUES: Final[dict[str, re.Pattern[str]]] = {
    "situation": re.compile(
        r"\b(when i was|at my (?:last|previous|current)|we had|there was|the situation|"
        r"back in|in my (?:last|previous|current) (?:role|job|team)|our team)\b"
    ),
    "task": re.compile(
        r"\b(my (?:task|job|goal|role|responsibility) was|i (?:needed|had) to|the goal was|"
        r"i was (?:asked|responsible)|we needed to|the challenge was)\b"
    ),
    "action": re.compile(
        r"\bi (?:decided|built|wrote|designed|led|created|implemented|organi[sz]ed|set up|"
        r"proposed|talked|spoke|started|introduced|rewrote|measured|fixed|added|moved|"
        r"worked with|reached out|suggested|changed|ran|made)\b"
    ),
    "result": re.compile(
        r"\b(as a result|in the end|which (?:led|meant|cut|saved|reduced|increased)|"
        r"the result|we (?:shipped|delivered|launched|saved|reduced|cut|increased)|"
        r"reduced|increased|improved|saved|cut|grew|learned|outcome)\b"
    ),
}
_FIGURE = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*(?:%|percent|x|times|ms|seconds|minutes|hours|days|"
    r"weeks|months|years|k|m|million|thousand|users|customers|people)?"
)
_IMPACT = re.compile(
    r"\b(reduced|increased|improved|saved|cut|grew|doubled|halved|faster|"
    r"revenue|latency|cost|customers|users)\b"
)


def sentences(text: str) -> list[str]:
    """The answer's sentences, each a verbatim piece of it (cut to ``MAX_QUOTE``)."""
    found: list[str] = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group().strip()
        if len(sentence.split()) < 3:
            continue
        if len(sentence) > MAX_QUOTE:
            sentence = sentence[:MAX_QUOTE].rsplit(" ", 1)[0]
        found.append(sentence)
    return found


def keywords(text: str) -> set[str]:
    return {
        word
        for word in (normalise(w) for w in text.split())
        if len(word) > 2 and word not in STOP_WORDS and not word.isdigit()
    }


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def overlap(wanted: set[str], text: str) -> float:
    """Share of ``wanted`` key words (by stem) that ``text`` contains."""
    if not wanted:
        return 0.0
    have = {_stem(w) for w in keywords(text)}
    return sum(1 for w in wanted if _stem(w) in have) / len(wanted)


def _best_sentence(wanted: set[str], text: str) -> tuple[str | None, float]:
    best, best_share = None, 0.0
    for sentence in sentences(text):
        share = overlap(wanted, sentence)
        if share > best_share:
            best, best_share = sentence, share
    return best, best_share


def _band(value: float, cuts: tuple[float, float, float, float]) -> int:
    """1..5 by how many of the ascending ``cuts`` ``value`` reaches."""
    return 1 + sum(1 for cut in cuts if value >= cut)


def score_answer(item: AnswerInput) -> AnswerFeedback:
    text = item.answer.strip()
    said = sentences(text)
    if len(text.split()) < 3:
        reason = "There was (almost) no answer to score."
        return AnswerFeedback(
            turn=item.turn,
            scores=[
                CriterionScore(criterion=c, score=1, quotes=[], reason=reason)
                for c in ("relevance", "structure", "specificity", "communication")
            ],
            suggestions=["Answer the question with a concrete example, even a short one."],
            stronger_answer_outline=_outline(item, set()),
        )

    wanted = keywords(item.question) | keywords(item.requirement or "")
    relevance_share = overlap(wanted, text)
    best, _ = _best_sentence(wanted, text)
    relevance = CriterionScore(
        criterion="relevance",
        score=_band(relevance_share, (0.1, 0.2, 0.35, 0.5)),
        quotes=[best] if best else said[:1],
        reason=f"The answer uses {relevance_share:.0%} of the question's key words.",
    )

    parts = {
        part: next((s for s in said if cue.search(s.lower())), None)
        for part, cue in _STAR_CUES.items()
    }
    present = [part for part, sentence in parts.items() if sentence]
    structure = CriterionScore(
        criterion="structure",
        score=min(5, 1 + len(present)),
        quotes=list(dict.fromkeys(s for s in parts.values() if s))[:4] or said[:1],
        reason=(
            "STAR parts with a cue in the answer: " + ", ".join(present) + "."
            if present
            else "No cue of situation, task, action or result was found."
        ),
    )

    figures = [s for s in said if _FIGURE.search(s) and any(c.isdigit() for c in s)]
    tools = find_skills(text)
    impact = [s for s in said if _IMPACT.search(s.lower())]
    evidence = len(figures) * 2 + min(len(tools), 3) + len(impact)
    specificity = CriterionScore(
        criterion="specificity",
        score=_band(evidence, (1, 2, 4, 6)),
        quotes=list(dict.fromkeys(figures + impact))[:3] or said[:1],
        reason=(
            f"{len(figures)} sentence(s) with figures, {len(tools)} named tool(s) or skill(s),"
            f" {len(impact)} sentence(s) about a result."
        ),
    )

    metrics = delivery([AnswerTiming(item.question, words_of(item.words))])
    word_count = len(text.split())
    points = 1
    notes: list[str] = []
    if word_count >= 60:
        points += 1
        notes.append(f"{word_count} words, enough to develop the answer")
    else:
        notes.append(f"only {word_count} words")
    if metrics.pace in (None, "comfortable"):
        points += 1
    if metrics.pace is not None:
        notes.append(f"pace {metrics.words_per_minute:.0f} words per minute ({metrics.pace})")
    fillers = metrics.fillers_per_minute
    if fillers is None:
        fillers_in_text = sum(1 for w in text.lower().split() if normalise(w) in ("um", "uh", "er"))
        points += 1 if fillers_in_text <= 2 else 0
    elif fillers <= 4:
        points += 1
        notes.append(f"{fillers:.1f} fillers per minute")
    else:
        notes.append(f"{fillers:.1f} fillers per minute (many)")
    if not metrics.long_pauses:
        points += 1
    else:
        notes.append(f"{len(metrics.long_pauses)} pause(s) over 2 s")
    communication = CriterionScore(
        criterion="communication",
        score=min(5, points),
        quotes=said[:1],
        reason="; ".join(notes).capitalize() + ".",
    )
    scores = [relevance, structure, specificity, communication]
    return AnswerFeedback(
        turn=item.turn,
        scores=scores,
        suggestions=_suggestions(scores, set(_STAR_CUES) - set(present)),
        stronger_answer_outline=_outline(item, set(present)),
    )


def _suggestions(scores: list[CriterionScore], missing_parts: set[str]) -> list[str]:
    tips: list[str] = []
    by_name = {s.criterion: s.score for s in scores}
    if by_name["relevance"] <= 2:
        tips.append("Answer the question that was asked: name its topic in your first sentence.")
    if by_name["structure"] <= 3 and missing_parts:
        order = [p for p in ("situation", "task", "action", "result") if p in missing_parts]
        tips.append("Add the missing STAR parts: " + ", ".join(order) + ".")
    if by_name["specificity"] <= 3:
        tips.append(
            "Give figures (how many, how much faster, what it saved) and name the tools you used."
        )
    if by_name["communication"] <= 3:
        tips.append("Aim for 60 to 150 words at 130 to 160 words per minute, with few fillers.")
    return tips or ["Keep this shape: it covers the question with evidence."]


def _outline(item: AnswerInput, present: set[str]) -> list[str]:
    topic = item.requirement or item.competency or "the question's topic"
    outline = [
        f"Situation: one or two sentences on where you were and why {topic} mattered.",
        "Task: what you in particular had to achieve, and the constraint that made it hard.",
        "Action: three or four things you did yourself, in order, with the tools you used.",
        "Result: the outcome in numbers, and what you would do again or differently.",
    ]
    # The parts the answer missed come first in the reminders.
    return [line for line in outline if line.split(":")[0].lower() not in present] + [
        line for line in outline if line.split(":")[0].lower() in present
    ]


def coverage(answers: list[AnswerInput], job: JobContext) -> list[RequirementCoverage]:
    """Each job requirement: covered (half or more of its key words in one sentence),
    partly (some), or missing, with the sentence and turn that came closest."""
    grid: list[RequirementCoverage] = []
    for requirement in job.requirements:
        wanted = keywords(requirement)
        best: tuple[float, str | None, int | None] = (0.0, None, None)
        for item in answers:
            sentence, share = _best_sentence(wanted, item.answer)
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


def score_interview(answers: list[AnswerInput], job: JobContext) -> ScoredInterview:
    """Heuristic feedback on every answer, the coverage grid and overall suggestions."""
    scored = [score_answer(item) for item in answers]
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
