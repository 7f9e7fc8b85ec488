"""Question banks for interviews without a resume or job description to tailor from."""

from __future__ import annotations

from storage.types import PlannedQuestion

BEHAVIORAL = (
    PlannedQuestion(
        "Tell me about a time you had to deliver a project under a tight deadline. "
        "How did you approach it?",
        "prioritisation",
    ),
    PlannedQuestion(
        "Describe a disagreement you had with a colleague. How did you resolve it?",
        "collaboration",
    ),
    PlannedQuestion(
        "Tell me about a mistake you made at work and what you learned from it.",
        "ownership",
    ),
    PlannedQuestion(
        "Give me an example of a time you took the lead without being asked.",
        "leadership",
    ),
    PlannedQuestion(
        "Describe a situation where you had to learn something new quickly.",
        "learning agility",
    ),
    PlannedQuestion(
        "Tell me about a time you received difficult feedback. What did you do with it?",
        "self-awareness",
    ),
    PlannedQuestion(
        "Describe a project you are proud of. What was your part in its success?",
        "impact",
    ),
)
TECHNICAL = (
    PlannedQuestion(
        "Walk me through the architecture of a system you built or worked on recently.",
        "system design",
    ),
    PlannedQuestion(
        "Tell me about the hardest bug you have tracked down. How did you find it?",
        "debugging",
    ),
    PlannedQuestion(
        "How do you decide when code is ready to ship? What does your testing look like?",
        "quality",
    ),
    PlannedQuestion(
        "Describe a time you improved the performance of something. How did you measure it?",
        "performance",
    ),
    PlannedQuestion(
        "How would you design a service that has to stay available when a dependency fails?",
        "reliability",
    ),
    PlannedQuestion(
        "Tell me about a technical decision you made that you would make differently today.",
        "judgement",
    ),
)


def default_plan(kind: str, count: int) -> list[PlannedQuestion]:
    """``count`` questions for an interview of ``kind``, always the same for the same input."""
    if kind == "technical":
        pool: list[PlannedQuestion] = list(TECHNICAL)
    elif kind == "behavioral":
        pool = list(BEHAVIORAL)
    else:  # mixed: alternate, starting with a behavioural question
        pool = [q for pair in zip(BEHAVIORAL, TECHNICAL, strict=False) for q in pair]
        pool += BEHAVIORAL[len(TECHNICAL) :]
    return pool[: max(1, min(count, len(pool)))]
