"""The offline interviewer: phrases each reply from templates, with no LLM.

Deterministic, so the same interview reads the same way every time; its replies are
labelled ``offline`` wherever they are stored or shown. Its templates also declare
``GENERIC_PHRASES``: what it can say that carries nothing of any candidate, the only
speech the phrase cache may keep on disk (``voices.phrase_cache``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

from pipeline.chunker import SpeechChunker
from pipeline.followups import FOLLOW_UP_QUESTIONS
from pipeline.interviewer.types import ASKED_AGAIN, Instruction, InterviewContext, Message
from pipeline.questions import ALL_BANK_QUESTIONS

_ACKNOWLEDGEMENTS = ("Thank you.", "Got it, thanks.", "Thanks for that.", "Understood.")
ACKNOWLEDGEMENT_CYCLE = len(_ACKNOWLEDGEMENTS)  # replies after n and n + this many answers agree
# Every kind's follow-ups (pipeline/kinds.py), by the hint the session gives.
_FOLLOW_UPS = FOLLOW_UP_QUESTIONS
_MORE = "Could you tell me a bit more?"
# Short phrases any interview may need; synthesized ahead of time so they play at once.
FIXED_PHRASES = (*_ACKNOWLEDGEMENTS, *_FOLLOW_UPS.values(), _MORE, "Take your time.")
FOLLOW_UP_HINTS = (*_FOLLOW_UPS, None)


class OfflineInterviewer:
    name = source = "offline"

    def __init__(self, *, delta_words: int = 3) -> None:
        self.delta_words = delta_words

    def reply_text(self, context: InterviewContext) -> str:
        instruction = context.instruction
        question = instruction.question.text if instruction.question else ""
        name = f", {context.candidate_first_name}" if context.candidate_first_name else ""
        answered = sum(1 for message in context.history if message.role == "candidate")
        ack = _ACKNOWLEDGEMENTS[answered % ACKNOWLEDGEMENT_CYCLE]
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
        if instruction.action == "next_question" and instruction.hint == ASKED_AGAIN:
            return f"Sure. Let me ask you this. {question}"
        if instruction.action == "next_question":
            return f"{ack} {question}"
        return (
            f"{ack} That's all my questions. Thank you for your time today{name}; "
            "your feedback will be ready shortly. Goodbye."
        )

    async def warm(self) -> None:
        """Nothing to connect to."""

    async def respond(self, context: InterviewContext) -> AsyncIterator[str]:
        spoken = self.reply_text(context).split(" ")
        for start in range(0, len(spoken), self.delta_words):
            yield " ".join(spoken[start : start + self.delta_words]) + " "


def spoken_chunks(text: str) -> list[str]:
    """A whole reply cut into the chunks the session flushes to speech synthesis."""
    chunker = SpeechChunker()
    return [*chunker.push(text + " "), *chunker.flush()]


# A greeting says how many questions follow; plans are shorter than this.
_GREETING_COUNTS = range(1, 21)


def _generic_replies() -> Iterator[str]:
    """Every reply of the offline interviewer in an interview that knows nothing of its
    candidate: no name, every question from the untailored bank (``pipeline.questions``),
    in every place the templates put one, after any number of answers."""
    interviewer = OfflineInterviewer()

    def reply(instruction: Instruction, *, planned: int = 1, answered: int = 0) -> str:
        question = instruction.question
        return interviewer.reply_text(
            InterviewContext(
                kind="mixed",
                candidate_first_name=None,
                background="",
                plan=(question,) * planned if question else (),
                history=tuple(Message("candidate", "") for _ in range(answered)),
                instruction=instruction,
            )
        )

    answer_counts = range(ACKNOWLEDGEMENT_CYCLE)
    for question in ALL_BANK_QUESTIONS:
        for planned in _GREETING_COUNTS:
            yield reply(Instruction("greet", question=question), planned=planned)
        yield reply(Instruction("resume", question=question))
        yield reply(Instruction("next_question", question=question, hint=ASKED_AGAIN))
        for answered in answer_counts:
            yield reply(Instruction("next_question", question=question), answered=answered)
    for answered in answer_counts:
        yield reply(Instruction("close"), answered=answered)
    for hint in FOLLOW_UP_HINTS:
        yield reply(Instruction("follow_up", hint=hint))
    yield from FIXED_PHRASES


# The chunks of every generic reply, as the session speaks them.
GENERIC_PHRASES: frozenset[str] = frozenset(
    chunk for text in _generic_replies() for chunk in spoken_chunks(text)
)
