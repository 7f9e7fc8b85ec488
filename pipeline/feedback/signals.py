"""The heuristic signal of each rubric dimension: a readable rule per dimension name that
scores an answer 1–5 and quotes the sentences the score rests on.

``SIGNALS`` is the table, keyed by the dimension names of ``pipeline/kinds.py``. A
dimension without a row (the requirements a role interview is scored on, and any kind
added later) is judged by ``requirement_signal``: how much of its label the answer talks
about, and whether it does so with an example of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from pipeline.documents.skills import find_skills
from pipeline.feedback.cues import (
    ACTION,
    COMPONENT,
    CONSTRAINT,
    CONTRAST,
    EXAMPLE,
    EXPLANATION,
    FIGURE,
    FIGURE_WITH_UNIT,
    FLOW,
    HEDGE,
    JUDGEMENT,
    LEARNING,
    REQUIREMENT,
    RESULT,
    SCALING,
    SIGNPOST,
    SITUATION,
    TASK,
    TRADE_OFF,
)
from pipeline.feedback.delivery import (
    STOP_WORDS,
    AnswerTiming,
    DeliveryMetrics,
    delivery,
    normalise,
    term_pattern,
)
from pipeline.feedback.types import AnswerInput, JobContext
from pipeline.kinds import Dimension

MAX_QUOTE: Final = 240
MAX_QUOTES: Final = 3
SHORT_ANSWER_WORDS: Final = 25
_SENTENCE = re.compile(r"[^.!?]+[.!?]*")


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the rules read of one answer, computed once."""

    item: AnswerInput
    job: JobContext
    text: str
    said: tuple[str, ...]  # the answer's sentences, verbatim
    metrics: DeliveryMetrics
    tools: tuple[str, ...]

    @property
    def word_count(self) -> int:
        return len(self.text.split())


@dataclass(frozen=True, slots=True)
class Signal:
    """A dimension's heuristic score, the sentences it rests on, and why."""

    score: int
    quotes: tuple[str, ...]
    reason: str


def sentences(text: str) -> list[str]:
    """The answer's sentences, each a verbatim piece of it of at most ``MAX_QUOTE``
    characters. A longer one (speech recognisers do not always punctuate) is cut into
    consecutive pieces at a comma or a space, so a cue late in it is still read."""
    found: list[str] = []
    for match in _SENTENCE.finditer(text):
        rest = match.group().strip()
        while rest:
            piece, rest = _first_piece(rest)
            if len(piece.split()) >= 3:
                found.append(piece)
    return found


def _first_piece(sentence: str) -> tuple[str, str]:
    if len(sentence) <= MAX_QUOTE:
        return sentence, ""
    window = sentence[: MAX_QUOTE + 1]
    cut = max(window.rfind(", "), window.rfind("; "))
    if cut < MAX_QUOTE // 3:
        cut = window.rfind(" ")
    if cut <= 0:
        cut = MAX_QUOTE
    return sentence[:cut].strip(" ,;"), sentence[cut:].strip(" ,;")


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


def best_sentence(wanted: set[str], text: str) -> tuple[str | None, float]:
    best, best_share = None, 0.0
    for sentence in sentences(text):
        share = overlap(wanted, sentence)
        if share > best_share:
            best, best_share = sentence, share
    return best, best_share


def band(value: float, cuts: tuple[float, float, float, float]) -> int:
    """1..5 by how many of the ascending ``cuts`` ``value`` reaches."""
    return 1 + sum(1 for cut in cuts if value >= cut)


def evidence(item: AnswerInput, job: JobContext) -> Evidence:
    text = item.answer.strip()
    return Evidence(
        item=item,
        job=job,
        text=text,
        said=tuple(sentences(text)),
        metrics=delivery([AnswerTiming(item.question, item.words)]),
        tools=tuple(find_skills(text)),
    )


def _with(pattern: re.Pattern[str], said: tuple[str, ...]) -> list[str]:
    return [s for s in said if pattern.search(s)]


def _quotes(found: list[str], ev: Evidence) -> tuple[str, ...]:
    # A score with no sentence to point at still quotes where the answer starts, so the
    # reader sees what was judged.
    return tuple(dict.fromkeys(found))[:MAX_QUOTES] or ev.said[:1]


def _cue_signal(found: list[str], bonus: int, what: str, missing: str, ev: Evidence) -> Signal:
    """1 without a cue; 3 for one sentence with one, 4 for two, 5 for three, plus
    ``bonus`` points (capped at 5)."""
    if not found:
        return Signal(1, _quotes([], ev), missing)
    score = min(5, 2 + min(3, len(found)) + bonus)
    return Signal(score, _quotes(found, ev), f"{len(found)} sentence(s) {what}.")


def _sentences_with(cue: re.Pattern[str], what: str, missing: str) -> Callable[[Evidence], Signal]:
    """The rule of a dimension scored on the sentences with ``cue`` alone (``_cue_signal``
    with no bonus)."""

    def rule(ev: Evidence) -> Signal:
        return _cue_signal(_with(cue, ev.said), 0, what, missing, ev)

    return rule


