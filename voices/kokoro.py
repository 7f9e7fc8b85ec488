"""Kokoro-82M speech synthesis on this machine (kokoro-onnx on an onnxruntime session).

One model per process, run by one worker thread (``KokoroEngine``), so the event loop
never waits for it. Requests wait in two bounded queues: live speech first, preparation
of phrases for later (the phrase cache) second; a live request arriving while a
preparation runs stops that run at once (onnxruntime's terminate flag) and the
preparation starts over later. ``clear`` (barge-in) drops pending work and stops the run
in progress the same way.

Text is normalised (``voices.text_normalize``), cut into sentences, and each sentence is
one request: its audio goes out as soon as it exists, and a sentence already in the
phrase cache costs no synthesis at all. Long sentences are cut into phoneme batches of
at most ``MAX_BATCH_PHONEMES``, which bounds the memory one inference needs.

A live session speaks through ``for_owner(interview id)``: the sentences only that
interview says (its greeting, its tailored questions, an LLM's replies) are cached in its
memory while its session is open, never on disk (``voices.phrase_cache``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from voices.models import KokoroFiles
from voices.phrase_cache import PhraseCache, PhraseKey, PhraseOwner
from voices.text_normalize import segments
from voices.types import (
    AudioChunk,
    RecognitionEvent,
    RecognitionStream,
    SpeechError,
    SpeechRecognizer,
    SpeechStarted,
    SynthesisDone,
    SynthesisEvent,
    Transcript,
    UtteranceEnd,
)

try:
    import onnxruntime as ort
    from kokoro_onnx import Kokoro
    from kokoro_onnx.chunker import split_phonemes
    from kokoro_onnx.trim import trim as trim_silence
except ImportError as missing:  # pragma: no cover - depends on the installation
    raise ImportError(
        "Kokoro speech synthesis needs kokoro-onnx and onnxruntime: pip install -e ."
    ) from missing

log = logging.getLogger("intrvuer.voices.kokoro")
# phonemizer warns on every sentence whose word count changed in phonemization (normal
# for punctuation); that says nothing an operator can act on.
logging.getLogger("phonemizer").setLevel(logging.ERROR)

MODEL_RATE = 24000
LANGUAGE = "en-us"
# Inference memory grows with the square of the batch length; 250 phonemes is a long
# sentence (about 40 words), so one batch stays near 100 MB of activations.
MAX_BATCH_PHONEMES = 250
BATCH_PAUSE_S = 0.12  # silence where a long sentence was cut into batches
LIVE_QUEUE_MAX = 64  # sentences waiting for live synthesis; past it a request fails
PREPARE_QUEUE_MAX = 512  # phrases waiting to be prepared; past it new ones are dropped
EVENTS_MAX = 512
JOBS_MAX = 64


def resample(pcm: bytes, source_rate: int, target_rate: int) -> bytes:
    """PCM16 mono from one rate to another (linear interpolation: speech-grade)."""
    if source_rate == target_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    count = max(1, round(len(samples) * target_rate / source_rate))
    positions = np.arange(count, dtype=np.float64) * (source_rate / target_rate)
    out = np.interp(positions, np.arange(len(samples)), samples)
    return bytes(np.clip(out, -32768, 32767).astype("<i2").tobytes())


def _pcm16(audio: NDArray[np.float32]) -> bytes:
    return bytes((np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes())


@dataclass(eq=False)
class _Request:
    """One sentence to synthesize (no key: a warm-up that only loads the model).
    ``on_audio``/``on_done`` run in the worker thread."""

    text: str
    voice: str
    speed: float
    cache_key: PhraseKey | None
    live: bool
    on_audio: Callable[[bytes], None] = lambda pcm: None
    on_done: Callable[[BaseException | None], None] = lambda error: None
    owner: PhraseOwner | None = None  # whose private sentence this is
    cancelled: bool = False
    preempted: bool = False
    run_options: Any = field(default_factory=lambda: ort.RunOptions())


class KokoroEngine:
    """The model and its worker thread; shared by every stream of the process."""

    def __init__(
        self,
        files: Callable[[], KokoroFiles],
        *,
        model_id: str,
        threads: int,
        memory_arena: bool,
        cache: PhraseCache | None,
        defer_preparation: Callable[[], bool] = lambda: False,
    ) -> None:
        self._files = files
        self._defer = defer_preparation
        self.model_id = model_id
        self.threads = threads
        self.memory_arena = memory_arena
        self.cache = cache
        self.kokoro: Kokoro | None = None
        self.load_error: BaseException | None = None
        self.loaded = threading.Event()
        self.synthesized = 0  # sentences made by the model
        self.prepared = 0  # of which for the phrase cache
        self.synthesis_s = 0.0
        self.audio_s = 0.0
        self._live: deque[_Request] = deque()
        self._prepare: deque[_Request] = deque()
        self._current: _Request | None = None
        self._holds = 0  # candidates speaking now: preparation waits for them
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="kokoro-synthesis", daemon=True)
        self._thread.start()

    # Requests (any thread) -----------------------------------------------------------

    def submit(self, request: _Request) -> bool:
        """Queue a request; False when its queue is full (or the engine is closed)."""
        with self._condition:
            if self._closed:
                return False
            if request.live:
                if len(self._live) >= LIVE_QUEUE_MAX:
                    return False
                self._live.append(request)
                current = self._current
                if current is not None and not current.live:
                    # Live speech goes first: stop the preparation now, redo it later.
                    current.preempted = True
                    current.run_options.terminate = True
            else:
                if len(self._prepare) >= PREPARE_QUEUE_MAX:
                    return False
                self._prepare.append(request)
            self._condition.notify()
        return True

    def hold_preparation(self) -> None:
        """A candidate started speaking: their recognition needs the CPU more than the
        phrase cache does. Stops a running preparation (it is redone later) and starts
        no other until every hold is released."""
        with self._condition:
            self._holds += 1
            current = self._current
            if current is not None and not current.live:
                current.preempted = True
                current.run_options.terminate = True

    def release_preparation(self) -> None:
        with self._condition:
            self._holds = max(0, self._holds - 1)
            self._condition.notify()

    def cancel(self, request: _Request) -> None:
        """Drop a request, stopping its inference if it is running."""
        request.cancelled = True
        request.run_options.terminate = True

    def busy(self) -> bool:
        """Whether a request is running or waiting."""
        with self._condition:
            return self._current is not None or bool(self._live or self._prepare)

    def pending(self) -> tuple[int, int]:
        with self._condition:
            return len(self._live), len(self._prepare)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            dropped = [*self._live, *self._prepare]
            self._live.clear()
            self._prepare.clear()
            if self._current is not None:
                self.cancel(self._current)
            self._condition.notify_all()
        for request in dropped:
            request.cancelled = True
            request.on_done(None)
        self._thread.join(timeout=10)

    # The worker thread -----------------------------------------------------------------

    def _next(self) -> _Request | None:
        with self._condition:
            while not (self._closed or self._live or self._may_prepare()):
                # ``defer_preparation`` has no event to wait on: look again shortly.
                self._condition.wait(timeout=0.05 if self._prepare else None)
            if self._closed:
                return None
            request = self._live.popleft() if self._live else self._prepare.popleft()
            self._current = request
            return request

    def _may_prepare(self) -> bool:
        return bool(self._prepare) and not self._holds and not self._defer()

    def _work(self) -> None:
        while (request := self._next()) is not None:
            error: BaseException | None = None
            try:
                if not request.cancelled:
                    self._serve(request)
            except Exception as failure:  # reported to the stream as a SpeechError
                error = failure
            finally:
                with self._condition:
                    self._current = None
                    requeue = request.preempted and not request.cancelled and not self._closed
                    if requeue:
                        request.preempted = False
                        request.run_options = ort.RunOptions()
                        self._prepare.appendleft(request)
            if requeue:
                continue
            if error is not None and not request.cancelled:
                log.warning(
                    "speech synthesis failed",
                    extra={"error": f"{error.__class__.__name__}: {error}"[:300]},
                )
            request.on_done(None if request.cancelled else error)

    def _load(self) -> Kokoro:
        if self.kokoro is not None:
            return self.kokoro
        if self.load_error is not None:
            raise self.load_error
        try:
            started = time.monotonic()
            files = self._files()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            # The arena keeps every buffer it ever grew to, yet it is the smaller choice:
            # measured on 2 cores with 250-phoneme batches, a 480-character text peaked
            # at 598 MB RSS with the arena and 2,230 MB without it (every run then goes
            # through malloc, whose fragmentation costs more than the arena keeps). What
            # bounds memory is MAX_BATCH_PHONEMES (docs/voices.md).
            options.enable_cpu_mem_arena = self.memory_arena
            # Idle pool threads would otherwise spin for a while after each run, taking
            # cores that the event loop and speech recognition need on a small machine.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(
                str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
            )
            self.kokoro = Kokoro.from_session(session, str(files.voices))
            log.info(
                "kokoro model loaded",
                extra={
                    "source": files.source,
                    "threads": self.threads,
                    "load_ms": round((time.monotonic() - started) * 1000),
                },
            )
        except Exception as failure:
            self.load_error = failure
            raise
        finally:
            self.loaded.set()
        return self.kokoro

    def voices(self) -> list[str]:
        return list(self.kokoro.get_voices()) if self.kokoro is not None else []

    def _serve(self, request: _Request) -> None:
        cache, key = self.cache, request.cache_key
        if (
            not request.live
            and cache is not None
            and key is not None
            # Made since it was queued, or its owner's session is over: nothing to do.
            and (cache.contains(key, request.owner) or not cache.keeps(key, request.owner))
        ):
            return
        kokoro = self._load()
        if key is None:
            return  # a warm-up request: loading was the point
        started = time.monotonic()
        voice = kokoro.voices[request.voice]
        phonemes = " ".join(kokoro.tokenizer.phonemize(request.text, LANGUAGE).split())
        batches = split_phonemes(phonemes, MAX_BATCH_PHONEMES)
        pieces: list[bytes] = []
        for index, batch in enumerate(batches):
            if request.cancelled or request.preempted:
                return
            tokens = kokoro.tokenizer.tokenize(batch)
            if not tokens:
                continue
            style = voice[min(len(tokens), len(voice)) - 1]
            inputs = {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": np.asarray(style, dtype=np.float32).reshape(1, -1),
                "speed": np.array([request.speed], dtype=np.float32),
            }
            try:
                outputs = kokoro.sess.run(None, inputs, request.run_options)
            except Exception:
                if request.cancelled or request.preempted:
                    return
                raise
            audio, _ = trim_silence(np.asarray(outputs[0], dtype=np.float32).ravel())
            if index < len(batches) - 1:
                audio = np.concatenate(
                    [audio, np.zeros(int(BATCH_PAUSE_S * MODEL_RATE), np.float32)]
                )
            pcm = _pcm16(audio)
            pieces.append(pcm)
            if request.live:
                request.on_audio(pcm)
        whole = b"".join(pieces)
        self.synthesized += 1
        self.prepared += 0 if request.live else 1
        self.synthesis_s += time.monotonic() - started
        self.audio_s += len(whole) / 2 / MODEL_RATE
        if cache is not None and whole:
            cache.put(key, whole, MODEL_RATE, request.owner)


class KokoroSynthesizer:
    """The ``SpeechSynthesizer`` of Kokoro; one per process (see ``server.providers``)."""

    name = "kokoro"

    def __init__(
        self,
        files: Callable[[], KokoroFiles],
        *,
        model_id: str,
        voice: str = "jm_kumo",
        speed: float = 1.0,
        threads: int = 0,
        memory_arena: bool = True,
        cache: PhraseCache | None = None,
        defer_preparation: Callable[[], bool] = lambda: False,
    ) -> None:
        """``defer_preparation``: while it answers True, no phrase preparation starts
        (e.g. ``voices.whisper.recognition_busy``)."""
        self.default_voice = voice
        self.speed = speed
        self.cache = cache
        self.engine = KokoroEngine(
            files,
            model_id=model_id,
            threads=threads or default_threads(),
            memory_arena=memory_arena,
            cache=cache,
            defer_preparation=defer_preparation,
        )
        self._streams: set[KokoroSynthesisStream] = set()

    def warm(self) -> None:
        """Load the model in the background now, so the first sentence does not wait."""
        self.engine.submit(_Request("", self.default_voice, self.speed, None, live=False))

    def voice_for(self, requested: str | None) -> str:
        if requested and requested in self.engine.voices():
            return requested
        return self.default_voice

    def cache_key(self, sentence: str, voice: str) -> PhraseKey:
        return PhraseKey(self.engine.model_id, voice, self.speed, sentence)

    def prepare(
        self, texts: Iterable[str], *, voice: str | None = None, owner: str | None = None
    ) -> int:
        """Synthesize these texts into the phrase cache in the background, after any live
        speech: generic sentences for everyone, private ones for ``owner`` alone (without
        an owner they are skipped: nobody could use them). Returns how many sentences
        were queued (the cached ones are skipped)."""
        cache = self.cache
        if cache is None:
            return 0
        expected = cache.expect(owner) if owner is not None else None
        chosen = self.voice_for(voice)
        queued = 0
        seen: set[PhraseKey] = set()
        for text in texts:
            for sentence in segments(text):
                key = self.cache_key(sentence, chosen)
                if key in seen or not cache.keeps(key, expected):
                    continue
                seen.add(key)
                if cache.contains(key, expected):
                    continue
                request = _Request(sentence, chosen, self.speed, key, live=False, owner=expected)
                if not self.engine.submit(request):
                    return queued
                queued += 1
        return queued

    def for_owner(self, owner: str) -> OwnedSynthesizer:
        """This synthesizer for one owner (an interview): its streams keep the owner's
        private sentences in memory while one of them is open."""
        return OwnedSynthesizer(self, owner)

    def forget_owner(self, owner: str) -> None:
        """Drop ``owner``'s private sentences now (its interview was deleted)."""
        if self.cache is not None:
            self.cache.forget(owner)

    async def open(
        self, *, sample_rate: int, voice: str, owner: str | None = None
    ) -> KokoroSynthesisStream:
        """A stream of speech; with an ``owner``, its private sentences are cached in the
        owner's memory until the owner's last stream closes (without one, not at all)."""
        self.warm()
        held = self.cache.hold(owner) if self.cache is not None and owner is not None else None
        stream = KokoroSynthesisStream(self, sample_rate=sample_rate, voice=voice, owner=held)
        stream.start()
        self._streams.add(stream)
        return stream

    def stats(self) -> dict[str, float | int]:
        """Counters for operators and benchmarks (no text in them)."""
        engine = self.engine
        live, preparing = engine.pending()
        return {
            "cache_hits": self.cache.hits if self.cache else 0,
            "cache_misses": self.cache.misses if self.cache else 0,
            "sentences_synthesized": engine.synthesized,
            "sentences_prepared": engine.prepared,
            "synthesis_s": round(engine.synthesis_s, 3),
            "audio_s": round(engine.audio_s, 3),
            "live_pending": live,
            "prepare_pending": preparing,
        }

    def forget(self, stream: KokoroSynthesisStream) -> None:
        self._streams.discard(stream)

    async def aclose(self) -> None:
        for stream in list(self._streams):
            await stream.close()
        await asyncio.to_thread(self.engine.close)


