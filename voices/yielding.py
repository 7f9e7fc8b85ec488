"""A recognizer that makes way for the local synthesizer's background work while the
candidate speaks."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from voices.types import (
    RecognitionEvent,
    RecognitionStream,
    SpeechRecognizer,
    SpeechStarted,
    Transcript,
    UtteranceEnd,
)


class PreparationHold(Protocol):
    """What holds background synthesis (``voices.kokoro_engine.KokoroEngine``)."""

    def hold_preparation(self) -> None: ...

    def release_preparation(self) -> None: ...


class YieldingRecognizer:
    """A speech recognizer whose streams hold Kokoro's phrase preparation while the
    candidate speaks (from ``SpeechStarted`` to the end of the utterance).

    On a small machine both models compete for the same cores: measured on 2 cores,
    preparing phrases during answers made local recognition's final transcript ~2 s later,
    more than the prepared phrases saved. Preparation runs while the interviewer speaks and
    in silences instead."""

    def __init__(self, recognizer: SpeechRecognizer, engine: PreparationHold) -> None:
        self.inner = recognizer
        self.name = recognizer.name
        self.engine = engine

    async def open(self, *, sample_rate: int) -> RecognitionStream:
        return _YieldingStream(await self.inner.open(sample_rate=sample_rate), self.engine)


class _YieldingStream:
    def __init__(self, inner: RecognitionStream, engine: PreparationHold) -> None:
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
