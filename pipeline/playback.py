"""The interviewer's voice: a turn's text to speech synthesis, its audio to the client.

Audio goes out in frames paced to real time (a little ahead), so that a barge-in leaves
little queued at the client and the words the candidate heard can be told from the
clock. ``AudioClock`` is the other direction: when each second of candidate audio came.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter

from pipeline.interviewer.types import Instruction
from pipeline.metrics import TurnMetrics, TurnStamps
from pipeline.protocol import AgentTextEvent, ErrorEvent, MetricsEvent, ServerEvent
from voices.types import (
    SAMPLE_WIDTH,
    AudioChunk,
    SpeechError,
    SynthesisDone,
    SynthesisEvent,
    SynthesisStream,
)

log = logging.getLogger("intrvuer.session")

Outgoing = ServerEvent | bytes


@dataclass
class AgentTurn:
    """One interviewer turn: its text as flushed to synthesis, and what of it played."""

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
    extra_metrics: dict[str, float] = field(default_factory=dict)  # sent with the turn's own
    # The candidate began speaking over the turn: its audio stands still from then (the
    # client holds what it had not played) until it resumes or the turn is cut off.
    paused_since: float | None = None
    paused_s: float = 0.0  # how long the turn's audio stood still in earlier pauses
    playing: asyncio.Event = field(default_factory=asyncio.Event)  # clear while paused

    def __post_init__(self) -> None:
        self.playing.set()

    @property
    def paused(self) -> bool:
        return self.paused_since is not None

    def pause(self, now: float) -> None:
        if self.paused_since is None:
            self.paused_since = now
            self.playing.clear()

    def resume(self, now: float) -> None:
        if self.paused_since is None:
            return
        if self.playback_started is not None:  # a pause before the first audio only delays it
            self.paused_s += now - self.paused_since
        self.paused_since = None
        self.playing.set()

    def playhead_s(self, now: float) -> float:
        """Seconds of the turn's audio played by ``now``: the time since its audio began,
        less the time it stood paused (frozen while paused), at most what was sent."""
        if self.playback_started is None:
            return 0.0
        until = self.paused_since if self.paused_since is not None else now
        return max(0.0, min(until - self.playback_started - self.paused_s, self.sent_audio_s))

    def spoken_audio_s(self) -> float:
        """Seconds of the turn's audio the candidate heard (all of it unless cut off)."""
        if self.playback_started is None or self.ended_at is None:
            return self.sent_audio_s
        return self.playhead_s(self.ended_at)

    def spoken_text(self, now: float) -> str:
        """The words the candidate has heard by ``now``: whole chunks played, plus the
        played fraction of the current one, cut at a word boundary."""
        if self.playback_started is None:
            return ""
        playhead = self.playhead_s(now)
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


class AudioClock:
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