class OwnedSynthesizer:
    """The ``SpeechSynthesizer`` of one owner's live session (``KokoroSynthesizer.for_owner``)."""

    name = "kokoro"

    def __init__(self, synthesizer: KokoroSynthesizer, owner: str) -> None:
        self.synthesizer = synthesizer
        self.owner = owner

    async def open(self, *, sample_rate: int, voice: str) -> KokoroSynthesisStream:
        return await self.synthesizer.open(sample_rate=sample_rate, voice=voice, owner=self.owner)


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


class YieldingRecognizer:
    """A speech recognizer whose streams hold Kokoro's phrase preparation while the
    candidate speaks (from ``SpeechStarted`` to the end of the utterance).

    On a small machine both models compete for the same cores: measured on 2 cores,
    preparing phrases during answers made local recognition's final transcript ~2 s later,
    more than the prepared phrases saved. Preparation runs while the interviewer speaks and
    in silences instead."""

    def __init__(self, recognizer: SpeechRecognizer, engine: KokoroEngine) -> None:
        self.inner = recognizer
        self.name = recognizer.name
        self.engine = engine

    async def open(self, *, sample_rate: int) -> RecognitionStream:
        return _YieldingStream(await self.inner.open(sample_rate=sample_rate), self.engine)


class _YieldingStream:
    def __init__(self, inner: RecognitionStream, engine: KokoroEngine) -> None:
        self.inner = inner
        self.engine = engine
        self.holding = False

    async def send(self, pcm: bytes) -> None:
        await self.inner.send(pcm)

    async def finalize(self) -> None:
        await self.inner.finalize()

    async def events(self) -> AsyncIterator[RecognitionEvent]:
        try:
            async for event in self.inner.events():
                if isinstance(event, SpeechStarted):
                    self._hold(True)
                elif isinstance(event, UtteranceEnd) or (
                    isinstance(event, Transcript) and event.speech_final
                ):
                    self._hold(False)
                yield event
        finally:
            self._hold(False)

    def _hold(self, holding: bool) -> None:
        if holding == self.holding:
            return
        self.holding = holding
        if holding:
            self.engine.hold_preparation()
        else:
            self.engine.release_preparation()

    async def close(self) -> None:
        self._hold(False)
        await self.inner.close()


