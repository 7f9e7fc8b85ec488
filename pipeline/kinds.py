"""The kinds of interview, each defined once: what it is called and how the web app explains
it, the rubric its answers are scored on, its question bank, the follow-ups its
interviewer asks and the lines the LLM interviewer is told.

Everything that differs between kinds reads it from here (the planner, the follow-ups,
the interviewer's prompt, feedback). The definitions themselves are data, in
``kinds.toml`` beside this module, checked as they are read: a new kind is one
``[kinds.<name>]`` table there and its name in ``storage.types.InterviewKind``.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Set
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, cast, get_args

from pipeline.documents.types import JobData
from pipeline.questions import BANKS
from storage.types import InterviewKind, PlannedQuestion

KINDS_FILE: Final = Path(__file__).with_name("kinds.toml")
# Interviews of kinds a question can be scored by; a mixed interview's questions each
# have one of these.
QUESTION_KINDS: Final[tuple[InterviewKind, ...]] = (
    "behavioral",
    "technical",
    "system_design",
    "role",
)
# A role rubric gets at most this many dimensions from the job's requirements: more
# would spread a five-question interview too thin to score each.
MAX_ROLE_DIMENSIONS: Final = 5
MAX_LABEL_CHARS: Final = 60


@dataclass(frozen=True, slots=True)
class Dimension:
    """One thing a rubric scores. ``name`` is stable (scores over time are keyed by it);
    ``label`` is what the report shows; the weights of a rubric add up to 1."""

    name: str
    label: str
    weight: float


@dataclass(frozen=True, slots=True)
class FollowUp:
    """A follow-up an answer gets when ``missing`` finds nothing in it (or, with no
    pattern, when it is short). ``hint`` is what it draws out, as the LLM interviewer is
    told; ``question`` is how the offline interviewer asks it."""

    hint: str
    question: str
    missing: re.Pattern[str] | None = None


@dataclass(frozen=True, slots=True)
class KindDefinition:
    name: InterviewKind
    label: str  # as the web app names it
    explanation: str  # one line, for the new-interview form
    dimensions: tuple[Dimension, ...]  # the rubric; a role interview's comes from its job
    bank: tuple[PlannedQuestion, ...]  # questions for interviews with nothing to tailor
    follow_ups: tuple[FollowUp, ...]  # in the order they are tried
    prompt_line: str  # tells the LLM interviewer what kind of interview it holds


def _invalid(problem: str) -> ValueError:
    return ValueError(f"{KINDS_FILE.name}: {problem}")


def _checked(
    where: str, table: Mapping[str, Any], required: Set[str], optional: Set[str] = frozenset()
) -> Mapping[str, Any]:
    """``table`` once it has every ``required`` key and no key outside the two sets: a
    misspelt key in the data file fails at import instead of being ignored."""
    missing, unknown = required - table.keys(), table.keys() - required - optional
    if missing or unknown:
        raise _invalid(f"{where} lacks {sorted(missing)} or has unknown {sorted(unknown)}")
    return table


def _follow_up(name: str, table: Mapping[str, Any]) -> FollowUp:
    entry = _checked(f"follow-up {name!r}", table, {"hint", "question"}, {"missing", "or_digit"})
    if "missing" not in entry:
        return FollowUp(entry["hint"], entry["question"])
    words = r"\b(?:" + "|".join(entry["missing"]) + r")\b"
    pattern = r"\d|" + words if entry.get("or_digit", False) else words
    return FollowUp(entry["hint"], entry["question"], re.compile(pattern, re.IGNORECASE))


def _dimension(where: str, table: Mapping[str, Any]) -> Dimension:
    entry = _checked(f"the rubric of {where}", table, {"name", "label", "weight"})
    return Dimension(entry["name"], entry["label"], float(entry["weight"]))


def _kind(
    name: str, table: Mapping[str, Any], follow_ups: Mapping[str, FollowUp]
) -> KindDefinition:
    where = f"kind {name!r}"
    entry = _checked(where, table, {"label", "explanation", "rubric", "follow_ups", "prompt_line"})
    if name not in get_args(InterviewKind):
        raise _invalid(f"{where} is not a storage.types.InterviewKind")
    rubric = tuple(_dimension(where, row) for row in entry["rubric"])
    if rubric and not math.isclose(sum(d.weight for d in rubric), 1.0):
        raise _invalid(f"the weights of the rubric of {where} do not add up to 1")
    unknown = [f for f in entry["follow_ups"] if f not in follow_ups]
    if unknown:
        raise _invalid(f"{where} names unknown follow-ups {unknown}")
    kind = cast(InterviewKind, name)
    return KindDefinition(
        name=kind,
        label=entry["label"],
        explanation=entry["explanation"],
        dimensions=rubric,
        bank=BANKS[kind],
        follow_ups=tuple(follow_ups[f] for f in entry["follow_ups"]),
        prompt_line=entry["prompt_line"],
    )


def _load() -> dict[InterviewKind, KindDefinition]:
    data = tomllib.loads(KINDS_FILE.read_text(encoding="utf-8"))
    follow_ups = {name: _follow_up(name, table) for name, table in data["follow_ups"].items()}
    kinds = [_kind(name, table, follow_ups) for name, table in data["kinds"].items()]
    absent = set(get_args(InterviewKind)) - {kind.name for kind in kinds}
    if absent:
        raise _invalid(f"every InterviewKind needs a definition; none for {sorted(absent)}")
    return {kind.name: kind for kind in kinds}


# In the file's order, which is the order the new-interview form offers them.
KINDS: Final[Mapping[InterviewKind, KindDefinition]] = _load()


def kind_of(name: InterviewKind) -> KindDefinition:
    return KINDS[name]


def question_kind(interview_kind: InterviewKind, question: PlannedQuestion) -> InterviewKind:
    """The kind whose rubric and follow-ups fit ``question``: its own, stored with it;
    for a question stored before questions had one, the interview's, and in a mixed
    interview the kind of the bank it came from (behavioural when none has it)."""
    if question.kind is not None and question.kind != "mixed":
        return question.kind
    if interview_kind != "mixed":
        return interview_kind
    for kind in QUESTION_KINDS:
        if any(q.text == question.text for q in KINDS[kind].bank):
            return kind
    return "behavioral"


def slug(text: str) -> str:
    """A dimension name from a requirement: lower case words joined by ``_``."""
    return "_".join(re.findall(r"[a-z0-9]+", text.lower()))[:MAX_LABEL_CHARS] or "requirement"


def short_label(text: str) -> str:
    """A requirement as a rubric label: its first clause, at most ``MAX_LABEL_CHARS``."""
    text = " ".join(text.split()).rstrip(".;:")
    text = re.split(r"[;:(]| – | - ", text, maxsplit=1)[0].strip() or text
    if len(text) > MAX_LABEL_CHARS:
        text = text[:MAX_LABEL_CHARS].rsplit(" ", 1)[0]
    return text[:1].upper() + text[1:]


def role_dimensions(job: JobData) -> tuple[Dimension, ...]:
    """A role rubric from the job: its requirements (its skills when it lists none), the
    first ``MAX_ROLE_DIMENSIONS`` of distinct names, weighted alike."""
    names: dict[str, str] = {}
    for text in (*job.requirements, *([] if job.requirements else job.skills)):
        name = slug(text)
        if name not in names:
            names[name] = short_label(text)
        if len(names) == MAX_ROLE_DIMENSIONS:
            break
    if not names:
        return KINDS["role"].dimensions
    weight = round(1 / len(names), 4)
    return tuple(Dimension(name, label, weight) for name, label in names.items())


def rubric_for(
    kind: InterviewKind, job: JobData | None = None, question: PlannedQuestion | None = None
) -> tuple[Dimension, ...]:
    """The dimensions an answer is scored on: the kind's rubric; for a role interview the
    job's requirements (the kind's fallback without a job); for a mixed interview, the
    rubric of ``question``'s own kind (behavioural without a question)."""
    if kind == "mixed":
        kind = question_kind("mixed", question) if question is not None else "behavioral"
    if kind == "role" and job is not None:
        return role_dimensions(job)
    return KINDS[kind].dimensions
