"""Local speech recognition as a ``RecognitionStream``: Silero VAD + faster-whisper.

Audio path: ``send()`` appends PCM16 to a pending buffer (bounded in seconds; past the
bound the oldest audio goes, with a warning) and wakes the stream's processor task. The
processor resamples to 16 kHz, runs the VAD on whole 32 ms frames in a worker thread and
feeds the probabilities to an ``Endpointer``:

- speech starts → ``SpeechStarted`` (at the first voiced frame, in stream time);
- a short pause (``pause_ms``) → the utterance so far is sent to Whisper *speculatively*;
  its text comes out as an interim ``Transcript``;
- speech resumes → that speculation is dropped;
- the utterance ends (``end_ms`` of silence) → the speculation is the final if no speech
  came after it (usually already done: this is what hides Whisper's time), else the whole
  utterance is transcribed; a final ``Transcript`` with ``speech_final`` and word timings;
- a long silence (``long_silence_ms``) → ``UtteranceEnd``.

Whisper runs in the process's shared engine (``voices.whisper``), never on the event
loop. When its queue is full a speculation is skipped, and an utterance that cannot be
queued is reported as a non-fatal ``SpeechError``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from voices.audio import Samples, StreamResampler, pcm16_to_float
from voices.pending import Control, PendingAudio, RecognitionEvents
from voices.types import (
    SAMPLE_WIDTH,
    SpeechError,
    SpeechStarted,
    Transcript,
    UtteranceEnd,
    WordTiming,
)
from voices.vad import (
    FRAME_SAMPLES,
    VAD_RATE,
    Boundary,
    Endpointer,
    EndpointerConfig,
    SileroVad,
    VadEvent,
    shared_vad,
)
from voices.whisper import (
    MAX_AUDIO_S,
    EngineBusy,
    RecognitionJob,
    Recognized,
    WhisperEngine,
)

log = logging.getLogger("intrvuer.voices.local_stt")

EVENTS_MAX: Final = 1024
_SLICE: Final = VAD_RATE // 2  # samples the VAD takes at a time (0.5 s)


# Audio ------------------------------------------------------------------------------


class _Kept:
    """The stream's recent 16 kHz audio, addressed by stream sample."""

    def __init__(self) -> None:
        self._chunks: deque[tuple[int, Samples]] = deque()
        self.end = 0  # samples received so far

    def append(self, samples: Samples) -> None:
        if samples.size:
            self._chunks.append((self.end, samples))
            self.end += samples.size

    def forget_before(self, sample: int) -> None:
        while self._chunks and self._chunks[0][0] + self._chunks[0][1].size <= sample:
            self._chunks.popleft()

    @property
    def start(self) -> int:
        return self._chunks[0][0] if self._chunks else self.end

    def between(self, start: int, end: int) -> Samples:
        parts = [
            chunk[max(0, start - at) : max(0, end - at)]
            for at, chunk in self._chunks
            if at < end and at + chunk.size > start
        ]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)


# The stream -------------------------------------------------------------------------


@dataclass(eq=False)
class _Utterance:
    start: int  # first sample given to Whisper (speech start less the pre-roll)
    speech_start: int
    draft: RecognitionJob | None = None  # speculative recognition of the utterance so far
    draft_speech_end: int = -1  # the utterance's voiced end when the draft was taken
    draft_shown: bool = False


@dataclass(eq=False)
class _Outgoing:
    """An event waiting for the recognitions before it (finals go out in order)."""

    job: RecognitionJob | None = None
    offset: int = 0  # stream sample of the job's audio start
    speech_start: int = 0
    speech_end: int = 0
    speech_final: bool = True
    event: SpeechStarted | SpeechError | None = None  # ready as it is, not a transcript
    utterance_end_at: int | None = None  # an UtteranceEnd, not a transcript
    ended_at: float | None = None  # monotonic time the utterance ended (VAD)

    @property
    def ready(self) -> bool:
        return self.job is None or self.job.future.done()


@dataclass
class RecognitionTimes:
    """How long each final took: Whisper's own time, and from the end of the utterance
    (``ENDED``) to the final event (near zero when the speculation was reused)."""

    whisper_s: list[float] = field(default_factory=list)
    end_to_final_s: list[float] = field(default_factory=list)


