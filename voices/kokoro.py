"""Kokoro-82M speech synthesis on this machine (kokoro-onnx on an onnxruntime session).

One model per process, run by one worker thread (``voices.kokoro_engine``), so the event
loop never waits for it. ``clear`` (barge-in) drops pending work and stops the run in
progress at once.

Text is normalised (``voices.text_normalize``), cut into sentences, and each sentence is
one request: its audio goes out as soon as it exists, and a sentence already in the
phrase cache costs no synthesis at all.

A live session speaks through ``for_owner(interview id)``: the sentences only that
interview says (its greeting, its tailored questions, an LLM's replies) are cached in its
memory while its session is open, never on disk (``voices.phrase_cache``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable

from voices.audio import resample
from voices.kokoro_engine import MODEL_RATE, KokoroEngine, KokoroOptions, Request
from voices.phrase_cache import PhraseKey, PhraseOwner
from voices.synthesis import JobStream
from voices.text_normalize import segments
from voices.types import (
    AudioChunk,
    SpeechError,
    SynthesisDone,
)

EVENTS_MAX = 512
JOBS_MAX = 64


class KokoroSynthesizer:
    """The ``SpeechSynthesizer`` of Kokoro; one per process (see ``server.providers``)."""

    name = "kokoro"

    def __init__(self, options: KokoroOptions) -> None:
        self.default_voice = options.voice
        self.speed = options.speed
        self.cache = options.cache
        self.engine = KokoroEngine(options)
        self._streams: set[KokoroSynthesisStream] = set()

    def warm(self) -> None:
        """Load the model in the background now, so the first sentence does not wait."""
        self.engine.submit(Request("", self.default_voice, self.speed, None, live=False))

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
                request = Request(sentence, chosen, self.speed, key, live=False, owner=expected)
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


class KokoroSynthesisStream(JobStream[tuple[int, list[str]]]):
    """Speech for flushed texts, in order; made by ``KokoroSynthesizer.open``."""

    def __init__(
        self,
        synthesizer: KokoroSynthesizer,
        *,
        sample_rate: int,
        voice: str,
        owner: PhraseOwner | None = None,
    ) -> None:
        super().__init__(jobs_max=JOBS_MAX, events_max=EVENTS_MAX)
        self.sample_rate = sample_rate
        self._synthesizer = synthesizer
        self.owner = owner  # whose private sentences this stream keeps (held while open)
        self._requested_voice = voice
        self._running: Request | None = None
        self._task: asyncio.Task[None] | None = None
        self.cache_hits = 0
        self.synthesized = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._work(), name="kokoro-stream")

    def _job(self, generation: int, texts: list[str]) -> tuple[int, list[str]]:
        return generation, segments(" ".join(texts))

    async def clear(self) -> None:
        """Drop all pending text and audio, and stop the sentence being synthesized."""
        if self._void_pending() and self._running is not None:
            self._synthesizer.engine.cancel(self._running)

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
        self._end_events()

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
                await self._emit_at(generation, SpeechError("tts_failed", str(failure), fatal=True))
                continue
            await self._emit_at(generation, SynthesisDone())

    async def _sentence(self, generation: int, sentence: str) -> None:
        synthesizer = self._synthesizer
        voice = synthesizer.voice_for(self._requested_voice)
        key = synthesizer.cache_key(sentence, voice)
        if synthesizer.cache is not None:
            cached = await asyncio.to_thread(self._cached, key)
            if cached is not None:
                self.cache_hits += 1
                await self._emit_at(generation, AudioChunk(cached, self.sample_rate))
                return
        loop = asyncio.get_running_loop()
        pieces: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue()
        rate = self.sample_rate

        def on_audio(pcm: bytes) -> None:  # worker thread
            loop.call_soon_threadsafe(pieces.put_nowait, resample(pcm, MODEL_RATE, rate))

        def on_done(error: BaseException | None) -> None:  # worker thread
            with contextlib.suppress(RuntimeError):  # the loop may be gone at shutdown
                loop.call_soon_threadsafe(pieces.put_nowait, error)

        request = Request(
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
                await self._emit_at(generation, AudioChunk(piece, self.sample_rate))
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
