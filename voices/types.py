"""Events and interfaces of speech I/O: audio in, transcript events out; text in, audio out.

Audio is always raw PCM16 little-endian mono. Times inside the audio are seconds since the
stream started (``*_s``); wall-clock receive times are ``time.monotonic()`` values
(``received_at``), so latencies can be measured against other monotonic stamps.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

SAMPLE_WIDTH = 2  # bytes per PCM16 sample


@dataclass(frozen=True, slots=True)
class WordTiming:
    word: str  # as spoken, with punctuation when the provider adds it
    start_s: float
    end_s: float
    confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Transcript:
    """A piece of recognised speech. ``is_final`` pieces never change again;
    ``speech_final`` marks the provider's end of an utterance (endpointing)."""

    text: str
    is_final: bool
    speech_final: bool
    start_s: float
    end_s: float
    words: tuple[WordTiming, ...]
    received_at: float


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at_s: float
    received_at: float


@dataclass(frozen=True, slots=True)
class UtteranceEnd:
    """No word for a while after the last one (Deepgram's UtteranceEnd, or local VAD)."""

    last_word_end_s: float
    received_at: float


@dataclass(frozen=True, slots=True)
class EagerEndOfTurn:
    """The provider thinks the turn has probably ended (Deepgram Flux's EagerEndOfTurn):
    a reply may be begun on ``transcript_text`` now. A ``TurnResumed`` withdraws it; a
    final ``Transcript`` with ``speech_final`` confirms it (with the same words, unless a
    ``TurnResumed`` came between)."""

    transcript_text: str
    last_word_end_s: float  # on the stream's audio clock
    received_at: float
    words: tuple[WordTiming, ...] = ()  # of ``transcript_text``, when the provider timed them


@dataclass(frozen=True, slots=True)
class TurnResumed:
    """Speech came back after an ``EagerEndOfTurn``: what was begun on it is void."""

    received_at: float


@dataclass(frozen=True, slots=True)
class SpeechError:
    """A provider failure, reported in the stream instead of tearing it down."""

    code: str
    message: str
    fatal: bool


RecognitionEvent = (
    Transcript | SpeechStarted | UtteranceEnd | EagerEndOfTurn | TurnResumed | SpeechError
)


class RecognitionStream(Protocol):
    """One live transcription of one audio stream."""

    async def send(self, pcm: bytes) -> None:
        """Queue audio; never waits on the network. The queue is bounded (tens of seconds
        of audio, enough to ride out a reconnect); past the bound the oldest audio goes."""
        ...

    async def finalize(self) -> None:
        """Ask for what was heard so far as a final transcript (the candidate is done)."""
        ...

    def events(self) -> AsyncIterator[RecognitionEvent]: ...

    async def close(self) -> None: ...


class SpeechRecognizer(Protocol):
    name: str

    async def open(self, *, sample_rate: int) -> RecognitionStream: ...


@dataclass(frozen=True, slots=True)
class AudioChunk:
    pcm: bytes
    sample_rate: int

    @property
    def duration_s(self) -> float:
        return len(self.pcm) / SAMPLE_WIDTH / self.sample_rate


@dataclass(frozen=True, slots=True)
class SynthesisDone:
    """All audio for the text sent before the last ``flush`` has been delivered."""


SynthesisEvent = AudioChunk | SynthesisDone | SpeechError


class SynthesisStream(Protocol):
    """Speech for a sequence of text chunks, in order."""

    async def speak(self, text: str) -> None:
        """Add text; it is synthesised once ``flush`` is called."""
        ...

    async def flush(self) -> None: ...

    async def clear(self) -> None:
        """Drop everything not yet delivered (barge-in)."""
        ...

    def warm(self) -> None:
        """Have the connection the next flush needs open (nothing for a local voice);
        does not wait for it, never raises."""
        ...

    def events(self) -> AsyncIterator[SynthesisEvent]: ...

    async def close(self) -> None: ...


class SpeechSynthesizer(Protocol):
    name: str

    async def open(self, *, sample_rate: int, voice: str) -> SynthesisStream: ...
