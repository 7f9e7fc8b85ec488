"""The offline interviewer: phrases each reply from templates, with no LLM.

Deterministic, so the same interview reads the same way every time; its replies are
labelled ``offline`` wherever they are stored or shown.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from pipeline.interviewer.types import InterviewContext

_ACKNOWLEDGEMENTS = ("Thank you.", "Got it, thanks.", "Thanks for that.", "Understood.")
_FOLLOW_UPS = {
    "a concrete example": "Could you walk me through one specific example of that?",
    "the result": "What was the result in the end?",
    "how they measured it": "How did you measure that? Any numbers you can share?",
}
_MORE = "Could you tell me a bit more?"
# Short phrases any interview may need; synthesized ahead of time so they play at once.
FIXED_PHRASES = (*_ACKNOWLEDGEMENTS, *_FOLLOW_UPS.values(), _MORE, "Take your time.")
FOLLOW_UP_HINTS = (*_FOLLOW_UPS, None)


class OfflineInterviewer:
    name = "offline"

    def __init__(self, *, delta_words: int = 3) -> None:
        self.delta_words = delta_words

    def reply_text(self, context: InterviewContext) -> str:
        instruction = context.instruction
        question = instruction.question.text if instruction.question else ""
        name = f", {context.candidate_first_name}" if context.candidate_first_name else ""
        answered = sum(1 for message in context.history if message.role == "candidate")
        ack = _ACKNOWLEDGEMENTS[answered % len(_ACKNOWLEDGEMENTS)]
        if instruction.action == "greet":
            total = len(context.plan)
            return (
                f"Hi{name}, thanks for joining. I'll ask you {total} "
                f"question{'s' if total != 1 else ''}; take your time with each. "
                f"Let's begin. {question}"
            )
        if instruction.action == "resume":
            return f"Welcome back{name}. Let's pick up where we left off. {question}"
        if instruction.action == "follow_up":
            return _FOLLOW_UPS.get(instruction.hint or "", _MORE)
        if instruction.action == "next_question":
            return f"{ack} {question}"
        return (
            f"{ack} That's all my questions. Thank you for your time today{name}; "
            "your feedback will be ready shortly. Goodbye."
        )

    async def respond(self, context: InterviewContext) -> AsyncIterator[str]:
        spoken = self.reply_text(context).split(" ")
        for start in range(0, len(spoken), self.delta_words):
            yield " ".join(spoken[start : start + self.delta_words]) + " "