class LocalRecognitionStream(RecognitionEvents):
    """One live local transcription; made by ``LocalRecognizer.open``."""

    def __init__(
        self,
        engine: WhisperEngine,
        vad: SileroVad,
        *,
        sample_rate: int,
        endpointing: EndpointerConfig,
        buffer_s: float = 30.0,
        pre_roll_s: float = 0.2,
        max_utterance_s: float = 25.0,
        close_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(EVENTS_MAX)
        if sample_rate < 8000:
            raise ValueError(f"input sample rate {sample_rate} Hz is too low for speech")
        self.sample_rate = sample_rate
        self._engine = engine
        self._vad = vad.stream()
        self._endpointer = Endpointer(endpointing)
        self._resample: Callable[[Samples], Samples] | None = (
            None if sample_rate == VAD_RATE else StreamResampler(sample_rate, VAD_RATE)
        )
        self._pre_roll = int(pre_roll_s * VAD_RATE)
        # Whisper hears at most one window per utterance: longer ones are cut before that.
        self._max_utterance = int(min(max_utterance_s, MAX_AUDIO_S - 2.0) * VAD_RATE)
        self._close_timeout_s = close_timeout_s
        self._odd = b""  # a byte of a sample split across two sends
        self._pending: PendingAudio[bytes] = PendingAudio(
            max_bytes=int(buffer_s * sample_rate) * SAMPLE_WIDTH,
            sample_rate=sample_rate,
            size=len,
            log=log,
            what="unprocessed",
        )
        self._kept = _Kept()
        # (end sample, speech probability) of the last second of VAD frames
        self._recent: deque[tuple[int, float]] = deque(maxlen=VAD_RATE // FRAME_SAMPLES)
        self._utterance: _Utterance | None = None
        self._outbox: deque[_Outgoing] = deque()
        self.times = RecognitionTimes()
        self._last_word_end_s: float | None = None
        self._processor: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._processor = asyncio.create_task(self._process(), name="local-stt")

    # The RecognitionStream interface -------------------------------------------------

    async def send(self, pcm: bytes) -> None:
        """Queue audio; never waits. An odd byte waits for the rest of its sample."""
        if not self._accepting or not pcm:
            return
        data = self._odd + pcm if self._odd else pcm
        whole = len(data) - len(data) % SAMPLE_WIDTH
        self._odd = data[whole:]
        if not whole:
            return
        self._pending.put(data[:whole])

    async def finalize(self) -> None:
        """Transcribe what was heard so far as a final, without waiting for the silence."""
        if not self._accepting:
            return
        self._pending.mark(Control.FINALIZE)

    async def close(self) -> None:
        """Finish what was heard (up to ``close_timeout_s``), then end the events."""
        if self._closing:
            return
        self._closing = True
        self._pending.wake.set()
        processor = self._processor
        if processor is not None and not processor.done():
            await asyncio.wait({processor}, timeout=self._close_timeout_s)
            if not processor.done():
                processor.cancel()
                await asyncio.wait({processor})
        for outgoing in self._outbox:
            if outgoing.job is not None:
                outgoing.job.discard()
        if self._utterance is not None and self._utterance.draft is not None:
            self._utterance.draft.discard()
        self._events.end()

    # Internals ----------------------------------------------------------------------

    def _wake_on(self, job: RecognitionJob) -> None:
        job.future.add_done_callback(lambda _: self._pending.wake.set())

    async def _process(self) -> None:
        try:
            while True:
                await self._pending.wake.wait()
                self._pending.wake.clear()
                while self._pending:
                    audio = bytearray()
                    while self._pending and isinstance(self._pending.first(), bytes):
                        chunk = self._pending.pop()
                        assert isinstance(chunk, bytes)
                        audio.extend(chunk)
                    if audio:
                        await self._hear(bytes(audio))
                    if self._pending and self._pending.first() is Control.FINALIZE:
                        self._pending.pop()
                        self._finalize_now()
                self._pending.drained()
                await self._show_draft()
                await self._flush_outbox()
                if self._closing:
                    if self._utterance is not None:
                        self._finalize_now()
                    while self._outbox:
                        await asyncio.wait({o.job.future for o in self._outbox if o.job})
                        await self._flush_outbox()
                    return
        except Exception:
            log.exception("local speech recognition failed unexpectedly")
            await self._stop_working()

    async def _hear(self, pcm: bytes) -> None:
        samples = pcm16_to_float(pcm)
        if self._resample is not None:
            samples = self._resample(samples)
        # Audio that piled up (a slow loop, a client sending faster than real time) goes
        # through in slices, so that utterance bounds stay close to where they fell.
        for start in range(0, samples.size, _SLICE):
            await self._hear_slice(samples[start : start + _SLICE])

    async def _hear_slice(self, samples: Samples) -> None:
        self._kept.append(samples)
        # The VAD is light (well under 1 ms a frame) but still CPU: keep it off the loop.
        probabilities = await asyncio.to_thread(self._vad.probabilities, samples)
        first_frame = self._endpointer.frame_index
        self._recent.extend(
            ((first_frame + i + 1) * FRAME_SAMPLES, float(p))
            for i, p in enumerate(probabilities.tolist())
        )
        for event in self._endpointer.feed(probabilities):
            await self._on_boundary(event)
        utterance = self._utterance
        if utterance is None:
            self._kept.forget_before(self._kept.end - self._pre_roll)
        elif self._kept.end - utterance.start > self._max_utterance:
            # A monologue with no pause: hand over what we have, cut where the last second
            # was quietest (between words, most likely), and keep listening.
            cut = min(
                ((p, at) for at, p in self._recent if at > utterance.speech_start),
                default=(0.0, self._kept.end),
            )[1]
            self._finish(utterance, cut, cut, speech_final=False)
            self._utterance = _Utterance(start=cut, speech_start=cut)

    async def _on_boundary(self, event: VadEvent) -> None:
        if event.boundary is Boundary.SPEECH_STARTED:
            start = max(self._kept.start, event.speech_start - self._pre_roll)
            self._utterance = _Utterance(start=start, speech_start=event.speech_start)
            started = SpeechStarted(at_s=_seconds(event.speech_start), received_at=time.monotonic())
            if self._outbox:  # keep the audio's order: the last utterance's final first
                self._outbox.append(_Outgoing(event=started))
            else:
                await self._emit(started)
        elif event.boundary is Boundary.PAUSED and self._utterance is not None:
            self._speculate(self._utterance, event)
        elif event.boundary is Boundary.RESUMED and self._utterance is not None:
            self._drop_draft(self._utterance)
        elif event.boundary is Boundary.ENDED and self._utterance is not None:
            self._finish(self._utterance, event.sample, event.speech_end, speech_final=True)
            self._utterance = None
        elif event.boundary is Boundary.LONG_SILENCE:
            self._outbox.append(_Outgoing(utterance_end_at=event.speech_end))

    def _speculate(self, utterance: _Utterance, event: VadEvent) -> None:
        self._drop_draft(utterance)
        try:
            job = self._engine.submit(self._kept.between(utterance.start, event.sample))
        except EngineBusy:
            return  # the final will be transcribed at the end instead
        self._wake_on(job)
        utterance.draft = job
        utterance.draft_speech_end = event.speech_end

    @staticmethod
    def _drop_draft(utterance: _Utterance) -> None:
        if utterance.draft is not None:
            utterance.draft.discard()
        utterance.draft = None
        utterance.draft_shown = False

    def _finish(
        self, utterance: _Utterance, until: int, speech_end: int, *, speech_final: bool
    ) -> None:
        """Queue the final of ``utterance``, reusing the speculation when nothing was
        said after it."""
        outgoing = _Outgoing(
            offset=utterance.start,
            speech_start=utterance.speech_start,
            speech_end=speech_end,
            speech_final=speech_final,
        )
        draft = utterance.draft
        if draft is not None and not draft.discarded and utterance.draft_speech_end == speech_end:
            outgoing.job = draft
        else:
            self._drop_draft(utterance)
            try:
                outgoing.job = self._engine.submit(self._kept.between(utterance.start, until))
            except EngineBusy:
                log.warning("speech recognition is overloaded: an utterance was not transcribed")
                outgoing.event = SpeechError(
                    "stt_overloaded",
                    "speech recognition is overloaded; please repeat or type that answer",
                    fatal=False,
                )
            else:
                self._wake_on(outgoing.job)
        outgoing.ended_at = time.monotonic()
        self._outbox.append(outgoing)

    def _finalize_now(self) -> None:
        utterance = self._utterance
        if utterance is None:
            # Nothing unheard: an empty final still answers the request, in order.
            self._outbox.append(_Outgoing(speech_start=self._kept.end, speech_end=self._kept.end))
            return
        self._finish(utterance, self._kept.end, self._endpointer.speech_end, speech_final=True)
        self._utterance = None
        self._endpointer.reset()

    async def _show_draft(self) -> None:
        """A finished speculation becomes an interim transcript (if nothing is queued
        before it)."""
        utterance = self._utterance
        if utterance is None or utterance.draft is None or utterance.draft_shown:
            return
        draft = utterance.draft
        if not draft.future.done() or draft.discarded or self._outbox:
            return
        utterance.draft_shown = True
        if draft.future.cancelled() or draft.future.exception() is not None:
            return
        result = draft.future.result()
        if result.text:
            await self._emit(
                self._transcript(
                    result,
                    utterance.start,
                    utterance.speech_start,
                    utterance.draft_speech_end,
                    final=False,
                    speech_final=False,
                )
            )

    async def _flush_outbox(self) -> None:
        while self._outbox and self._outbox[0].ready:
            outgoing = self._outbox.popleft()
            if outgoing.utterance_end_at is not None:
                await self._emit(
                    UtteranceEnd(
                        last_word_end_s=self._last_word_end_s
                        or _seconds(outgoing.utterance_end_at),
                        received_at=time.monotonic(),
                    )
                )
                continue
            if outgoing.event is not None:
                await self._emit(outgoing.event)
                continue
            result = Recognized("", (), 0.0)
            job = outgoing.job
            if job is not None:
                if job.future.cancelled():
                    continue
                error = job.future.exception()
                if error is not None:
                    await self._emit(
                        SpeechError(
                            "stt_error",
                            "speech recognition failed for part of the answer",
                            fatal=False,
                        )
                    )
                    continue
                result = job.future.result()
                self.times.whisper_s.append(result.seconds)
                if outgoing.ended_at is not None:
                    self.times.end_to_final_s.append(time.monotonic() - outgoing.ended_at)
            transcript = self._transcript(
                result,
                outgoing.offset,
                outgoing.speech_start,
                outgoing.speech_end,
                final=True,
                speech_final=outgoing.speech_final,
            )
            self._last_word_end_s = transcript.words[-1].end_s if transcript.words else None
            await self._emit(transcript)

    @staticmethod
    def _transcript(
        result: Recognized,
        offset: int,
        speech_start: int,
        speech_end: int,
        *,
        final: bool,
        speech_final: bool,
    ) -> Transcript:
        shift = _seconds(offset)
        # Whisper's word times are loose at the edges (the first word often starts in the
        # pre-roll): keep them inside the speech the VAD heard.
        low = _seconds(speech_start)
        high = max(low, _seconds(speech_end))

        def clamp(seconds: float) -> float:
            return round(min(max(seconds + shift, low), high), 3)

        def timed(word: WordTiming) -> WordTiming:
            start, end = clamp(word.start_s), clamp(word.end_s)
            # A word Whisper placed (partly) after the speech ended was not all heard:
            # usually one it added to complete a fragment ("I was responsible for" →
            # "… for it."). Its confidence is the share of it that lies in the speech.
            past = word.end_s + shift - high
            spoken = word.end_s - word.start_s
            heard = 1.0
            if past > 0:
                heard = max(0.0, 1.0 - past / spoken) if spoken > 0 else 0.0
            return WordTiming(word.word, start, end, round(word.confidence * heard, 3))

        words = tuple(timed(word) for word in result.words)
        return Transcript(
            text=result.text,
            is_final=final,
            speech_final=speech_final,
            start_s=words[0].start_s if words else low,
            end_s=words[-1].end_s if words else high,
            words=words,
            received_at=time.monotonic(),
        )


def _seconds(sample: int) -> float:
    return round(sample / VAD_RATE, 3)


@dataclass(frozen=True, slots=True)
class LocalOptions:
    """How a ``LocalRecognizer`` finds the ends of utterances and how much it buffers."""

    endpointing: EndpointerConfig = field(default_factory=EndpointerConfig)
    vad: SileroVad | None = None  # None: one per stream
    buffer_s: float = 30.0
    close_timeout_s: float = 5.0


class LocalRecognizer:
    """Speech recognition on this machine: Silero VAD + faster-whisper, one shared
    model per process. ``open`` loads the model the first time (in its worker thread)."""

    name = "local"

    def __init__(self, engine: WhisperEngine, options: LocalOptions | None = None) -> None:
        options = options or LocalOptions()
        self.engine = engine
        self.endpointing = options.endpointing
        self._vad = options.vad
        self.buffer_s = options.buffer_s
        self.close_timeout_s = options.close_timeout_s

    def __repr__(self) -> str:
        return f"LocalRecognizer(model={self.engine.model!r})"

    async def open(self, *, sample_rate: int) -> LocalRecognitionStream:
        """Open a transcription of PCM16 audio at ``sample_rate``; raises
        ``RuntimeError`` when the model cannot be loaded."""
        if self._vad is None:
            self._vad = await asyncio.to_thread(shared_vad)
        await self.engine.load()
        stream = LocalRecognitionStream(
            self.engine,
            self._vad,
            sample_rate=sample_rate,
            endpointing=self.endpointing,
            buffer_s=self.buffer_s,
            close_timeout_s=self.close_timeout_s,
        )
        stream.start()
        return stream