class KokoroSynthesisStream:
    """Speech for flushed texts, in order; made by ``KokoroSynthesizer.open``."""

    def __init__(
        self,
        synthesizer: KokoroSynthesizer,
        *,
        sample_rate: int,
        voice: str,
        owner: PhraseOwner | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self._synthesizer = synthesizer
        self.owner = owner  # whose private sentences this stream keeps (held while open)
        self._requested_voice = voice
        self._texts: list[str] = []
        self._jobs: asyncio.Queue[tuple[int, list[str]]] = asyncio.Queue(JOBS_MAX)
        self._events: asyncio.Queue[SynthesisEvent | None] = asyncio.Queue(EVENTS_MAX)
        self._generation = 0  # bumped by clear(): older jobs are void
        self._running: _Request | None = None
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self.cache_hits = 0
        self.synthesized = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._work(), name="kokoro-stream")

    async def speak(self, text: str) -> None:
        if text and not self._closed:
            self._texts.append(text)

    async def flush(self) -> None:
        """Synthesize the text given since the last flush; its audio is followed by
        exactly one ``SynthesisDone`` (or a ``SpeechError``), unless it is cleared."""
        if self._closed:
            return
        text, self._texts = " ".join(self._texts), []
        await self._jobs.put((self._generation, segments(text)))

    async def clear(self) -> None:
        """Drop all pending text and audio, and stop the sentence being synthesized."""
        if self._closed:
            return
        self._generation += 1
        self._texts = []
        for queue in (self._jobs, self._events):
            while not queue.empty():
                queue.get_nowait()
        if self._running is not None:
            self._synthesizer.engine.cancel(self._running)

    async def events(self) -> AsyncIterator[SynthesisEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._running is not None:
            self._synthesizer.engine.cancel(self._running)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._synthesizer.forget(self)
        if self.owner is not None and self._synthesizer.cache is not None:
            self._synthesizer.cache.release(self.owner)  # the last one drops its audio
        while not self._events.empty():
            self._events.get_nowait()
        self._events.put_nowait(None)

    async def _emit(self, generation: int, event: SynthesisEvent) -> bool:
        if generation != self._generation:
            return False
        await self._events.put(event)
        return True

    async def _work(self) -> None:
        while True:
            generation, sentences = await self._jobs.get()
            if generation != self._generation:
                continue
            try:
                for sentence in sentences:
                    if generation != self._generation:
                        break
                    await self._sentence(generation, sentence)
            except SynthesisFailed as failure:
                await self._emit(generation, SpeechError("tts_failed", str(failure), fatal=True))
                continue
            await self._emit(generation, SynthesisDone())

    async def _sentence(self, generation: int, sentence: str) -> None:
        synthesizer = self._synthesizer
        voice = synthesizer.voice_for(self._requested_voice)
        key = synthesizer.cache_key(sentence, voice)
        if synthesizer.cache is not None:
            cached = await asyncio.to_thread(self._cached, key)
            if cached is not None:
                self.cache_hits += 1
                await self._emit(generation, AudioChunk(cached, self.sample_rate))
                return
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        rate = self.sample_rate

        def on_audio(pcm: bytes) -> None:  # worker thread
            loop.call_soon_threadsafe(pieces.put_nowait, resample(pcm, MODEL_RATE, rate))

        def on_done(error: BaseException | None) -> None:  # worker thread
            with contextlib.suppress(RuntimeError):  # the loop may be gone at shutdown
                loop.call_soon_threadsafe(pieces.put_nowait, error)

        request = _Request(
            sentence, voice, synthesizer.speed, key, True, on_audio, on_done, owner=self.owner
        )
        if not synthesizer.engine.submit(request):
            raise SynthesisFailed("speech synthesis is overloaded")
        self._running = request
        try:
            while (piece := await pieces.get()) is not None:
                if isinstance(piece, BaseException):
                    raise SynthesisFailed("speech synthesis failed") from piece
                if request.cancelled:
                    continue
                await self._emit(generation, AudioChunk(piece, self.sample_rate))
            self.synthesized += 1
        except asyncio.CancelledError:
            synthesizer.engine.cancel(request)
            raise
        finally:
            if self._running is request:
                self._running = None

    def _cached(self, key: PhraseKey) -> bytes | None:
        cache = self._synthesizer.cache
        assert cache is not None
        found = cache.get(key, self.owner)
        if found is None:
            return None
        pcm, rate = found
        return resample(pcm, rate, self.sample_rate)


class SynthesisFailed(Exception):
    pass