# Behavioural: STAR ------------------------------------------------------------------------


situation: Final = _sentences_with(
    SITUATION, "setting the scene", "No sentence sets the scene (where, when, what was at stake)."
)


def task(ev: Evidence) -> Signal:
    found = _with(TASK, ev.said)
    constrained = any(CONSTRAINT.search(s) for s in found)
    return _cue_signal(
        found,
        1 if constrained else 0,
        "saying what you had to achieve" + (", with its constraint" if constrained else ""),
        "No sentence says what you in particular had to achieve.",
        ev,
    )


def action(ev: Evidence) -> Signal:
    found = _with(ACTION, ev.said)
    we_only = not found and re.search(r"\bwe\b", ev.text, re.IGNORECASE) is not None
    if we_only:
        return Signal(2, ev.said[:1], "The answer says what 'we' did, never what you did.")
    return _cue_signal(found, 0, "on what you did yourself", "No sentence says what you did.", ev)


def result(ev: Evidence) -> Signal:
    found = _with(RESULT, ev.said)
    figures = [s for s in found if FIGURE.search(s)]
    learned = _with(LEARNING, ev.said)
    if not found:
        return Signal(1 + (1 if learned else 0), _quotes(learned, ev), "No result is stated.")
    score = min(5, 2 + min(2, len(found)) + (1 if figures else 0) + (1 if learned else 0))
    reason = f"{len(found)} sentence(s) on the result" + (
        ", with a figure" if figures else ", without a figure"
    )
    return Signal(score, _quotes(figures + found + learned, ev), reason + ".")


# Technical ------------------------------------------------------------------------------------


def correctness(ev: Evidence) -> Signal:
    wanted = keywords(ev.item.question) | keywords(ev.item.requirement or "")
    share = overlap(wanted, ev.text)
    best, _ = best_sentence(wanted, ev.text)
    hedges = _with(HEDGE, ev.said)
    score = (
        band(share, (0.1, 0.2, 0.35, 0.5)) + (1 if ev.tools else 0) - (1 if len(hedges) >= 2 else 0)
    )
    reason = f"The answer uses {share:.0%} of the question's key words"
    reason += f" and names {len(ev.tools)} tool(s) or concept(s)" if ev.tools else ""
    reason += f"; {len(hedges)} hedged sentence(s)" if hedges else ""
    return Signal(max(1, min(5, score)), _quotes([best] if best else [], ev), reason + ".")


def depth(ev: Evidence) -> Signal:
    """1 + the distinct ways of explaining why or how (at most 2), one more for two named
    tools or concepts, one more for 80 words or more."""
    found = _with(EXPLANATION, ev.said)
    ways = {normalise(m.group()) for m in EXPLANATION.finditer(ev.text)}
    points = 1 + min(2, len(ways))
    points += (1 if len(ev.tools) >= 2 else 0) + (1 if ev.word_count >= 80 else 0)
    reason = (
        f"{len(ways)} way(s) of explaining why or how ('because', 'which means', ...), "
        f"{len(ev.tools)} named tool(s) or concept(s), {ev.word_count} words."
    )
    return Signal(min(5, points), _quotes(found, ev), reason)


def trade_offs(ev: Evidence) -> Signal:
    """1 with nothing weighed, 2 for a bare "but"; else 2 + the distinct ways the answer
    names a cost or an alternative ("instead", "on the other hand", "cost", ...), one
    more with a "but" beside them."""
    named = {normalise(m.group()) for m in TRADE_OFF.finditer(ev.text)}
    contrasts = _with(CONTRAST, ev.said)
    found = _with(TRADE_OFF, ev.said)
    if not named:
        if contrasts:
            return Signal(
                2, _quotes(contrasts, ev), "A contrast ('but'), with no cost or alternative named."
            )
        return Signal(1, _quotes([], ev), "No alternative or cost is weighed.")
    score = min(5, 2 + len(named) + (1 if contrasts else 0))
    reason = (
        f"{len(named)} way(s) of naming a cost or an alternative "
        "('instead', 'on the other hand', 'cost', ...)"
    )
    return Signal(score, _quotes(found + contrasts, ev), reason + ".")


def clarity(ev: Evidence) -> Signal:
    """Length, pace, fillers and pauses from the delivery metrics, and signposting."""
    metrics = ev.metrics
    points = 1
    notes: list[str] = []
    if ev.word_count >= 60:
        points += 1
        notes.append(f"{ev.word_count} words, enough to develop the answer")
    else:
        notes.append(f"only {ev.word_count} words")
    if metrics.pace in (None, "comfortable"):
        points += 1
    if metrics.pace is not None:
        notes.append(f"pace {metrics.words_per_minute:.0f} words per minute ({metrics.pace})")
    fillers = metrics.fillers_per_minute
    if fillers is None:
        in_text = sum(1 for w in ev.text.lower().split() if normalise(w) in ("um", "uh", "er"))
        points += 1 if in_text <= 2 else 0
    elif fillers <= 4:
        points += 1
        notes.append(f"{fillers:.1f} fillers per minute")
    else:
        notes.append(f"{fillers:.1f} fillers per minute (many)")
    if not metrics.long_pauses:
        points += 1
    else:
        notes.append(f"{len(metrics.long_pauses)} pause(s) over 2 s")
    signposts = _with(SIGNPOST, ev.said)
    if signposts and points < 5:
        points += 1
        notes.append("signposted steps")
    if ev.word_count < SHORT_ANSWER_WORDS:
        points = min(points, 2)  # too short to have been explained clearly, however fluent
    reason = "; ".join(notes)
    return Signal(min(5, points), _quotes(signposts, ev), reason[:1].upper() + reason[1:] + ".")


