"""Hearing the candidate: recognition events in, the answer being built, and when to take
the turn.

``Listening`` keeps the answer in progress (``pipeline.answer.Answer``) and the wait
after its last word (``TurnPolicy``: how long depends on what was said and on the
question). It begins the speculative reply (through the session, which knows the plan)
when the wait is nearly over or at a recognizer's eager end of turn, and discards it
when more words come. Speech over the interviewer goes to the session: a pause at once,
a barge-in on real words. The session implements ``Floor``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Protocol

from pipeline.answer import Answer
from pipeline.interruptions import SpeechOverInterviewer, Stage
from pipeline.playback import AudioClock
from pipeline.protocol import ErrorEvent, TranscriptEvent
from pipeline.speculation import Speculations
from pipeline.turns import TurnPolicy, interrupts, is_backchannel, looks_unfinished, words
from voices.types import (
    EagerEndOfTurn,
    RecognitionStream,
    SpeechError,
    SpeechStarted,
    Transcript,
    TurnResumed,
    UtteranceEnd,
)


class Floor(Stage, Protocol):
    """What hearing the candidate needs of the live session (also what the speech over
    the interviewer needs: ``emit``, ``spawn``, ``still_speaking``)."""

    turn: int

    def candidate_has_floor(self) -> bool: ...

    def interviewer_speaking(self) -> bool: ...

    def pause_interviewer(self) -> None: ...

    def keep_warm(self) -> None:
        """The candidate speaks: the reply may be due soon; have its connections open."""
        ...

    def barge_in(self) -> None: ...

    def question_asked(self) -> str:
        """What the interviewer last said: how long an answer to it deserves."""
        ...

    def begin_reply(self, answer: str) -> None:
        """Begin the reply to ``answer``, to be spoken only if the turn is taken on it."""
        ...

    def take_turn(self) -> None:
        """The answer is over: the interviewer's turn."""
        ...


class TurnTaking(Protocol):
    """The session's settings for taking the turn (``pipeline.session.SessionConfig``)."""

    @property
    def policy(self) -> TurnPolicy: ...

    @property
    def speculate(self) -> bool:
        """Whether a reply is begun before the turn is taken."""
        ...

    @property
    def speculation_lead_s(self) -> float:
        """How long before the end of the wait it is begun."""
        ...


