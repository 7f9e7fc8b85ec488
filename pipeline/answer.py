"""The candidate's answer: the words heard while it is given, and, once given, the
exchange (question and answer) that becomes a stored turn."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.feedback.signals import keywords, overlap
from pipeline.interviewer.types import Message
from pipeline.metrics import TurnMetrics
from pipeline.playback import AgentTurn
from pipeline.turns import TurnPolicy
from storage.types import InterviewTurn, PlannedQuestion, TurnWord
from voices.types import Transcript, WordTiming


@dataclass(frozen=True)
class FinalizedTurn:
    """A finished exchange, ready to persist: handed over as soon as the answer is given
    (without the metrics of the reply to it), then again with only those metrics new once
    the reply has ended (``metrics_only``)."""

    record: InterviewTurn
    user_id: str
    metrics_only: bool = False


def conversation(prior: Sequence[InterviewTurn]) -> list[Message]:
    """What was said in the turns ``prior`` (in turn order)."""
    said: list[Message] = []
    for record in prior:
        said.append(Message("interviewer", record.question))
        if record.answer:
            said.append(Message("candidate", record.answer))
    return said


# A question cut short was heard once the candidate heard half its key words: its
# beginning ("Tell me about a time …") is what they answer to.
_HEARD_SHARE = 0.5
# Speech before the question was heard answers it only if it is a real answer on its
# subject (a candidate anticipating "tell me about yourself"), not "hi, happy to be here".
_EARLY_ANSWER_WORDS = 20
_EARLY_ANSWER_SHARE = 0.3


def question_heard(spoken: str, question: PlannedQuestion) -> bool:
    """Whether ``spoken`` (the words of a turn heard before it was cut short) asked
    ``question``, not only the greeting or acknowledgement before it."""
    wanted = keywords(question.text)
    if not wanted:
        return "?" in spoken or question.text.strip().lower() in spoken.lower()
    return overlap(wanted, spoken) >= _HEARD_SHARE


def answers_unheard(answer: str, question: PlannedQuestion) -> bool:
    """Whether ``answer``, given before ``question`` was heard, answers it anyway."""
    wanted = keywords(question.text) | keywords(question.competency or "")
    return (
        len(answer.split()) >= _EARLY_ANSWER_WORDS
        and overlap(wanted, answer) >= _EARLY_ANSWER_SHARE
    )


@dataclass(frozen=True)
class Said:
    """Words the candidate finished saying: their text, timings and seconds of audio."""

    text: str
    words: tuple[WordTiming, ...] = ()
    audio_s: float = 0.0

    def then(self, later: Said) -> Said:
        """This, followed by ``later`` (speech kept for a question, then its answer)."""
        text = " ".join(part for part in (self.text, later.text) if part)
        return Said(text, (*self.words, *later.words), self.audio_s + later.audio_s)


@dataclass
class Answer:
    """The answer in progress: final transcripts so far and the interim one after them."""

    finals: list[str] = field(default_factory=list)
    words: list[WordTiming] = field(default_factory=list)
    interim: str = ""
    last_final_at: float | None = None  # when the last final transcript arrived
    speech_end_s: float | None = None  # audio time of the end of speech being waited on
    final_arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def text(self) -> str:
        """What has been heard so far, the interim words included."""
        return " ".join([*self.finals, self.interim]).strip()

    def finals_text(self) -> str:
        return " ".join(self.finals)

    def add_final(self, event: Transcript) -> None:
        if event.text.strip():
            self.finals.append(event.text.strip())
            self.words.extend(event.words)
            self.last_final_at = event.received_at
            self.final_arrived.set()
        self.interim = ""

    def keep_interim(self) -> None:
        """Count the interim words as final (the recognizer did not finalize in time)."""
        if self.interim:
            self.finals.append(self.interim)
            self.interim = ""

    def last_word_end_s(self, otherwise: float) -> float:
        return self.words[-1].end_s if self.words else otherwise

    def audio_s(self) -> float:
        """Seconds of audio from the first word to the last."""
        return (self.words[-1].end_s - self.words[0].start_s) if self.words else 0.0

    def patience_s(
        self,
        policy: TurnPolicy,
        *,
        question: str,
        spoken_at: float | None,
        now: float,
        heard: str | None = None,
        heard_words: Sequence[WordTiming] = (),
    ) -> float:
        """How much longer to wait for more words, ``now``, when the last word heard
        ended at ``spoken_at``, for this answer to ``question``. Patience counts from the
        end of the last word, not from when its transcript arrived: the silence the
        recognizer needed to call it the end is part of it. ``heard``: the words to judge
        when they are more than the finals (those of an eager end of turn), timed after
        the finals' by ``heard_words``."""
        said = self.finals_text() if heard is None else heard
        timings = [*self.words, *heard_words] if heard is not None else self.words
        patience = policy.patience_for(said, question=question, timings=timings)
        if spoken_at is not None:
            patience = max(0.0, patience - max(0.0, now - spoken_at))
        return patience

    def take(self) -> Said:
        """The whole answer; a new one begins."""
        taken = Said(self.finals_text().strip(), tuple(self.words), self.audio_s())
        self.clear()
        return taken

    def clear(self) -> None:
        """Start a new answer (the event others may be waiting on stays the same)."""
        self.finals, self.words, self.interim = [], [], ""
        self.last_final_at, self.speech_end_s = None, None


@dataclass
class Exchange:
    """An answered question, waiting for the metrics of the reply to it."""

    question_turn: AgentTurn
    question: str  # the words of it the candidate heard
    interrupted: bool
    answer: Said

    def record(
        self, interview_id: str, reply: AgentTurn | None, *, default_source: str
    ) -> InterviewTurn:
        """The stored turn, with the metrics of ``reply`` (none if there was no reply)."""
        asked = self.question_turn
        number = asked.instruction.question_number
        return InterviewTurn(
            interview_id=interview_id,
            turn=asked.number,
            question=self.question,
            question_index=number - 1 if number else None,
            interrupted=self.interrupted,
            answer=self.answer.text,
            words=tuple(
                TurnWord(w.word, w.start_s, w.end_s, w.confidence) for w in self.answer.words
            ),
            answer_audio_s=round(self.answer.audio_s, 3),
            metrics=TurnMetrics.of(reply.stamps).as_dict() if reply is not None else {},
            interviewer_source=asked.source or default_source,
            created_at=datetime.now(UTC),
            question_end_s=(
                round(asked.ended_at_audio_s, 3) if asked.ended_at_audio_s is not None else None
            ),
            question_audio_s=round(asked.spoken_audio_s(), 3),
        )