class Playback:
    """Speaks interviewer turns through one synthesis stream for a whole session.

    One reader of the stream (``pump``) feeds a queue, which (unlike an iterator) is safe
    to stop waiting on; a turn's ``play`` takes its events from there. Text goes to the
    client as ``agent_text`` when its audio starts, or at once when the voice failed.
    """

    def __init__(
        self,
        tts: SynthesisStream,
        *,
        output_rate: int,
        frame_s: float,
        audio_lead_s: float,
        clock: Callable[[], float],
        emit: Callable[[Outgoing], None],
        ended: asyncio.Event,
        on_metrics: Callable[[int, dict[str, float]], None],
    ) -> None:
        self.tts = tts
        self.output_rate = output_rate
        self.frame_bytes = int(output_rate * frame_s) * SAMPLE_WIDTH
        self.audio_lead_s = audio_lead_s
        self.clock = clock
        self.emit = emit
        self.ended = ended  # the session is over: nothing may wait for synthesis any more
        self.on_metrics = on_metrics  # (turn, values) of each turn, with its first audio
        self.synthesis: asyncio.Queue[SynthesisEvent] = asyncio.Queue(256)

    async def pump(self) -> None:
        async for event in self.tts.events():
            await self.synthesis.put(event)

    def drain(self) -> None:
        """Forget synthesis events already received (of a turn that was cut off)."""
        while not self.synthesis.empty():
            self.synthesis.get_nowait()

    async def speak(self, agent: AgentTurn, chunk: str) -> None:
        agent.chunks.append(chunk)
        agent.chunk_audio_s.append(0.0)
        if agent.voice_failed:
            self._announce_text(agent, len(agent.chunks) - 1)
            return
        if agent.stamps.tts_request is None:
            agent.stamps.tts_request = self.clock()
        await self.tts.speak(chunk)
        await self.tts.flush()

    async def finish(self, agent: AgentTurn) -> None:
        """Let the audio already sent finish playing before the floor goes to the candidate
        (a pause meanwhile holds it back as long as it lasts)."""
        while agent.playback_started is not None and not self.ended.is_set():
            await self._playing(agent)
            remaining = agent.sent_audio_s - agent.playhead_s(self.clock())
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)

    async def _playing(self, agent: AgentTurn) -> None:
        """Until the turn is not paused, or the session ended."""
        if agent.playing.is_set():
            return
        waiters = {
            asyncio.ensure_future(agent.playing.wait()),
            asyncio.ensure_future(self.ended.wait()),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def play(self, agent: AgentTurn, producer_done: asyncio.Event) -> None:
        """Send the turn's audio as it is synthesized, until its text is complete
        (``producer_done``) and every chunk of it was spoken, or the session ends."""
        while not (
            producer_done.is_set()
            and (agent.voice_failed or agent.chunks_done >= len(agent.chunks))
        ):
            event = await self._next_event(producer_done)
            if self.ended.is_set():
                return
            if event is None:
                continue
            if isinstance(event, SpeechError):
                self._voice_failed(agent, event)
                continue
            if isinstance(event, SynthesisDone):
                agent.chunks_done += 1
                continue
            if not isinstance(event, AudioChunk) or not event.pcm or not agent.chunks:
                continue
            await self._send_audio(agent, event.pcm)

    async def _next_event(self, producer_done: asyncio.Event) -> SynthesisEvent | None:
        """The next piece of speech, or None when the text became complete or the session
        ended first: a session that ended (its client gone) must never leave a turn
        waiting on a synthesis that will not come."""
        getter = asyncio.ensure_future(self.synthesis.get())
        waiters = {getter, asyncio.ensure_future(self.ended.wait())}
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
        if self.ended.is_set() or not getter.done() or getter.cancelled():
            return None
        return getter.result()

    async def _send_audio(self, agent: AgentTurn, pcm: bytes) -> None:
        if agent.stamps.tts_first_byte is None:
            agent.stamps.tts_first_byte = self.clock()
        index = min(agent.chunks_done, len(agent.chunks) - 1)
        self._announce_text(agent, index)
        for start in range(0, len(pcm), self.frame_bytes):
            frame = pcm[start : start + self.frame_bytes]
            while True:  # a pause may begin while the frame waits for its time
                await self._playing(agent)
                if self.ended.is_set():
                    return
                await self._pace(agent)
                if agent.playing.is_set():
                    break
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

    async def _pace(self, agent: AgentTurn) -> None:
        """Send no more than ``audio_lead_s`` ahead of real time, so that a barge-in
        leaves little audio queued at the client and ``spoken_text`` stays true."""
        if agent.playback_started is None:
            return
        ahead = agent.sent_audio_s - agent.playhead_s(self.clock())
        if ahead > self.audio_lead_s:
            await asyncio.sleep(ahead - self.audio_lead_s)

    def _send_metrics(self, agent: AgentTurn) -> None:
        values = {**TurnMetrics.of(agent.stamps).as_dict(), **agent.extra_metrics}
        self.emit(MetricsEvent(agent.number, values))
        self.on_metrics(agent.number, values)

    def _announce_text(self, agent: AgentTurn, up_to: int) -> None:
        """Send ``agent_text`` for the chunks up to index ``up_to`` not yet announced."""
        for chunk in agent.chunks[agent.text_sent : up_to + 1]:
            self.emit(AgentTextEvent(agent.number, chunk + " "))
        agent.text_sent = max(agent.text_sent, up_to + 1)

    def _voice_failed(self, agent: AgentTurn, failure: SpeechError) -> None:
        if agent.voice_failed:
            return
        agent.voice_failed = True
        log.warning("speech synthesis failed", extra={"code": failure.code, "turn": agent.number})
        self.emit(
            ErrorEvent(
                agent.number,
                "tts_unavailable",
                "the interviewer's voice is unavailable; showing text instead",
            )
        )
        self._announce_text(agent, len(agent.chunks) - 1)
