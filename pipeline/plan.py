"""Where an interview stands in its question plan, and what the next reply must do.

The session asks it after every answer; the phrase pre-planner
(``pipeline.interviewer.phrases``) walks a copy of it, so the replies prepared ahead of
time are the ones the session will ask for.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.followups import follow_up_hint
from pipeline.interviewer.types import ASKED_AGAIN, Action, Instruction
from pipeline.kinds import question_kind
from storage.types import InterviewKind, InterviewTurn, PlannedQuestion


@dataclass
class PlanCursor:
    """The planned question being asked and the follow-ups it has had."""

    plan: tuple[PlannedQuestion, ...]
    max_follow_ups: int = 1  # per planned question
    resumed: bool = False  # the interview continues after turns stored before
    question_index: int = -1  # 0-based; -1 before the first question
    follow_ups: int = 0
    # The interview's kind: a question stored without its own kind is followed up as one
    # of these (planned questions carry theirs, so a mixed interview's differ).
    kind: InterviewKind = "behavioral"

    @classmethod
    def after(
        cls,
        plan: tuple[PlannedQuestion, ...],
        prior: Sequence[InterviewTurn],
        *,
        max_follow_ups: int = 1,
        kind: InterviewKind = "behavioral",
    ) -> PlanCursor:
        """The cursor of an interview whose turns ``prior`` (in turn order) are done."""
        cursor = cls(plan, max_follow_ups, resumed=bool(prior), kind=kind)
        cursor.question_index = max((t.question_index or 0 for t in prior), default=-1)
        if prior and prior[-1].question_index is not None:
            same = [t for t in prior if t.question_index == prior[-1].question_index]
            cursor.follow_ups = max(0, len(same) - 1)
        return cursor

    def opening(self) -> Instruction:
        """The first reply of a session: the greeting, or a welcome back."""
        if self.resumed:
            return self._ask_next("resume")
        return self._ask(0, "greet") if self.plan else Instruction("close")

    def after_answer(self, answer: str) -> Instruction:
        """The reply to ``answer``: a follow-up if it is thin and the question has one
        left, otherwise the next planned question, or the close after the last. The
        follow-up is the one the question's kind asks for."""
        if self.question_index < 0 or self.follow_ups >= self.max_follow_ups:
            return self.next_question()
        kind = question_kind(self.kind, self.plan[self.question_index])
        hint = follow_up_hint(answer, kind)
        if hint:
            return self.follow_up(hint)
        return self.next_question()

    def ask_again(self) -> Instruction:
        """The current planned question once more: the candidate spoke over the words
        before it (the greeting, an acknowledgement) and never heard it."""
        index = self.question_index
        return Instruction(
            "next_question",
            question=self.plan[index],
            hint=ASKED_AGAIN,
            question_number=index + 1,
        )

    def next_question(self) -> Instruction:
        """The next planned question, or the close after the last."""
        return self._ask_next("next_question")

    def follow_up(self, hint: str | None) -> Instruction:
        """A follow-up on the current question that draws out ``hint``."""
        self.follow_ups += 1
        index = self.question_index
        return Instruction(
            "follow_up",
            question=self.plan[index] if index >= 0 else None,
            hint=hint,
            question_number=index + 1 if index >= 0 else None,
        )

    def _ask_next(self, action: Action) -> Instruction:
        nxt = self.question_index + 1
        if nxt >= len(self.plan):
            return Instruction("close")
        return self._ask(nxt, action)

    def _ask(self, index: int, action: Action) -> Instruction:
        self.question_index = index
        self.follow_ups = 0
        return Instruction(action, question=self.plan[index], question_number=index + 1)
