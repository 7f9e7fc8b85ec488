"""One live interview over one connection: the state machine and its tasks.

Frames come in through ``run(inbound)``; everything for the client goes out through the
bounded ``outgoing`` queue (JSON events and PCM16 audio). Inside, one task group owns:
the receive loop, the recognition loop, the turn timer and the current interviewer turn.

States: ``created`` (waiting for ``start``) → ``greeting`` → ``listening`` ⇄
``responding`` → ``closing`` → ``ended``. Nothing here awaits the database: finalized
turns are handed to ``on_turn`` (which must not block), and the caller persists them.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from operator import itemgetter
from typing import Any

from pipeline.chunker import SpeechChunker
from pipeline.followups import follow_up_hint
from pipeline.interviewer.types import (
    Instruction,
    InterviewContext,
    Interviewer,
    InterviewerError,
    Message,
)
from pipeline.metrics import TurnMetrics, TurnStamps
from pipeline.protocol import (
    ClientMessage,
    EndTurn,
    EventType,
    Interrupt,
    ProtocolError,
    ServerEvent,
    Start,
    Stop,
    TextAnswer,
    check_audio_frame,
    parse_text_frame,
)
from pipeline.protocol import error as error_event
from pipeline.protocol import ready as ready_event
from pipeline.turns import TurnPolicy, interrupts
from storage.types import Interview, InterviewTurn, PlannedQuestion
from voices.types import (
    SAMPLE_WIDTH,
    AudioChunk,
    RecognitionStream,
    SpeechError,
    SpeechRecognizer,
    SpeechStarted,
    SpeechSynthesizer,
    SynthesisDone,
    SynthesisEvent,
    SynthesisStream,
    Transcript,
    UtteranceEnd,
    WordTiming,
)

log = logging.getLogger("intrvuer.session")

Outgoing = ServerEvent | bytes


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


@dataclass(frozen=True)
class FinalizedTurn:
    """A finished exchange, ready to persist."""

    record: InterviewTurn
    user_id: str


@dataclass
class _Exchange:
    question_turn: _AgentTurn
    question: str
    interrupted: bool
    answer: str
    words: list[WordTiming]
    audio_s: float


@dataclass
class _AgentTurn:
    number: int
    instruction: Instruction
    stamps: TurnStamps
    chunks: list[str] = field(default_factory=list)
    chunk_audio_s: list[float] = field(default_factory=list)
    chunks_done: int = 0
    sent_audio_s: float = 0.0
    playback_started: float | None = None
    text_sent: int = 0  # chunks announced with agent_text
    source: str = ""
    voice_failed: bool = False  # synthesis failed: the rest of the turn is shown as text
    # Candidate audio received (seconds) when the turn's audio finished or was cut off:
    # where the question ended on the candidate's own timeline.
    ended_at_audio_s: float | None = None
    ended_at: float | None = None  # the same moment on the session clock

    def spoken_audio_s(self) -> float:
        """Seconds of the turn's audio the candidate heard (all of it unless cut off)."""
        if self.playback_started is None or self.ended_at is None:
            return self.sent_audio_s
        return max(0.0, min(self.ended_at - self.playback_started, self.sent_audio_s))

    def spoken_text(self, now: float) -> str:
        """The words the candidate has heard by ``now``: whole chunks played, plus the
        played fraction of the current one, cut at a word boundary."""
        if self.playback_started is None:
            return ""
        playhead = min(now - self.playback_started, self.sent_audio_s)
        spoken: list[str] = []
        elapsed = 0.0
        for index, text in enumerate(self.chunks):
            duration = self.chunk_audio_s[index] if index < len(self.chunk_audio_s) else 0.0
            if duration <= 0:
                break
            done = index < self.chunks_done
            if elapsed + duration <= playhead and done:
                spoken.append(text)
                elapsed += duration
                continue
            # Partly played. Until synthesis of the chunk ends its length is an estimate.
            expected = duration if done else max(duration, 0.06 * len(text))
            fraction = max(0.0, min(1.0, (playhead - elapsed) / expected))
            chunk_words = text.split()
            count = int(len(chunk_words) * fraction)
            if count:
                spoken.append(" ".join(chunk_words[:count]))
            break
        return " ".join(spoken)


