"""In-memory fakes of the speech interfaces, for tests of what sits on top of them.

``ScriptedRecognizer`` turns nothing into text by itself: a test injects the events a
provider would send. ``ToneSynthesizer`` answers every flushed text with a deterministic
tone whose length grows with the text, like real speech would.
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
from collections.abc import AsyncIterator

from voices.types import (
    AudioChunk,
    RecognitionEvent,
    SpeechError,
    SynthesisDone,
    SynthesisEvent,
    Transcript,
    WordTiming,
)


class ScriptedRecognitionStream:
    def __init__(self, sample_rate: int) -> None:
        self.sample_rate = sample_rate
        self.audio = bytearray()
        self.finalize_calls = 0
        self.closed = False
        self._events: asyncio.Queue[RecognitionEvent | None] = asyncio.Queue()

    async def send(self, pcm: bytes) -> None:
        self.audio.extend(pcm)

    async def finalize(self) -> None:
        self.finalize_calls += 1

    def inject(self, event: RecognitionEvent) -> None:
        self._events.put_nowait(event)

    def say(
        self, text: str, *, start_s: float = 0.0, final: bool = True, speech_final: bool = True
    ) -> None:
        """Inject a transcript of ``text`` spoken from ``start_s``, 0.3 s a word."""
        spoken = text.split()
        timings = tuple(
            WordTiming(word, start_s + 0.3 * i, start_s + 0.3 * (i + 1))
            for i, word in enumerate(spoken)
        )
        self.inject(
            Transcript(
                text=text,
                is_final=final,
                speech_final=speech_final and final,
                start_s=start_s,
                end_s=start_s + 0.3 * len(spoken),
                words=timings if final else (),
                received_at=time.monotonic(),
            )
        )

    async def events(self) -> AsyncIterator[RecognitionEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def close(self) -> None:
        self.closed = True
        self._events.put_nowait(None)


class ScriptedRecognizer:
    name = "scripted"

    def __init__(self) -> None:
        self.streams: list[ScriptedRecognitionStream] = []
        self.opened = asyncio.Event()

    async def open(self, *, sample_rate: int) -> ScriptedRecognitionStream:
        stream = ScriptedRecognitionStream(sample_rate)
        self.streams.append(stream)
        self.opened.set()
        return stream

    @property
    def stream(self) -> ScriptedRecognitionStream:
        return self.streams[-1]


def tone(seconds: float, sample_rate: int, frequency: float = 220.0) -> bytes:
    count = int(seconds * sample_rate)
    return b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * frequency * i / sample_rate)))
        for i in range(count)
    )


class ToneSynthesisStream:
    def __init__(
        self, sample_rate: int, seconds_per_char: float, chunk_s: float, fail: bool
    ) -> None:
        self.sample_rate = sample_rate
        self.seconds_per_char = seconds_per_char
        self.chunk_s = chunk_s
        self.fail = fail
        self.texts: list[str] = []
        self.clears = 0
        self.warmed = 0
        self._pending: list[str] = []
        self._events: asyncio.Queue[SynthesisEvent | None] = asyncio.Queue()

    async def speak(self, text: str) -> None:
        self._pending.append(text)
        self.texts.append(text)

    async def flush(self) -> None:
        text = " ".join(self._pending)
        self._pending.clear()
        if self.fail:
            self._events.put_nowait(SpeechError("tts_failed", "synthesis failed", fatal=True))
            return
        audio = tone(min(len(text) * self.seconds_per_char, 10.0), self.sample_rate)
        step = int(self.chunk_s * self.sample_rate) * 2
        for start in range(0, len(audio), step):
            self._events.put_nowait(AudioChunk(audio[start : start + step], self.sample_rate))
        self._events.put_nowait(SynthesisDone())

    async def clear(self) -> None:
        self.clears += 1
        self._pending.clear()

    def warm(self) -> None:
        self.warmed += 1

    async def events(self) -> AsyncIterator[SynthesisEvent]:
        while (event := await self._events.get()) is not None:
            yield event

    async def close(self) -> None:
        self._events.put_nowait(None)


class ToneSynthesizer:
    name = "tone"

    def __init__(
        self, *, seconds_per_char: float = 0.01, chunk_s: float = 0.1, fail: bool = False
    ) -> None:
        self.seconds_per_char = seconds_per_char
        self.chunk_s = chunk_s
        self.fail = fail
        self.streams: list[ToneSynthesisStream] = []

    async def open(self, *, sample_rate: int, voice: str) -> ToneSynthesisStream:
        stream = ToneSynthesisStream(sample_rate, self.seconds_per_char, self.chunk_s, self.fail)
        self.streams.append(stream)
        return stream
