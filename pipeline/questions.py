"""Question banks: the questions of interviews with no resume or job description to
tailor from, and the general questions a tailored plan is filled up with. The questions
themselves are data, in ``question_banks.toml`` beside this module.

Every question is tagged with the skills it probes and the kind of requirement
(``storage.types.RequirementType``) it speaks to, so a plan can say what it covers. The
banks hold nothing of any candidate: what the interviewer says from them may be prepared
once for everyone (``pipeline.interviewer.offline.GENERIC_PHRASES``).
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from storage.types import InterviewKind, PlannedQuestion

BANKS_FILE: Final = Path(__file__).with_name("question_banks.toml")


def _questions(section: Mapping[str, Any]) -> tuple[PlannedQuestion, ...]:
    """A bank's questions; a question's competency is its first tag."""
    return tuple(
        PlannedQuestion(
            entry["text"],
            entry["tags"][0],
            kind=section["kind"],
            tags=tuple(entry["tags"]),
            requirement_type=section["requirement_type"],
        )
        for entry in section["questions"]
    )


_DATA: Final = tomllib.loads(BANKS_FILE.read_text(encoding="utf-8"))
BEHAVIORAL: Final = _questions(_DATA["banks"]["behavioral"])
TECHNICAL: Final = _questions(_DATA["banks"]["technical"])
SYSTEM_DESIGN: Final = _questions(_DATA["banks"]["system_design"])
ROLE: Final = _questions(_DATA["banks"]["role"])
# Role questions of one profession: a role interview for a job of that domain asks these
# first among the untailored ones. A domain is found in the job's title and requirements
# by its words, regular expressions (``pipeline.planner``).
DOMAIN_WORDS: Final[Mapping[str, str]] = {
    name: domain["words"] for name, domain in _DATA["domains"].items()
}
DOMAIN_QUESTIONS: Final[Mapping[str, tuple[PlannedQuestion, ...]]] = {
    name: _questions(domain) for name, domain in _DATA["domains"].items()
}


def interleave(*pools: Sequence[PlannedQuestion]) -> list[PlannedQuestion]:
    """One question of each pool in turn, in the order given; a pool that runs out is
    skipped."""
    merged: list[PlannedQuestion] = []
    for index in range(max((len(pool) for pool in pools), default=0)):
        merged.extend(pool[index] for pool in pools if index < len(pool))
    return merged


BANKS: Final[Mapping[InterviewKind, tuple[PlannedQuestion, ...]]] = {
    "behavioral": BEHAVIORAL,
    "technical": TECHNICAL,
    "system_design": SYSTEM_DESIGN,
    "role": ROLE,
    # Each kind in turn, starting with a behavioural question; every question keeps its
    # own kind, whose rubric scores it.
    "mixed": tuple(interleave(BEHAVIORAL, TECHNICAL, SYSTEM_DESIGN, ROLE)),
}
# Every question of every bank: what the interviewer may say to anyone.
ALL_BANK_QUESTIONS: Final = (
    *BEHAVIORAL,
    *TECHNICAL,
    *SYSTEM_DESIGN,
    *ROLE,
    *(question for pack in DOMAIN_QUESTIONS.values() for question in pack),
)


def fresh_first(
    pool: Sequence[PlannedQuestion], recent: Sequence[frozenset[str]]
) -> list[PlannedQuestion]:
    """``pool`` with the questions asked in none of the ``recent`` interviews (newest
    first, as texts) first, in the pool's order; then those asked, least recently asked
    first. So a plan repeats a question only when the pool has run out of fresh ones."""

    def last_asked(question: PlannedQuestion) -> int:
        # How many interviews ago it was last asked, counted back from the oldest:
        # never asked sorts first, asked in the newest interview last.
        for age, texts in enumerate(recent):
            if question.text in texts:
                return len(recent) - age
        return 0

    return sorted(pool, key=last_asked)


def default_plan(
    kind: InterviewKind, count: int, recent: Sequence[frozenset[str]] = ()
) -> list[PlannedQuestion]:
    """``count`` questions for an interview of ``kind``, always the same for the same
    input; none asked in the ``recent`` interviews while the bank has others."""
    pool = fresh_first(BANKS[kind], recent)
    return list(pool[: max(1, min(count, len(pool)))])
