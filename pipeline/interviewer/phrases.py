"""The phrase pre-planner: what the offline interviewer will say in an interview, known
before the session opens, so its speech can be synthesized ahead of time.

It walks the interview's plan with the session's own ``PlanCursor``, so the replies it
prepares are the ones the session will ask for, in the order it will ask for them.
"""

from __future__ import annotations

from dataclasses import replace

from pipeline.interviewer.offline import ACKNOWLEDGEMENT_CYCLE, OfflineInterviewer, spoken_chunks
from pipeline.interviewer.types import Instruction, InterviewContext, Message
from pipeline.kinds import KINDS, question_kind
from pipeline.plan import PlanCursor
from storage.types import Interview


def _likely_replies(plan: PlanCursor, *, greeting: bool) -> list[tuple[Instruction, int]]:
    """Each reply with the number of answers before it, when no answer gets a follow-up:
    (the greeting,) each planned question after the first, the close; then a follow-up
    to the first answer for every hint of the first question's kind."""
    opening = plan.opening()
    replies = [(opening, 0)] if greeting or opening.action == "close" else []
    after_opening = replace(plan)
    instruction, answered = opening, 0
    while instruction.action != "close":
        answered += 1
        instruction = plan.next_question()
        replies.append((instruction, answered))
    first = question_kind(plan.kind, plan.plan[0]) if plan.plan else plan.kind
    for hint in (*(follow_up.hint for follow_up in KINDS[first].follow_ups), None):
        replies.append((replace(after_opening).follow_up(hint), 1))
    return replies


def offline_phrases(
    interview: Interview, first_name: str | None = None, *, greeting: bool = False
) -> list[str]:
    """The chunks the offline interviewer's replies will be spoken in, as the session's
    chunker cuts them, in the order they are likely needed: (the greeting,) each planned
    question after the first with its acknowledgements, the closings, then the follow-ups.
    Without ``greeting`` the greeting is left out: once the session is open it is spoken at
    once, and preparing it would only compete with it."""
    interviewer = OfflineInterviewer()
    plan = tuple(interview.questions)
    chunks: list[str] = []
    for instruction, expected in _likely_replies(
        PlanCursor(plan, kind=interview.kind), greeting=greeting
    ):
        # The acknowledgement depends on how many answers came before: the likely count
        # first, then the others (follow-ups shift it).
        others = (
            ()
            if instruction.action == "greet"
            else (n for n in range(ACKNOWLEDGEMENT_CYCLE) if n != expected % ACKNOWLEDGEMENT_CYCLE)
        )
        for answered in (expected, *others):
            context = InterviewContext(
                kind=interview.kind,
                candidate_first_name=first_name,
                background="",
                plan=plan,
                history=tuple(Message("candidate", "") for _ in range(answered)),
                instruction=instruction,
            )
            chunks += spoken_chunks(interviewer.reply_text(context))
    return list(dict.fromkeys(chunks))
