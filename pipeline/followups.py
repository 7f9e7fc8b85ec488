"""Rule-based follow-ups: what a good interviewer asks when an answer is thin, in the
terms of the question's kind (``pipeline.kinds``: a behavioural answer without its
result, a system design without its data, a technical answer without its reasons).

Used by the session to decide each reply (the LLM only phrases it), and by the offline
interviewer to phrase it without an LLM.
"""

from __future__ import annotations

from typing import Final

from pipeline.kinds import KINDS
from pipeline.turns import words
from storage.types import InterviewKind

SHORT_ANSWER_WORDS: Final = 25


def follow_up_hint(answer: str, kind: InterviewKind = "behavioral") -> str | None:
    """What a follow-up should draw out of ``answer`` to a question of ``kind``, or None
    if it is complete enough: the kind's follow-ups in order, the first whose pattern
    finds nothing (one without a pattern when the answer is short)."""
    short = len(words(answer)) < SHORT_ANSWER_WORDS
    for follow_up in KINDS[kind].follow_ups:
        if follow_up.missing is None:
            if short:
                return follow_up.hint
        elif not follow_up.missing.search(answer):
            return follow_up.hint
    return None


# Every follow-up of every kind, as the offline interviewer asks it: hint -> question.
FOLLOW_UP_QUESTIONS: Final[dict[str, str]] = {
    follow_up.hint: follow_up.question
    for definition in KINDS.values()
    for follow_up in definition.follow_ups
}