class Listening:
    def __init__(
        self,
        floor: Floor,
        config: TurnTaking,
        *,
        speculations: Speculations,
        speech_over: SpeechOverInterviewer,
        clock: Callable[[], float],
    ) -> None:
        self.floor = floor  # a weak proxy of the session: no cycle keeps it alive
        self.config = config
        self.speculations = speculations
        self.speech_over = speech_over
        self.clock = clock
        self.answer = Answer()
        self.audio_clock = AudioClock(16000)
        self._timer: asyncio.Task[None] | None = None

    async def hear(self, stream: RecognitionStream) -> None:
        async for event in stream.events():
            if isinstance(event, Transcript):
                self._on_transcript(event)
            elif isinstance(event, SpeechStarted):
                self.floor.keep_warm()
                self.speech_over.speech_changed(open_=True)
                if self.floor.interviewer_speaking():
                    self.floor.pause_interviewer()
                self.cancel_timer()
                self.speculations.discard()
            elif isinstance(event, UtteranceEnd):
                self.speech_over.speech_changed(open_=False)
                self._on_end_of_speech(event.last_word_end_s)
            elif isinstance(event, EagerEndOfTurn):
                self._on_eager_end_of_turn(event)
            elif isinstance(event, TurnResumed):
                self.cancel_timer()
                self.speculations.discard()
            elif isinstance(event, SpeechError):
                self.floor.emit(ErrorEvent(self.floor.turn, event.code, event.message))

    def _on_transcript(self, event: Transcript) -> None:
        floor = self.floor
        if event.speech_final:
            self.speech_over.speech_changed(open_=False)
        if floor.interviewer_speaking():
            if not interrupts(event.text, self.config.policy):
                # A backchannel ("mm-hm") while the interviewer talks is no answer; a first
                # word of something else holds the interviewer until it is known which.
                if words(event.text) and not is_backchannel(event.text):
                    floor.pause_interviewer()
                return
            floor.barge_in()
        if not floor.candidate_has_floor():
            return
        answer = self.answer
        if event.text.strip():
            floor.keep_warm()  # a recognizer may send no SpeechStarted
            self.cancel_timer()
            # Words came after those it was begun on; the same words made final (Flux's
            # end of turn after its eager one) are what it was begun on.
            heard = " ".join(f"{answer.finals_text()} {event.text}".split())
            if not self.speculations.begun_on(heard):
                self.speculations.discard()
        if event.is_final:
            answer.add_final(event)
            floor.emit(TranscriptEvent(floor.turn, answer.text(), final=True))
            if event.speech_final:
                self._on_end_of_speech(event.end_s, sound_only=not event.text.strip())
        elif event.text.strip():
            answer.interim = event.text.strip()
            floor.emit(TranscriptEvent(floor.turn, answer.text(), final=False))

    def _on_end_of_speech(self, audio_end_s: float, *, sound_only: bool = False) -> None:
        """The recognizer heard speech end at ``audio_end_s``; ``sound_only``: a final
        with no words (a breath, the first sound of a word after a pause), so the candidate
        was not silent since the last word and the wait counts from this sound."""
        answer = self.answer
        if not self.floor.candidate_has_floor() or not answer.finals:
            return
        last_word_end_s = answer.last_word_end_s(otherwise=audio_end_s)
        audio_end_s = max(last_word_end_s, audio_end_s) if sound_only else last_word_end_s
        if (
            self._timer is not None
            and not self._timer.done()
            and answer.speech_end_s == audio_end_s
        ):
            return  # UtteranceEnd after speech_final: the same silence, already being waited on
        answer.speech_end_s = audio_end_s
        self.cancel_timer()
        spoken_at = self.audio_clock.wall_at(audio_end_s)
        # What the question deserves is part of the decision: a one-line answer to "tell
        # me about a time …" is more likely a pause than an end.
        patience = answer.patience_s(
            self.config.policy,
            question=self.floor.question_asked(),
            spoken_at=spoken_at,
            now=self.clock(),
        )
        self._timer = self.floor.spawn(self._patience(patience), "turn-timer")

    async def _patience(self, seconds: float) -> None:
        if self.config.speculate:
            # The reply is begun no earlier than it must be to be ready at the decision:
            # a candidate who goes on within a long wait costs no request.
            lead_s = self.config.speculation_lead_s
            if seconds > lead_s:
                await asyncio.sleep(seconds - lead_s)
            self._begin_reply(" ".join(self.answer.finals_text().split()))
            seconds = min(seconds, lead_s)
        await asyncio.sleep(seconds)
        self._timer = None
        answer = self.answer
        if self.floor.candidate_has_floor() and answer.finals and not answer.interim:
            self.floor.take_turn()

    def cancel_timer(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None

    async def end_turn_now(self, stream: RecognitionStream | None) -> None:
        """The candidate said they are done: take what was heard, without patience."""
        self.cancel_timer()
        answer = self.answer
        if stream is not None and (answer.interim or not answer.finals):
            answer.final_arrived.clear()
            await stream.finalize()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    answer.final_arrived.wait(), self.config.policy.end_turn_final_wait_s
                )
        if not self.floor.candidate_has_floor():
            return
        answer.keep_interim()  # the provider did not finalize in time: keep the words anyway
        if not answer.finals:
            self.floor.emit(
                ErrorEvent(self.floor.turn, "empty_answer", "nothing was heard yet; speak or type")
            )
            return
        self.floor.take_turn()

    def _on_eager_end_of_turn(self, event: EagerEndOfTurn) -> None:
        """The recognizer thinks the turn probably ended (Deepgram Flux): begin the reply
        on the words it heard; its final end of turn, with the same words, takes it."""
        if not self.floor.candidate_has_floor() or not self.config.speculate:
            return
        heard = " ".join(f"{self.answer.finals_text()} {event.transcript_text}".split())
        if not words(heard):
            return
        # As after any end of speech, no earlier than the reply's lead before the wait
        # the policy gives these words is over: a candidate who goes on within a long
        # wait (a short answer to an open question) costs no request.
        wait = self.answer.patience_s(
            self.config.policy,
            question=self.floor.question_asked(),
            spoken_at=self.audio_clock.wall_at(event.last_word_end_s),
            now=self.clock(),
            heard=heard,
            heard_words=event.words,
        )
        if wait <= self.config.speculation_lead_s:
            self._begin_reply(heard)

    def _begin_reply(self, answer: str) -> None:
        if self.speculations.begun_on(answer):
            return
        self.speculations.discard()
        if looks_unfinished(answer):
            # Words that trail off are nearly always followed by more (bench/turns.py):
            # a reply begun on them would be an LLM request thrown away.
            return
        self.floor.begin_reply(answer)
