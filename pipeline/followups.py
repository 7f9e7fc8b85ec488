"""Rule-based follow-ups: what a good interviewer asks when an answer is thin.

Used by the session to decide each reply (the LLM only phrases it), and by the offline
interviewer to phrase it without an LLM.
"""

from __future__ import annotations

import re

from pipeline.turns import words

_OUTCOME = re.compile(
    r"\b(result(ed|s)?|outcome|led to|increas\w*|reduc\w*|improv\w*|sav(ed|ing)|achiev\w*|"
    r"deliver\w*|launch\w*|ship(ped)?|grew|cut|won|so that|which meant|impact\w*|"
    r"succeed\w*|success\w*|fixed|resolved|finished|completed)\b",
    re.IGNORECASE,
)
_NUMBER = re.compile(
    r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|fifty|"
    r"hundred|thousand|million|billion|percent|half|double|twice|triple)\b",
    re.IGNORECASE,
)
SHORT_ANSWER_WORDS = 25


def follow_up_hint(answer: str) -> str | None:
    """What a follow-up should draw out of ``answer``, or None if it is complete enough."""
    if len(words(answer)) < SHORT_ANSWER_WORDS:
        return "a concrete example"
    if not _OUTCOME.search(answer):
        return "the result"
    if not _NUMBER.search(answer):
        return "how they measured it"
    return None
