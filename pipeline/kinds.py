"""The kinds of interview, each defined once: what it is called and how the web app explains
it, the rubric its answers are scored on, its question bank, the follow-ups its
interviewer asks and the lines the LLM interviewer is told.

Everything that differs between kinds reads it from here (the planner, the follow-ups,
the interviewer's prompt, feedback): a new kind is one ``KindDefinition`` in ``KINDS``
and its name in ``storage.types.InterviewKind``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, get_args

from pipeline.documents.types import JobData
from pipeline.questions import BANKS
from storage.types import InterviewKind, PlannedQuestion

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


def _dims(*entries: tuple[str, str, float]) -> tuple[Dimension, ...]:
    return tuple(Dimension(name, label, weight) for name, label, weight in entries)


# Follow-ups several kinds share: the same hint always reads the same way.
CONCRETE_EXAMPLE: Final = FollowUp(
    "a concrete example", "Could you walk me through one specific example of that?"
)
THE_RESULT: Final = FollowUp(
    "the result",
    "What was the result in the end?",
    re.compile(
        r"\b(result(ed|s)?|outcome|led to|increas\w*|reduc\w*|improv\w*|sav(ed|ing)|"
        r"achiev\w*|deliver\w*|launch\w*|ship(ped)?|grew|cut|won|so that|which meant|"
        r"impact\w*|succeed\w*|success\w*|fixed|resolved|finished|completed)\b",
        re.IGNORECASE,
    ),
)
HOW_MEASURED: Final = FollowUp(
    "how they measured it",
    "How did you measure that? Any numbers you can share?",
    re.compile(
        r"\d|\b(one|two|three|four|five|six|seven|eight|nine|ten|twenty|thirty|forty|"
        r"fifty|hundred|thousand|million|billion|percent|half|double|twice|triple)\b",
        re.IGNORECASE,
    ),
)
TRADE_OFFS: Final = FollowUp(
    "the trade-offs",
    "What trade-offs did you weigh there, and what did you give up?",
    re.compile(
        r"\b(trade.?offs?|instead of|rather than|versus|vs|downside\w*|cost\w*|"
        r"alternative\w*|on the other hand|at the expense|compromise\w*|but)\b",
        re.IGNORECASE,
    ),
)
WHY_THAT_WAY: Final = FollowUp(
    "why they chose that approach",
    "Why did you choose that approach over the others?",
    re.compile(r"\b(because|since|so that|the reason|which is why|chose|decided)\b", re.I),
)
HOW_TESTED: Final = FollowUp(
    "how they checked it worked",
    "How did you check that it actually worked?",
    re.compile(
        r"\b(test\w*|verif\w*|check\w*|monitor\w*|measur\w*|benchmark\w*|review\w*|"
        r"profil\w*|metric\w*)\b",
        re.I,
    ),
)
THE_SCALE: Final = FollowUp(
    "the scale it has to handle",
    "What scale does it have to handle: how many users or requests, and how much data?",
    re.compile(
        r"\d|\b(users?|requests?|traffic|load|throughput|per second|qps|rps|scale\w*|"
        r"volume|peak|million|thousand|billion)\b",
        re.I,
    ),
)
THE_DATA: Final = FollowUp(
    "how the data is stored",
    "Where does the data live, and how is it stored and read?",
    re.compile(
        r"\b(database\w*|db|table\w*|store\w*|storage|cache\w*|index\w*|shard\w*|"
        r"partition\w*|replica\w*|queue\w*|schema|sql|postgres\w*|redis|s3|blob\w*)\b",
        re.I,
    ),
)
FAILURES: Final = FollowUp(
    "what happens when a part fails",
    "What happens when one part of it fails? How does the system cope?",
    re.compile(
        r"\b(fail\w*|outage\w*|retr(y|ies)|fallback\w*|redundan\w*|replica\w*|"
        r"failover|timeout\w*|degrad\w*|backup\w*|recover\w*)\b",
        re.I,
    ),
)
HOW_DECIDED: Final = FollowUp(
    "how they made the call",
    "How did you decide what to do in that moment?",
    re.compile(
        r"\b(because|decided|judg\w*|priorit\w*|assess\w*|weigh\w*|considered|"
        r"the reason|chose|so that)\b",
        re.I,
    ),
)

BEHAVIORAL_KIND: Final = KindDefinition(
    name="behavioral",
    label="Behavioural",
    explanation="Past situations and what you did in them, scored on STAR: situation, "
    "task, action, result.",
    dimensions=_dims(
        ("situation", "Situation", 0.2),
        ("task", "Task", 0.2),
        ("action", "Action", 0.35),
        ("result", "Result", 0.25),
    ),
    bank=BANKS["behavioral"],
    follow_ups=(CONCRETE_EXAMPLE, THE_RESULT, HOW_MEASURED),
    prompt_line="This is a behavioural interview: questions about past situations and "
    "what the candidate did in them. Listen for the situation, their task, the actions "
    "they took themselves and the result.",
)
TECHNICAL_KIND: Final = KindDefinition(
    name="technical",
    label="Technical",
    explanation="How you build, debug and reason about your tools, scored on correctness, "
    "depth, trade-offs and clarity.",
    dimensions=_dims(
        ("correctness", "Correctness", 0.3),
        ("depth", "Depth", 0.25),
        ("trade_offs", "Trade-offs", 0.25),
        ("clarity", "Clarity", 0.2),
    ),
    bank=BANKS["technical"],
    follow_ups=(CONCRETE_EXAMPLE, WHY_THAT_WAY, TRADE_OFFS, HOW_TESTED),
    prompt_line="This is a technical interview: questions about how the candidate "
    "designs, builds, debugs and reasons about their work. Listen for whether what they "
    "say is correct, how deep it goes, the trade-offs they name and how clearly they "
    "explain it.",
)
SYSTEM_DESIGN_KIND: Final = KindDefinition(
    name="system_design",
    label="System design",
    explanation="Design a system out loud: requirements, high-level design, data and "
    "scaling, trade-offs, communication.",
    dimensions=_dims(
        ("requirements", "Requirements", 0.2),
        ("high_level_design", "High-level design", 0.25),
        ("data_and_scaling", "Data and scaling", 0.2),
        ("trade_offs", "Trade-offs", 0.2),
        ("communication", "Communication", 0.15),
    ),
    bank=BANKS["system_design"],
    follow_ups=(CONCRETE_EXAMPLE, THE_SCALE, THE_DATA, FAILURES, TRADE_OFFS),
    prompt_line="This is a system design interview: each question asks the candidate to "
    "design a system out loud. Let them lead; listen for the requirements they clarify, "
    "the high-level design, how data is stored and scaled, the trade-offs and how "
    "clearly they communicate. Never sketch a design for them.",
)
ROLE_KIND: Final = KindDefinition(
    name="role",
    label="Role-specific",
    explanation="The job's own work — patient safety for a nurse, research and critique "
    "for a designer — scored on the job's requirements.",
    dimensions=_dims(
        ("domain_knowledge", "Domain knowledge", 0.4),
        ("judgement", "Judgement", 0.35),
        ("communication", "Communication", 0.25),
    ),
    bank=BANKS["role"],
    follow_ups=(CONCRETE_EXAMPLE, HOW_DECIDED, THE_RESULT),
    prompt_line="This is a role-specific interview: questions about the everyday work, "
    "standards and judgement of the role the candidate is applying for, in the words of "
    "that profession. Listen for domain knowledge, sound judgement and clear "
    "communication.",
)
MIXED_KIND: Final = KindDefinition(
    name="mixed",
    label="Mixed",
    explanation="Behavioural, technical, system design and role questions in turn, each "
    "scored on its own kind's rubric.",
    # A mixed interview has no rubric of its own: each question is scored on its kind's.
    dimensions=(),
    bank=BANKS["mixed"],
    follow_ups=BEHAVIORAL_KIND.follow_ups,
    prompt_line="This interview mixes behavioural, technical, system design and "
    "role-specific questions; each planned question says which it is.",
)

KINDS: Final[Mapping[InterviewKind, KindDefinition]] = {
    kind.name: kind
    for kind in (BEHAVIORAL_KIND, TECHNICAL_KIND, SYSTEM_DESIGN_KIND, ROLE_KIND, MIXED_KIND)
}
assert set(KINDS) == set(get_args(InterviewKind)), "every InterviewKind has one definition"


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
        return ROLE_KIND.dimensions
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