class _AudioClock:
    """Maps audio time (seconds of candidate audio received) to when it arrived."""

    def __init__(self, sample_rate: int, keep: int = 3000) -> None:
        self.sample_rate = sample_rate
        self.received_s = 0.0
        self._marks: deque[tuple[float, float]] = deque(maxlen=keep)

    def add(self, nbytes: int, now: float) -> None:
        self.received_s += nbytes / SAMPLE_WIDTH / self.sample_rate
        self._marks.append((self.received_s, now))

    def wall_at(self, audio_s: float) -> float | None:
        """When the frame holding ``audio_s`` arrived (the last frame's time if later)."""
        if not self._marks:
            return None
        index = bisect.bisect_left(self._marks, audio_s, key=itemgetter(0))
        return self._marks[min(index, len(self._marks) - 1)][1]


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
        self.output_rate = 24000
        self.outgoing: asyncio.Queue[Outgoing | None] = asyncio.Queue(self.config.outgoing_max)
        self.state = State.created
        self.end_reason: str | None = None

        prior = sorted(prior_turns or [], key=lambda t: t.turn)
        self.resumed = bool(prior)
        self.turn = prior[-1].turn if prior else 0
        self.history: list[Message] = []
        for record in prior:
            self.history.append(Message("interviewer", record.question))
            if record.answer:
                self.history.append(Message("candidate", record.answer))
        self.question_index = max((t.question_index or 0 for t in prior), default=-1)
        self.follow_ups = 0
        if prior and prior[-1].question_index is not None:
            same = [t for t in prior if t.question_index == prior[-1].question_index]
            self.follow_ups = max(0, len(same) - 1)

        self._stt: RecognitionStream | None = None
        self._tts: SynthesisStream | None = None
        self._audio_clock = _AudioClock(16000)
        self._agent: _AgentTurn | None = None
        self._agent_task: asyncio.Task[None] | None = None
        self._timer: asyncio.Task[None] | None = None
        self._group: asyncio.TaskGroup | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._done = asyncio.Event()
        self._stopped_input = False
        # The candidate's answer in progress.
        self._finals: list[str] = []
        self._words: list[WordTiming] = []
        self._interim = ""
        self._last_final_at: float | None = None
        self._speech_end_s: float | None = None
        self._final_arrived = asyncio.Event()
        self._synthesis: asyncio.Queue[SynthesisEvent] = asyncio.Queue(256)
        self._clearing: asyncio.Task[None] | None = None
        # The last question asked (the turn, its spoken words, whether it was cut short),
        # then, once answered, the exchange waiting for the metrics of the next reply.
        self._asked: tuple[_AgentTurn, str, bool] | None = None
        self._pending: _Exchange | None = None

    # Output -------------------------------------------------------------------------

    def emit(self, item: Outgoing) -> None:
        if self.state is State.ended and isinstance(item, bytes):
            return
        try:
            self.outgoing.put_nowait(item)
        except asyncio.QueueFull:
            raise SlowClient from None

    def _event(self, kind: EventType, **data: Any) -> None:
        self.emit(ServerEvent(kind, self.turn, data))

    # Running --------------------------------------------------------------------------

    async def run(self, inbound: AsyncIterator[bytes | str]) -> str:
        """Run until the interview ends, the client stops or disconnects. Returns why."""
        try:
            async with asyncio.TaskGroup() as group:
                self._group = group
                self._spawn(self._receive(inbound), "session-receive")
                await self._done.wait()
                for task in self._tasks:
                    task.cancel()
        except* SlowClient:
            self.end_reason = "client_too_slow"
        finally:
            self.state = State.ended
            if self._pending is not None:
                self._persist(self._pending, self._agent)
                self._pending = None
            await self._close_streams()
            with contextlib.suppress(asyncio.QueueFull):
                self.outgoing.put_nowait(None)  # tells the sender there is nothing more
        return self.end_reason or "disconnected"

    def _finish(self, reason: str) -> None:
        if self.end_reason is None:
            self.end_reason = reason
        self._done.set()

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
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
                        error_event(self.turn, problem.code, problem.message, fatal=problem.fatal)
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
        self._audio_clock.add(len(frame), self.clock())
        assert self._stt is not None
        await self._stt.send(frame)

    async def _on_message(self, message: ClientMessage) -> None:
        if self.state is State.created and not isinstance(message, Start | Stop):
            raise ProtocolError(
                "unexpected_message",
                f"expected 'start' first; got '{_type_name(message)}'",
            )
        if isinstance(message, Start):
            if self.state is not State.created:
                raise ProtocolError("unexpected_message", "'start' was already received")
            await self._start(message)
        elif isinstance(message, Stop):
            self._stopped_input = True
            self._event("interview_end", reason="stopped")
            self._finish("stopped")
        elif isinstance(message, EndTurn):
            if self.state is not State.listening:
                raise ProtocolError(
                    "unexpected_message",
                    f"'end_turn' is only valid while listening; the interview is {self.state}",
                )
            self._spawn(self._end_turn_now(), "end-turn")
        elif isinstance(message, Interrupt):
            if self._agent_speaking():
                self._barge_in()
        elif isinstance(message, TextAnswer):
            if self._agent_speaking():
                self._barge_in()
            if self.state is not State.listening:
                raise ProtocolError(
                    "unexpected_message",
                    f"a typed answer is only valid while listening; the interview is {self.state}",
                )
            self._finals.append(message.text)
            self._end_user_turn(typed=True)

    async def _start(self, start: Start) -> None:
        self._audio_clock = _AudioClock(start.input_rate)
        self.output_rate = start.output_rate
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
            ready_event(
                self.turn,
                input_rate=start.input_rate,
                output_rate=start.output_rate,
                interview_id=self.interview.id,
                resumed=self.resumed,
            )
        )
        self._spawn(self._recognition(), "session-recognition")
        self._spawn(self._pump_synthesis(), "session-synthesis")
        first = self._next_instruction(greeting=True)
        self.state = State.closing if first.action == "close" else State.greeting
        self._start_agent_turn(first, TurnStamps(turn_decision=self.clock()))

    async def _pump_synthesis(self) -> None:
        # One reader of the synthesis stream for the whole session: interviewer turns take
        # events from this queue, which (unlike an iterator) is safe to stop waiting on.
        assert self._tts is not None
        async for event in self._tts.events():
            await self._synthesis.put(event)

    # Recognition --------------------------------------------------------------------

    async def _recognition(self) -> None:
        assert self._stt is not None
        async for event in self._stt.events():
            if isinstance(event, Transcript):
                self._on_transcript(event)
            elif isinstance(event, SpeechStarted):
                self._cancel_timer()
            elif isinstance(event, UtteranceEnd):
                self._on_end_of_speech(event.last_word_end_s)
            elif isinstance(event, SpeechError):
                self.emit(error_event(self.turn, event.code, event.message, fatal=False))

    def _on_transcript(self, event: Transcript) -> None:
        if self._agent_speaking():
            if not interrupts(event.text, self.config.policy):
                return  # a backchannel ("mm-hm") while the interviewer talks is no answer
            self._barge_in()
        if self.state is not State.listening:
            return
        if event.text.strip():
            self._cancel_timer()
        if event.is_final:
            if event.text.strip():
                self._finals.append(event.text.strip())
                self._words.extend(event.words)
                self._last_final_at = event.received_at
                self._final_arrived.set()
            self._interim = ""
            self._event("transcript", text=self._answer_text(), final=True)
            if event.speech_final:
                self._on_end_of_speech(event.end_s)
        elif event.text.strip():
            self._interim = event.text.strip()
            self._event("transcript", text=self._answer_text(), final=False)

    def _answer_text(self) -> str:
        return " ".join([*self._finals, self._interim]).strip()

    def _on_end_of_speech(self, audio_end_s: float) -> None:
        if self.state is not State.listening or not self._finals:
            return
        if self._words:
            audio_end_s = self._words[-1].end_s
        if self._timer is not None and not self._timer.done() and self._speech_end_s == audio_end_s:
            return  # UtteranceEnd after speech_final: the same silence, already being waited on
        self._speech_end_s = audio_end_s
        self._cancel_timer()
        patience = self.config.policy.patience_for(" ".join(self._finals))
        # Patience counts from the end of the last word, not from when its transcript
        # arrived: the silence the recognizer needed to call it the end is part of it.
        spoken_at = self._audio_clock.wall_at(audio_end_s)
        if spoken_at is not None:
            patience = max(0.0, patience - max(0.0, self.clock() - spoken_at))
        self._timer = self._spawn(self._patience(patience), "turn-timer")

    async def _patience(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
        self._timer = None
        if self.state is State.listening and self._finals and not self._interim:
            self._end_user_turn(typed=False)

    def _cancel_timer(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None

    async def _end_turn_now(self) -> None:
        """The candidate said they are done: take what was heard, without patience."""
        self._cancel_timer()
        if self._stt is not None and (self._interim or not self._finals):
            self._final_arrived.clear()
            await self._stt.finalize()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._final_arrived.wait(), self.config.policy.end_turn_final_wait_s
                )
        if self.state is not State.listening:
            return
        if self._interim:  # the provider did not finalize in time: keep the words anyway
            self._finals.append(self._interim)
            self._interim = ""
        if not self._finals:
            self.emit(
                error_event(self.turn, "empty_answer", "nothing was heard yet; speak or type")
            )
            return
        self._end_user_turn(typed=False)

    # Turn decisions -----------------------------------------------------------------

    def _end_user_turn(self, *, typed: bool) -> None:
        now = self.clock()
        self._cancel_timer()
        answer = " ".join(self._finals).strip()
        answer_words = list(self._words)
        stamps = TurnStamps(turn_decision=now)
        if not typed:
            stamps.final_transcript = self._last_final_at
            if self._speech_end_s is not None:
                stamps.end_of_speech = self._audio_clock.wall_at(self._speech_end_s)
        audio_s = (answer_words[-1].end_s - answer_words[0].start_s) if answer_words else 0.0
        self._finals, self._words, self._interim = [], [], ""
        self._last_final_at, self._speech_end_s = None, None
        self._event("user_turn_end", text=answer)
        self.history.append(Message("candidate", answer))
        if self._asked is not None:
            asked, spoken, cut_short = self._asked
            self._pending = _Exchange(asked, spoken, cut_short, answer, answer_words, audio_s)
            self._asked = None
        instruction = self._next_instruction(answer=answer)
        self.state = State.closing if instruction.action == "close" else State.responding
        self._start_agent_turn(instruction, stamps)

    def _next_instruction(self, *, greeting: bool = False, answer: str = "") -> Instruction:
        plan = self.interview.questions
        if greeting and self.resumed:
            nxt = self.question_index + 1
            if nxt >= len(plan):
                return Instruction("close")
            return self._ask(nxt, "resume")
        if greeting:
            return self._ask(0, "greet") if plan else Instruction("close")
        hint = follow_up_hint(answer)
        if hint and self.follow_ups < self.config.max_follow_ups and self.question_index >= 0:
            self.follow_ups += 1
            return Instruction(
                "follow_up",
                question=plan[self.question_index],
                hint=hint,
                question_number=self.question_index + 1,
            )
        nxt = self.question_index + 1
        if nxt >= len(plan):
            return Instruction("close")
        return self._ask(nxt, "next_question")

    def _ask(self, index: int, action: str) -> Instruction:
        self.question_index = index
        self.follow_ups = 0
        question: PlannedQuestion = self.interview.questions[index]
        return Instruction(action, question=question, question_number=index + 1)  # type: ignore[arg-type]

    # The interviewer's turn -----------------------------------------------------------

    def _agent_speaking(self) -> bool:
        return self._agent_task is not None and not self._agent_task.done()

    def _start_agent_turn(self, instruction: Instruction, stamps: TurnStamps) -> None:
        self.turn += 1
        agent = _AgentTurn(self.turn, instruction, stamps)
        self._agent = agent
        self._agent_task = self._spawn(self._agent_turn(agent), f"agent-turn-{agent.number}")

    def _barge_in(self) -> None:
        """Candidate speech while the interviewer talks: stop audio and the LLM at once."""
        task, agent = self._agent_task, self._agent
        if task is None or task.done() or agent is None:
            return
        task.cancel()
        self._agent_task = None
        spoken = agent.spoken_text(self.clock())
        self._conclude_agent_turn(agent, spoken, interrupted=True)
        self._drain_synthesis()
        if self._tts is not None:
            self._clearing = self._spawn(self._tts.clear(), "tts-clear")

    def _drain_synthesis(self) -> None:
        while not self._synthesis.empty():
            self._synthesis.get_nowait()

    def _conclude_agent_turn(self, agent: _AgentTurn, spoken: str, *, interrupted: bool) -> None:
        agent.ended_at = self.clock()
        agent.ended_at_audio_s = self._audio_clock.received_s
        self._event("agent_turn_end", text=spoken, interrupted=interrupted)
        if spoken:
            self.history.append(Message("interviewer", spoken))
        if self._pending is not None:
            self._persist(self._pending, agent)
            self._pending = None
        if agent.instruction.action != "close":
            self._asked = (agent, spoken, interrupted)
        elif not interrupted:
            self.state = State.ended
            self._event("interview_end", reason="completed")
            self._finish("completed")
            return
        if self.state is not State.ended:
            self.state = State.listening

    def _persist(self, exchange: _Exchange, reply: _AgentTurn | None) -> None:
        """Hand a finished exchange to ``on_turn``, with the metrics of the reply to it."""
        asked = exchange.question_turn
        number = asked.instruction.question_number
        record = InterviewTurn(
            interview_id=self.interview.id,
            turn=asked.number,
            question=exchange.question,
            question_index=number - 1 if number else None,
            interrupted=exchange.interrupted,
            answer=exchange.answer,
            words=[
                {"word": w.word, "start": w.start_s, "end": w.end_s, "confidence": w.confidence}
                for w in exchange.words
            ],
            answer_audio_s=round(exchange.audio_s, 3),
            metrics=TurnMetrics.of(reply.stamps).as_dict() if reply is not None else {},
            interviewer_source=asked.source or self.interviewer.name,
            created_at=datetime.now(UTC),
            question_end_s=(
                round(asked.ended_at_audio_s, 3) if asked.ended_at_audio_s is not None else None
            ),
            question_audio_s=round(asked.spoken_audio_s(), 3),
        )
        try:
            self.on_turn(FinalizedTurn(record=record, user_id=self.interview.user_id))
        except Exception:  # persistence trouble must never end a live interview
            log.exception("could not hand over a finalized turn", extra={"turn": record.turn})

    def _context(self, instruction: Instruction) -> InterviewContext:
        return InterviewContext(
            kind=self.interview.kind,
            candidate_first_name=self.candidate_first_name,
            background=self.background,
            plan=self.interview.questions,
            history=tuple(self.history),
            instruction=instruction,
        )

    async def _agent_turn(self, agent: _AgentTurn) -> None:
        tts = self._tts
        assert tts is not None
        self._event("agent_turn_start", action=agent.instruction.action)
        if self._clearing is not None:
            # A barge-in cleared synthesis: wait until the provider confirmed it, so no
            # audio of the interrupted turn can leak into this one.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._clearing), timeout=2)
            self._clearing = None
            self._drain_synthesis()
        producer_done = asyncio.Event()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._play_audio(agent, tts, producer_done))
                # In this task, not a new one: the LLM request goes out without waiting
                # for another turn of a busy event loop.
                await self._produce_text(agent, tts, producer_done)
        except* InterviewerError as failure:
            message = str(failure.exceptions[0])
            log.warning("interviewer failed", extra={"error": message, "turn": agent.number})
            self.emit(
                error_event(
                    agent.number,
                    "interviewer_unavailable",
                    "the interviewer could not answer; please repeat or type your answer",
                )
            )
        # Let the audio already sent finish playing before the floor goes to the candidate.
        if agent.playback_started is not None:
            remaining = agent.sent_audio_s - (self.clock() - agent.playback_started)
            if remaining > 0:
                await asyncio.sleep(remaining)
        self._agent_task = None
        self._conclude_agent_turn(agent, " ".join(agent.chunks), interrupted=False)

    async def _produce_text(
        self, agent: _AgentTurn, tts: SynthesisStream, done: asyncio.Event
    ) -> None:
        chunker = SpeechChunker()
        stamps = agent.stamps
        try:
            stamps.llm_request = self.clock()
            stream = self.interviewer.respond(self._context(agent.instruction))
            async for delta in stream:
                if stamps.llm_first_token is None:
                    stamps.llm_first_token = self.clock()
                for chunk in chunker.push(delta):
                    await self._speak(agent, tts, chunk)
            agent.source = getattr(stream, "source", "") or getattr(
                self.interviewer, "last_source", self.interviewer.name
            )
            for chunk in chunker.flush():
                await self._speak(agent, tts, chunk)
        finally:
            done.set()

    async def _speak(self, agent: _AgentTurn, tts: SynthesisStream, chunk: str) -> None:
        agent.chunks.append(chunk)
        agent.chunk_audio_s.append(0.0)
        if agent.voice_failed:
            self._announce_text(agent, len(agent.chunks) - 1)
            return
        if agent.stamps.tts_request is None:
            agent.stamps.tts_request = self.clock()
        await tts.speak(chunk)
        await tts.flush()

    def _announce_text(self, agent: _AgentTurn, up_to: int) -> None:
        """Send ``agent_text`` for the chunks up to index ``up_to`` not yet announced."""
        for chunk in agent.chunks[agent.text_sent : up_to + 1]:
            self._event("agent_text", text=chunk + " ")
        agent.text_sent = max(agent.text_sent, up_to + 1)

    def _voice_failed(self, agent: _AgentTurn, failure: SpeechError) -> None:
        if agent.voice_failed:
            return
        agent.voice_failed = True
        log.warning("speech synthesis failed", extra={"code": failure.code, "turn": agent.number})
        self.emit(
            error_event(
                agent.number,
                "tts_unavailable",
                "the interviewer's voice is unavailable; showing text instead",
            )
        )
        self._announce_text(agent, len(agent.chunks) - 1)

    async def _play_audio(
        self, agent: _AgentTurn, tts: SynthesisStream, producer_done: asyncio.Event
    ) -> None:
        frame_bytes = int(self.output_rate * self.config.frame_s) * SAMPLE_WIDTH
        while not (
            producer_done.is_set()
            and (agent.voice_failed or agent.chunks_done >= len(agent.chunks))
        ):
            # Wait for the next piece of speech, for the text to be complete, or for the
            # session to end: a session that ended (its client gone) must never leave this
            # task waiting on a synthesis that will not come.
            getter = asyncio.ensure_future(self._synthesis.get())
            waiters = {getter, asyncio.ensure_future(self._done.wait())}
            if not producer_done.is_set():
                waiters.add(asyncio.ensure_future(producer_done.wait()))
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    if waiter is not getter:
                        waiter.cancel()
                if not getter.done():
                    getter.cancel()
            if self._done.is_set():
                return
            if not getter.done() or getter.cancelled():
                continue
            event = getter.result()
            if isinstance(event, SpeechError):
                self._voice_failed(agent, event)
                continue
            if isinstance(event, SynthesisDone):
                agent.chunks_done += 1
                continue
            if not isinstance(event, AudioChunk) or not event.pcm or not agent.chunks:
                continue
            if agent.stamps.tts_first_byte is None:
                agent.stamps.tts_first_byte = self.clock()
            index = min(agent.chunks_done, len(agent.chunks) - 1)
            self._announce_text(agent, index)
            for start in range(0, len(event.pcm), frame_bytes):
                frame = event.pcm[start : start + frame_bytes]
                await self._pace(agent)
                first = agent.playback_started is None
                if first:
                    agent.playback_started = self.clock()
                    agent.stamps.first_audio_sent = agent.playback_started
                self.emit(frame)
                if first:
                    self._send_metrics(agent)
                seconds = len(frame) / SAMPLE_WIDTH / self.output_rate
                agent.sent_audio_s += seconds
                agent.chunk_audio_s[index] += seconds

    async def _pace(self, agent: _AgentTurn) -> None:
        """Send no more than ``audio_lead_s`` ahead of real time, so that a barge-in
        leaves little audio queued at the client and ``spoken_text`` stays true."""
        if agent.playback_started is None:
            return
        ahead = agent.sent_audio_s - (self.clock() - agent.playback_started)
        if ahead > self.config.audio_lead_s:
            await asyncio.sleep(ahead - self.config.audio_lead_s)

    def _send_metrics(self, agent: _AgentTurn) -> None:
        values = TurnMetrics.of(agent.stamps).as_dict()
        self.emit(ServerEvent("metrics", agent.number, {"metrics": values}))
        self.on_metrics(agent.number, values)


def _type_name(message: ClientMessage) -> str:
    return {
        "Start": "start",
        "EndTurn": "end_turn",
        "Interrupt": "interrupt",
        "TextAnswer": "text",
        "Stop": "stop",
    }[type(message).__name__]
