"""One live interview over one connection: the state machine and its tasks.

Frames come in through ``run(inbound)``; everything for the client goes out through the
bounded ``outgoing`` queue (JSON events and PCM16 audio). One task group owns the receive
loop, the hearing of the candidate (``pipeline.listening``: the answer, the wait after it,
when to take the turn), the current interviewer turn (its voice is ``pipeline.playback``)
and the speculative reply (``pipeline.speculation``), spoken only if the turn is taken on
exactly the words it was begun on. States: ``created`` (waiting for ``start``) →
``greeting`` → ``listening`` ⇄ ``responding`` → ``closing`` → ``ended``. Nothing here
awaits the database: finalized turns go to ``on_turn`` (which must not block).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import weakref
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final, cast

from pipeline.answer import (
    Exchange,
    FinalizedTurn,
    Said,
    answers_unheard,
    conversation,
    question_heard,
)
from pipeline.chunker import SpeechChunker
from pipeline.interruptions import SpeechOverInterviewer
from pipeline.interviewer.types import (
    ASKED_AGAIN,
    Instruction,
    InterviewContext,
    Interviewer,
    InterviewerError,
    Message,
)
from pipeline.listening import Floor, Listening
from pipeline.metrics import TurnStamps
from pipeline.plan import PlanCursor
from pipeline.playback import AgentTurn, AudioClock, Outgoing, Playback
from pipeline.protocol import (
    AgentTurnEndEvent,
    AgentTurnStartEvent,
    ClientMessage,
    EndTurn,
    ErrorEvent,
    Interrupt,
    InterviewEndEvent,
    ProtocolError,
    ReadyEvent,
    Start,
    Stop,
    TextAnswer,
    UserTurnEndEvent,
    check_audio_frame,
    parse_text_frame,
)
from pipeline.speculation import Speculation, Speculations
from pipeline.turns import TurnPolicy
from storage.types import Interview, InterviewTurn, PlannedQuestion
from voices.types import RecognitionStream, SpeechRecognizer, SpeechSynthesizer, SynthesisStream

log = logging.getLogger("intrvuer.session")

# At most this often (s) the session checks that the next reply's connections are open.
WARM_EVERY_S: Final = 5.0


class State(StrEnum):
    created = "created"
    greeting = "greeting"
    listening = "listening"
    responding = "responding"
    closing = "closing"
    ended = "ended"


class SlowClient(Exception):
    """The client stopped reading; its bounded output queue is full."""


@dataclass(frozen=True)
class SessionConfig:
    policy: TurnPolicy = field(default_factory=TurnPolicy)
    audio_lead_s: float = 0.3  # how far ahead of real time interviewer audio is sent
    frame_s: float = 0.08  # interviewer audio goes out in frames of this length
    outgoing_max: int = 512  # frames and events queued for the client before it is cut off
    max_follow_ups: int = 1  # per planned question
    first_token_timeout_s: float = 5.0
    # Start the reply at the end of speech, while the turn is still being decided, so
    # the patience overlaps the LLM instead of preceding it. Nothing of it is spoken
    # unless the turn is taken on exactly the words it was begun on.
    speculate: bool = True
    # How long before the end of the wait the reply is begun: a cloud model's first token
    # (0.3 s at the providers' published latency) with room to spare.
    speculation_lead_s: float = 0.6
    # Speech over the interviewer pauses its audio at once; with no real words within
    # this long (a backchannel, a cough) it plays on from where it paused.
    barge_in_confirm_s: float = 1.0


class Session:
    """A live interview. Create one per connection and ``await run(inbound)``."""

    def __init__(
        self,
        *,
        interview: Interview,
        recognizer: SpeechRecognizer,
        synthesizer: SpeechSynthesizer,
        interviewer: Interviewer,
        background: str = "",
        candidate_first_name: str | None = None,
        prior_turns: list[InterviewTurn] | None = None,
        on_turn: Callable[[FinalizedTurn], None] = lambda turn: None,
        on_metrics: Callable[[int, dict[str, float]], None] = lambda turn, values: None,
        config: SessionConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interview = interview
        self.recognizer = recognizer
        self.synthesizer = synthesizer
        self.interviewer = interviewer
        self.background = background
        self.candidate_first_name = candidate_first_name
        self.config = config or SessionConfig()
        self.clock = clock
        self.on_turn = on_turn
        self.on_metrics = on_metrics
        self.outgoing: asyncio.Queue[Outgoing | None] = asyncio.Queue(self.config.outgoing_max)
        self.state = State.created
        self.end_reason: str | None = None

        prior = sorted(prior_turns or [], key=lambda t: t.turn)
        self.resumed = bool(prior)
        self.turn = prior[-1].turn if prior else 0
        self.history: list[Message] = conversation(prior)
        # The interview's kind follows up the questions planned before each kept its own.
        self.plan = PlanCursor.after(
            interview.questions,
            prior,
            max_follow_ups=self.config.max_follow_ups,
            kind=interview.kind,
        )

        self._stt: RecognitionStream | None = None
        self._tts: SynthesisStream | None = None
        self._playback: Playback | None = None
        self._agent: AgentTurn | None = None
        self._agent_task: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._done = asyncio.Event()
        self._stopped_input = False
        self._clearing: asyncio.Task[None] | None = None
        # The last question asked (the turn, its spoken words, whether it was cut short),
        # then, once answered, the exchange waiting for the metrics of the next reply.
        self._asked: tuple[AgentTurn, str, bool] | None = None
        self._pending: Exchange | None = None
        # What the candidate said over the greeting or an acknowledgement, before its
        # planned question was heard: kept for that question, which is asked again.
        self._kept: Said | None = None
        self._speculations = Speculations()
        self._warmed_at = -WARM_EVERY_S
        # What acts on the session holds it as a weak proxy: the session is freed as soon
        # as its connection lets go of it, with no cycle left for the garbage collector.
        floor = cast(Floor, weakref.proxy(self))
        self._speech_over = SpeechOverInterviewer(
            floor, confirm_s=self.config.barge_in_confirm_s, clock=clock
        )
        self._listening = Listening(
            floor,
            self.config,
            speculations=self._speculations,
            speech_over=self._speech_over,
            clock=clock,
        )

    # Output -------------------------------------------------------------------------

    def emit(self, item: Outgoing) -> None:
        if self.state is State.ended and isinstance(item, bytes):
            return
        try:
            self.outgoing.put_nowait(item)
        except asyncio.QueueFull:
            raise SlowClient from None

    # Running --------------------------------------------------------------------------

    async def run(self, inbound: AsyncIterator[bytes | str]) -> str:
        """Run until the interview ends, the client stops or disconnects. Returns why."""
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self.spawn(self._receive(inbound), "session-receive")
                await self._done.wait()
                for task in self._tasks:
                    task.cancel()
        except* SlowClient:
            self.end_reason = "client_too_slow"
        finally:
            self.state = State.ended
            if self._pending is not None:
                self._persist(self._pending, self._agent, metrics_only=True)
                self._pending = None
            self._persist_kept()
            await self._close_streams()
            with contextlib.suppress(asyncio.QueueFull):
                self.outgoing.put_nowait(None)  # tells the sender there is nothing more
            self._release()
        return self.end_reason or "disconnected"

    def _release(self) -> None:
        """Drop what refers back to this session (the playback holds ``emit``; a done task
        keeps the exception that ended it, whose frames hold ``self``), so that the session
        and its streams are freed as soon as the connection lets go of it, not left as a
        cycle for the server's rare full garbage collections."""
        self._playback = None
        self._speech_over.stop()
        self._listening.cancel_timer()
        self._agent_task = self._clearing = None
        self._group = None
        self._speculations.discard()
        self._tasks.clear()

    def _finish(self, reason: str) -> None:
        if self.end_reason is None:
            self.end_reason = reason
        self._done.set()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        assert self._group is not None
        task = self._group.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _close_streams(self) -> None:
        for stream in (self._stt, self._tts):
            if stream is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(stream.close(), timeout=2)

    # Receiving ------------------------------------------------------------------------

    async def _receive(self, inbound: AsyncIterator[bytes | str]) -> None:
        try:
            async for frame in inbound:
                try:
                    if isinstance(frame, bytes):
                        await self._on_audio(frame)
                    else:
                        await self._on_message(parse_text_frame(frame))
                except ProtocolError as problem:
                    self.emit(
                        ErrorEvent(self.turn, problem.code, problem.message, fatal=problem.fatal)
                    )
                    if problem.fatal:
                        self._finish(problem.code)
                        return
        finally:
            self._finish("disconnected")

    async def _on_audio(self, frame: bytes) -> None:
        check_audio_frame(frame)
        if self.state is State.created:
            raise ProtocolError("unexpected_audio", "expected a 'start' message before audio")
        if self.state is State.ended:
            return  # frames already on their way when the interview ended: nothing to say
        if self._stopped_input:
            raise ProtocolError("unexpected_audio", "audio after 'stop' is ignored")
        self._listening.audio_clock.add(len(frame), self.clock())
        assert self._stt is not None
        await self._stt.send(frame)

    async def _on_message(self, message: ClientMessage) -> None:
        if self.state is State.created and not isinstance(message, Start | Stop):
            raise ProtocolError(
                "unexpected_message",
                f"expected 'start' first; got '{message.type}'",
            )
        if isinstance(message, Start):
            if self.state is not State.created:
                raise ProtocolError("unexpected_message", "'start' was already received")
            await self._start(message)
        elif isinstance(message, Stop):
            self._stopped_input = True
            self.emit(InterviewEndEvent(self.turn, reason="stopped"))
            self._finish("stopped")
        elif isinstance(message, EndTurn):
            if self.state is not State.listening:
                raise ProtocolError(
                    "unexpected_message",
                    f"'end_turn' is only valid while listening; the interview is {self.state}",
                )
            self.spawn(self._listening.end_turn_now(self._stt), "end-turn")
        elif isinstance(message, Interrupt):
            if self.interviewer_speaking():
                self.barge_in()
        elif isinstance(message, TextAnswer):
            if self.interviewer_speaking():
                self.barge_in()
            if self.state is not State.listening:
                raise ProtocolError(
                    "unexpected_message",
                    f"a typed answer is only valid while listening; the interview is {self.state}",
                )
            self._listening.answer.finals.append(message.text)
            self._end_user_turn(typed=True)

    async def _start(self, start: Start) -> None:
        self._listening.audio_clock = AudioClock(start.input_rate)
        try:
            self._stt = await self.recognizer.open(sample_rate=start.input_rate)
            self._tts = await self.synthesizer.open(
                sample_rate=start.output_rate, voice=self.interview.voice
            )
        except Exception as failure:  # any provider failure at start ends this attempt
            log.error("speech providers failed to open", extra={"error": repr(failure)})
            raise ProtocolError(
                "provider_unavailable", "speech services are unavailable; try again", fatal=True
            ) from None
        self.emit(
            ReadyEvent.of(
                self.turn,
                input_rate=start.input_rate,
                output_rate=start.output_rate,
                interview_id=self.interview.id,
                resumed=self.resumed,
            )
        )
        self._playback = Playback(
            self._tts,
            output_rate=start.output_rate,
            frame_s=self.config.frame_s,
            audio_lead_s=self.config.audio_lead_s,
            clock=self.clock,
            emit=self.emit,
            ended=self._done,
            on_metrics=self.on_metrics,
        )
        self.spawn(self._listening.hear(self._stt), "session-recognition")
        self.spawn(self._playback.pump(), "session-synthesis")
        first = self.plan.opening()
        self.state = State.closing if first.action == "close" else State.greeting
        self._start_agent_turn(first, TurnStamps(turn_decision=self.clock()))
        self.keep_warm()  # after the greeting's request, which may open the connection itself

    # Recognition --------------------------------------------------------------------

    def begin_reply(self, answer: str) -> None:
        """Begin the reply to ``answer``, to be spoken only if the turn is taken on exactly
        these words: the plan moves on, and the reply is heard, only then."""
        plan = dataclasses.replace(self.plan)
        instruction = self._instruction_after(plan, answer)
        history = (*self.history, Message("candidate", answer))
        speculation = Speculation(answer, plan, instruction, started_at=self.clock())
        stream = self.interviewer.respond(self._context(instruction, history))
        speculation.task = self.spawn(speculation.pull(stream, self.clock), "speculative-reply")
        self._speculations.begun(speculation)

    # The floor (what pipeline/listening.py asks of the session) ----------------------

    def candidate_has_floor(self) -> bool:
        return self.state is State.listening

    def keep_warm(self) -> None:
        """Have what the next reply needs connected before the answer ends (the LLM's
        pooled connection, the voice's socket), so that no reply waits for a handshake."""
        now = self.clock()
        if now - self._warmed_at < WARM_EVERY_S:
            return
        self._warmed_at = now
        self.spawn(self.interviewer.warm(), "warm-interviewer")
        if self._tts is not None:
            self._tts.warm()

    def question_asked(self) -> str:
        return self._asked[1] if self._asked is not None else ""

    def take_turn(self) -> None:
        self._end_user_turn(typed=False)

    # Turn decisions -----------------------------------------------------------------

    def _end_user_turn(self, *, typed: bool) -> None:
        decided = self.clock()
        stamps = TurnStamps(turn_decision=decided)
        self._listening.cancel_timer()
        heard = self._listening.answer
        if not typed:
            stamps.final_transcript = heard.last_final_at
            if heard.speech_end_s is not None:
                stamps.end_of_speech = self._listening.audio_clock.wall_at(heard.speech_end_s)
        said = heard.take()
        answer = said.text
        # A typed answer takes no reply begun on spoken words.
        speculation = self._speculations.take("" if typed else answer)
        self.emit(UserTurnEndEvent(self.turn, answer))
        self.history.append(Message("candidate", answer))
        if speculation is not None:
            self.plan, instruction = speculation.plan, speculation.instruction
        else:
            instruction = self._instruction_after(self.plan, answer)
        if instruction.hint == ASKED_AGAIN:
            self._kept, self._asked = said, None
        elif self._asked is not None:
            asked, spoken, cut_short = self._asked
            if self._kept is not None:
                said, self._kept = self._kept.then(said), None
            self._pending = Exchange(asked, spoken, cut_short, said)
            # Handed over now, not when the reply ends: an instance that dies while the
            # interviewer replies keeps the answer.
            self._persist(self._pending, None)
            self._asked = None
        self.state = State.closing if instruction.action == "close" else State.responding
        speculative = self._speculations.metrics(speculation, decided)
        self._start_agent_turn(instruction, stamps, speculation, speculative)

    def _instruction_after(self, plan: PlanCursor, answer: str) -> Instruction:
        """What follows ``answer`` in ``plan``. Speech over the words before a planned
        question (the greeting, an acknowledgement) is no answer to it unless it answers
        it anyway: the question is asked again, once."""
        unheard = self._unheard_question()
        if unheard is not None and self._kept is None and not answers_unheard(answer, unheard):
            return plan.ask_again()
        kept = self._kept.text if self._kept is not None else ""
        return plan.after_answer(f"{kept} {answer}".strip())

    def _unheard_question(self) -> PlannedQuestion | None:
        """The planned question of the last turn if it was cut short before it was heard."""
        if self._asked is None:
            return None
        agent, spoken, cut_short = self._asked
        question = agent.instruction.question
        if not cut_short or agent.instruction.action == "follow_up" or question is None:
            return None
        return None if question_heard(spoken, question) else question

    def _persist_kept(self) -> None:
        """Speech kept for a question the interview ended before it was answered: stored
        under that question, so nothing the candidate said is lost."""
        kept, agent = self._kept, self._agent
        self._kept = None
        if kept is None or agent is None or agent.instruction.question_number is None:
            return
        if self._asked is not None and self._asked[0] is agent:
            _, spoken, cut_short = self._asked
        else:  # the interview ended while the question was being asked again
            spoken, cut_short = agent.spoken_text(self.clock()), True
        self._persist(Exchange(agent, spoken, cut_short, kept), None)

    # The interviewer's turn -----------------------------------------------------------

    def interviewer_speaking(self) -> bool:
        return self._agent_task is not None and not self._agent_task.done()

    def still_speaking(self, agent: AgentTurn) -> bool:
        return agent is self._agent and self.interviewer_speaking()

    def _start_agent_turn(
        self,
        instruction: Instruction,
        stamps: TurnStamps,
        speculation: Speculation | None = None,
        speculative: dict[str, float] | None = None,
    ) -> None:
        self.turn += 1
        agent = AgentTurn(self.turn, instruction, stamps, extra_metrics=speculative or {})
        self._agent = agent
        self._agent_task = self.spawn(
            self._agent_turn(agent, speculation), f"agent-turn-{agent.number}"
        )

    def pause_interviewer(self) -> None:
        agent = self._agent
        if agent is not None and self.interviewer_speaking():
            self._speech_over.pause(agent)

    def barge_in(self) -> None:
        """Candidate speech while the interviewer talks: stop audio and the LLM at once."""
        task, agent = self._agent_task, self._agent
        if task is None or task.done() or agent is None:
            return
        self._speech_over.stop()
        task.cancel()
        self._agent_task = None
        spoken = agent.spoken_text(self.clock())
        self._conclude_agent_turn(agent, spoken, interrupted=True)
        if self._playback is not None:
            self._playback.drain()
            self._clearing = self.spawn(self._playback.tts.clear(), "tts-clear")

    def _conclude_agent_turn(self, agent: AgentTurn, spoken: str, *, interrupted: bool) -> None:
        self._speech_over.stop()
        agent.ended_at = self.clock()
        agent.ended_at_audio_s = self._listening.audio_clock.received_s
        self.emit(AgentTurnEndEvent(self.turn, spoken, interrupted=interrupted))
        if spoken:
            self.history.append(Message("interviewer", spoken))
        if self._pending is not None:
            self._persist(self._pending, agent, metrics_only=True)
            self._pending = None
        if agent.instruction.action != "close":
            self._asked = (agent, spoken, interrupted)
        elif not interrupted:
            self.state = State.ended
            self.emit(InterviewEndEvent(self.turn, reason="completed"))
            self._finish("completed")
            return
        if self.state is not State.ended:
            self.state = State.listening

    def _persist(
        self, exchange: Exchange, reply: AgentTurn | None, *, metrics_only: bool = False
    ) -> None:
        """Hand a finished exchange to ``on_turn``, with the metrics of the reply to it
        (``metrics_only``: the exchange was handed over before, without them)."""
        record = exchange.record(self.interview.id, reply, default_source=self.interviewer.name)
        try:
            self.on_turn(
                FinalizedTurn(
                    record=record, user_id=self.interview.user_id, metrics_only=metrics_only
                )
            )
        except Exception:  # persistence trouble must never end a live interview
            log.exception("could not hand over a finalized turn", extra={"turn": record.turn})

    def _context(
        self, instruction: Instruction, history: tuple[Message, ...] | None = None
    ) -> InterviewContext:
        return InterviewContext(
            kind=self.interview.kind,
            candidate_first_name=self.candidate_first_name,
            background=self.background,
            plan=self.interview.questions,
            history=tuple(self.history) if history is None else history,
            instruction=instruction,
        )

    async def _agent_turn(self, agent: AgentTurn, speculation: Speculation | None) -> None:
        playback = self._playback
        assert playback is not None
        self.emit(AgentTurnStartEvent(self.turn, agent.instruction.action))
        if self._clearing is not None:
            # A barge-in cleared synthesis: wait until the provider confirmed it, so no
            # audio of the interrupted turn can leak into this one.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._clearing), timeout=2)
            self._clearing = None
            playback.drain()
        producer_done = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(playback.play(agent, producer_done))
                # In this task, not a new one: the LLM request goes out without waiting
                # for another turn of a busy event loop.
                await self._produce_text(agent, playback, producer_done, speculation)
        except* InterviewerError as failure:
            message = str(failure.exceptions[0])
            log.warning("interviewer failed", extra={"error": message, "turn": agent.number})
            self.emit(
                ErrorEvent(
                    agent.number,
                    "interviewer_unavailable",
                    "the interviewer could not answer; please repeat or type your answer",
                )
            )
        await playback.finish(agent)
        self._agent_task = None
        self._conclude_agent_turn(agent, " ".join(agent.chunks), interrupted=False)

    async def _produce_text(
        self,
        agent: AgentTurn,
        playback: Playback,
        done: asyncio.Event,
        speculation: Speculation | None = None,
    ) -> None:
        chunker = SpeechChunker()
        stamps = agent.stamps
        try:
            # A speculative reply was requested earlier; what is measured from here is
            # the wait that remained after the turn was decided.
            stamps.llm_request = self.clock()
            deltas = (
                speculation.text()
                if speculation is not None
                else self.interviewer.respond(self._context(agent.instruction))
            )
            async for delta in deltas:
                if stamps.llm_first_token is None:
                    stamps.llm_first_token = self.clock()
                for chunk in chunker.push(delta):
                    await playback.speak(agent, chunk)
            agent.source = self.interviewer.source
            for chunk in chunker.flush():
                await playback.speak(agent, chunk)
        finally:
            if speculation is not None:
                speculation.cancel()  # a barge-in stops the reply's LLM stream too
            done.set()


__all__ = ["FinalizedTurn", "Session", "SessionConfig", "SlowClient", "State"]