# System design --------------------------------------------------------------------------------


def requirements(ev: Evidence) -> Signal:
    asked = [s for s in ev.said if s.endswith("?")]
    found = list(dict.fromkeys(asked + _with(REQUIREMENT, ev.said)))
    sized = any(FIGURE.search(s) for s in found)
    return _cue_signal(
        found,
        1 if sized else 0,
        "clarifying requirements, asking questions or stating assumptions",
        "No requirement is clarified and no assumption stated before designing.",
        ev,
    )


def high_level_design(ev: Evidence) -> Signal:
    components = {normalise(m.group()).rstrip("s") for m in COMPONENT.finditer(ev.text)}
    flows = _with(FLOW, ev.said)
    score = band(len(components), (1, 2, 4, 6)) + (1 if flows else 0)
    found = _with(COMPONENT, ev.said)
    reason = f"{len(components)} component(s) named" + (
        f", {len(flows)} sentence(s) on how a request flows" if flows else ", no flow between them"
    )
    return Signal(min(5, score), _quotes(flows + found, ev), reason + ".")


def data_and_scaling(ev: Evidence) -> Signal:
    sized = _with(FIGURE_WITH_UNIT, ev.said)
    terms = {normalise(m.group()) for m in SCALING.finditer(ev.text)}
    evidence_points = 2 * len(sized) + len(terms)
    found = sized + _with(SCALING, ev.said)
    reason = (
        f"{len(sized)} sentence(s) with figures and units, {len(terms)} scaling term(s) "
        "(cache, shard, replica, partition, …)."
    )
    return Signal(band(evidence_points, (1, 2, 4, 6)), _quotes(found, ev), reason)


# Role -------------------------------------------------------------------------------------


def domain_knowledge(ev: Evidence) -> Signal:
    lowered = ev.text.lower()
    terms = [t for t in ev.job.skills if term_pattern(t).search(lowered)]
    wanted = keywords(ev.item.requirement or "") | keywords(ev.item.question)
    share = overlap(wanted, ev.text)
    best, _ = best_sentence(wanted, ev.text)
    points = band(share, (0.1, 0.25, 0.4, 0.6)) + min(2, len(terms) + len(ev.tools) // 2)
    reason = (
        f"The answer uses {share:.0%} of the question's key words, {len(terms)} of the job's "
        f"terms and {len(ev.tools)} named tool(s) or skill(s)."
    )
    return Signal(min(5, points), _quotes([best] if best else [], ev), reason)


judgement: Final = _sentences_with(
    JUDGEMENT,
    "on how you made the call ('because', 'decided', 'prioritised', 'risk')",
    "No sentence says how you decided or what you weighed.",
)


def requirement_signal(dimension: Dimension, ev: Evidence) -> Signal:
    """A dimension named after a job requirement: how much of its words the answer uses
    in one sentence, one point more when that sentence is an action or a figure of the
    candidate's own."""
    wanted = keywords(dimension.label) or keywords(dimension.name.replace("_", " "))
    best, share = best_sentence(wanted, ev.text)
    if best is None:
        return Signal(1, ev.said[:1], f"The answer does not speak to {dimension.label.lower()}.")
    own = ACTION.search(best) or FIGURE.search(best) or EXAMPLE.search(best)
    score = min(5, band(share, (0.01, 0.34, 0.67, 1.0)) + (1 if own else 0))
    reason = f"One sentence uses {share:.0%} of the words of “{dimension.label}”" + (
        ", with an example of your own." if own else ", without an example of your own."
    )
    return Signal(score, (best,), reason)


SIGNALS: Final[dict[str, Callable[[Evidence], Signal]]] = {
    "situation": situation,
    "task": task,
    "action": action,
    "result": result,
    "correctness": correctness,
    "depth": depth,
    "trade_offs": trade_offs,
    "clarity": clarity,
    "requirements": requirements,
    "high_level_design": high_level_design,
    "data_and_scaling": data_and_scaling,
    "communication": clarity,
    "domain_knowledge": domain_knowledge,
    "judgement": judgement,
}


def signal(dimension: Dimension, ev: Evidence) -> Signal:
    """The heuristic score of ``dimension`` for the answer ``ev`` reads."""
    rule = SIGNALS.get(dimension.name)
    return rule(ev) if rule is not None else requirement_signal(dimension, ev)
