"""A fake Deepgram, over real WebSockets and HTTP, for speech tests and benchmarks.

One Starlette app under uvicorn on 127.0.0.1 and a free port speaks Deepgram's wire
protocols, so the real ``deepgram-sdk`` (v7) talks to it unchanged once its environment
points here::

    DeepgramClientEnvironment(base=fake.url, production=fake.ws_url,
                              agent=fake.ws_url, agent_rest=fake.url)

What the SDK sends (read from deepgram-sdk 7.17 ``listen/v1/client.py``,
``speak/v1/client.py``, ``speak/v1/audio/raw_client.py``, ``core/client_wrapper.py``):

- every request carries ``Authorization: Token <api key>`` (``bearer <token>`` when the
  client was built with ``access_token=``), plus ``x-deepgram-session-id``;
- ``listen.v1.connect(...)`` opens ``{production}/v1/listen?<query>``: each keyword
  argument that is not None becomes a query parameter (bools as ``true``/``false``), and
  ``request_options={"additional_query_parameters": {...}}`` adds any other, such as
  ``filler_words``. A refused handshake becomes ``ApiError(status_code=...)``;
- ``listen.v2.connect(...)`` opens ``{production}/v2/listen?<query>`` likewise: Flux,
  served by this app too and described in ``tests/fakes/deepgram_flux.py``;
- ``speak.v1.connect(...)`` opens ``{production}/v1/speak?model=&encoding=&sample_rate=``;
- ``speak.v1.audio.generate(text=...)`` posts ``{"text": ...}`` to ``{base}/v1/speak``
  with ``model``, ``encoding``, ``sample_rate``, ``container`` in the query string and
  yields the body's chunks as they arrive.

Listen (``/v1/listen``) — client frames: binary PCM16 little-endian mono audio at
``sample_rate``; JSON text ``{"type": "KeepAlive"}``, ``{"type": "Finalize"}``,
``{"type": "CloseStream"}``. Server frames (JSON text):

- ``{"type": "SpeechStarted", "channel": [0], "timestamp": 0.52}`` (with ``vad_events``);
- ``{"type": "Results", "channel_index": [0, 1], "start": 0.0, "duration": 1.2,
  "is_final": true, "speech_final": true, "from_finalize": false, "channel":
  {"alternatives": [{"transcript": "Um, I did.", "confidence": 0.98, "words": [{"word":
  "um", "start": 0.52, "end": 0.7, "confidence": 0.98, "punctuated_word": "Um,"}, ...]}]},
  "metadata": {"request_id": ..., "model_info": {"name", "version", "arch"},
  "model_uuid": ...}}`` — ``start``/``duration`` give the audio window the result covers
  (windows are contiguous: the next one starts where the last final ended), interim
  results (``is_final: false``) grow until the final; ``punctuated_word`` is present, and
  the transcript punctuated, only with ``punctuate`` or ``smart_format``;
- ``{"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": 1.1}``;
- on CloseStream, ``{"type": "Metadata", "transaction_key": "deprecated", "request_id",
  "sha256", "created", "duration", "channels", "models", "model_info"}`` and a 1000 close;
- after ``idle_timeout_s`` without audio or KeepAlive, a 1011 close (Deepgram's NET-0001).

The fake hears speech by energy, timed in audio time (sample counts, never the wall
clock), so a test may push audio as fast as it likes: RMS over 20 ms frames against
``speech_threshold_rms``. Speech after silence opens a segment; the first segment of an
utterance takes the next scripted transcript (``script(...)``; ``fallback_transcript``
when the script is empty); interim results reveal one word per ``ms_per_word`` of speech;
``endpointing`` ms of silence finalize it (``speech_final: true``). An utterance scripted
with its length (``Utterance(text, seconds)``, or ``utterance_seconds``) may span several
segments: each final holds the share of its words spoken so far, so a short endpointing
splits an answer at its pauses, as at Deepgram; one without a length is one segment.
``utterance_end_ms`` ms after the last word, with ``interim_results``, comes
``UtteranceEnd`` (and, when endpointing is off, the final first). Filler words ("um",
"uh", ...) stay only with ``filler_words=true``, as at Deepgram. ``Finalize`` answers at
once with ``from_finalize: true``, even when nothing is pending.

Listen v1 and Flux share the hearing, the script and the socket loop (``VoicedFrames``,
``ListenModel``).

Speak (``/v1/speak`` WebSocket) — client JSON text ``{"type": "Speak", "text": ...}``,
``{"type": "Flush"}``, ``{"type": "Clear"}``, ``{"type": "Close"}``. Server: first
``{"type": "Metadata", "request_id", "model_name", "model_version", "model_uuid"}``; per
Flush, binary PCM16 chunks then ``{"type": "Flushed", "sequence_id": n}`` (n counts
flushes from 0); Clear drops buffered text and stops audio at once, then
``{"type": "Cleared", "sequence_id": n}``; Close closes with 1000;
``{"type": "Warning", "description", "code"}`` for what it cannot do, such as a 21st Flush
within 60 s (Deepgram's documented limit). Audio is a deterministic tone,
``speak_ms_per_char`` per character of text (see ``synthetic_speech``).

Speak REST (``POST /v1/speak``) returns the same audio, in a WAV container unless
``container=none``. Errors everywhere are Deepgram's ``{"err_code", "err_msg",
"request_id"}``.

Knobs are plain attributes of ``FakeDeepgram``, so a test may change them mid-way (the
segmentation ones apply from the next listen connection, the rest at once). Logs are
``listen_connections``, ``flux_connections``, ``speak_connections`` and ``rest_requests``
(bounded deques).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
import operator
import re
import secrets
import struct
import sys
import uuid
from array import array
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fakes.serving import serve_app

if TYPE_CHECKING:
    from tests.fakes.deepgram_flux import FluxConnection

LOG_LIMIT: Final = 1000  # entries kept per log; the oldest fall off
FRAME_MS: Final = 20
OUTBOX_LIMIT: Final = 256  # listen messages waiting to be sent; a full outbox stops reading
SPEAK_JOB_LIMIT: Final = 32  # flushes waiting for synthesis; a full queue stops reading
SPEAK_BUFFER_LIMIT: Final = 20_000  # characters of Speak text held before a Flush
FILLER_WORDS: Final = frozenset({"um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm", "mm"})
MODEL_INFO: Final = {"name": "2-general-nova", "version": "2024-01-09.29447", "arch": "nova-3"}
NET0001: Final = "Deepgram did not receive audio data or a text message within the timeout window."

_SEND_ERRORS = (OSError, RuntimeError, WebSocketDisconnect)
_Options = TypeVar("_Options")
_NOT_WORD = re.compile(r"[^\w']+")


def _model_uuid(model: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"fake-deepgram/{model}"))


# --- audio -------------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _tone_second(sample_rate: int, frequency_hz: int, amplitude: int) -> bytes:
    # A whole number of cycles per second, so seconds tile without a click.
    step = 2 * math.pi * frequency_hz / sample_rate
    samples = array("h", (round(amplitude * math.sin(step * i)) for i in range(sample_rate)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def tone(
    seconds: float, sample_rate: int, *, frequency_hz: int = 220, amplitude: int = 8000
) -> bytes:
    """PCM16 LE mono sine tone: what the fake's energy detector hears as speech."""
    one_second = _tone_second(sample_rate, frequency_hz, amplitude)
    size = round(seconds * sample_rate) * 2
    whole, rest = divmod(size, len(one_second))
    return one_second * whole + one_second[:rest]


def silence(seconds: float, sample_rate: int) -> bytes:
    """PCM16 LE mono digital silence."""
    return bytes(round(seconds * sample_rate) * 2)


def synthetic_speech(
    text: str, sample_rate: int, *, ms_per_char: float = 60.0, max_seconds: float = 20.0
) -> bytes:
    """The fake TTS voice: a 200 Hz tone lasting ``ms_per_char`` per character, capped."""
    seconds = min(max_seconds, len(text.strip()) * ms_per_char / 1000)
    return tone(seconds, sample_rate, frequency_hz=200, amplitude=6000)


def _wav_header(data_bytes: int, sample_rate: int) -> bytes:
    byte_rate = sample_rate * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, byte_rate, 2, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def _rms(frame: bytes) -> float:
    samples = array("h")
    samples.frombytes(frame)
    if sys.byteorder == "big":
        samples.byteswap()
    return math.sqrt(sum(map(operator.mul, samples, samples)) / len(samples))


class VoicedFrames:
    """Hears audio as 20 ms frames, each voiced or not (RMS against a threshold), in audio
    time: what a listen socket hears whatever the chunking. Subclasses answer each frame."""

    def __init__(self, sample_rate: int, speech_threshold_rms: float) -> None:
        self.sample_rate = sample_rate
        self._threshold = speech_threshold_rms
        self._frame_bytes = sample_rate * FRAME_MS // 1000 * 2
        self._pending = bytearray()  # less than one frame
        self._samples = 0

    @property
    def audio_time(self) -> float:
        """Seconds of audio heard in whole frames."""
        return self._samples / self.sample_rate

    def feed(self, pcm: bytes) -> list[dict[str, Any]]:
        """Messages caused by this audio."""
        self._pending += pcm
        messages: list[dict[str, Any]] = []
        frames = len(self._pending) // self._frame_bytes
        for number in range(frames):
            offset = number * self._frame_bytes
            frame = bytes(self._pending[offset : offset + self._frame_bytes])
            frame_start = self.audio_time
            self._samples += self._frame_bytes // 2
            self._on_frame(_rms(frame) >= self._threshold, frame_start, messages)
        del self._pending[: frames * self._frame_bytes]
        return messages

    def _on_frame(self, voiced: bool, start: float, messages: list[dict[str, Any]]) -> None:
        """Append what the frame that began at ``start`` (s) causes; ``audio_time`` is its end."""
        raise NotImplementedError


# --- logs --------------------------------------------------------------------------------


@dataclass
class ListenConnection:
    """One ``/v1/listen`` connection: what it asked for, received and sent."""

    index: int
    query: dict[str, str]
    sample_rate: int
    audio_bytes: int = 0
    messages: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    sent: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    ended: str | None = None  # client_closed | close_stream | idle_timeout | dropped

    @property
    def audio_seconds(self) -> float:
        return self.audio_bytes / 2 / self.sample_rate

    @property
    def message_types(self) -> list[str]:
        """The ``type`` of each text message received, in order."""
        return [str(message.get("type")) for message in self.messages]

    @property
    def final_transcripts(self) -> list[str]:
        """Transcripts of the non-empty final results sent."""
        return [
            message["channel"]["alternatives"][0]["transcript"]
            for message in self.sent
            if message.get("type") == "Results"
            and message.get("is_final")
            and message["channel"]["alternatives"][0]["transcript"]
        ]


@dataclass
class SpeakConnection:
    """One ``/v1/speak`` WebSocket connection."""

    index: int
    query: dict[str, str]
    texts: deque[str] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    messages: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    audio_bytes_sent: int = 0
    flushes: int = 0
    clears: int = 0
    ended: str | None = None  # client_closed | close | dropped


@dataclass
class SpeakRequest:
    """One ``POST /v1/speak``."""

    query: dict[str, str]
    text: str | None
    status: int


# --- listen ------------------------------------------------------------------------------


def _flag(query: Mapping[str, str], name: str) -> bool:
    return query.get(name, "false").lower() == "true"


def _milliseconds(query: Mapping[str, str], name: str, default: int | None) -> int | None:
    value = query.get(name)
    if value is None:
        return default
    if value.lower() == "false":
        return None
    if value.lower() == "true":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a number of milliseconds, got {value!r}") from None


def pcm_sample_rate(query: Mapping[str, str]) -> int:
    """The rate of the raw PCM16 a listen query announces; ``ValueError`` for what Deepgram
    (or the fake) would refuse."""
    if query.get("encoding") != "linear16":
        raise ValueError("the fake understands only encoding=linear16")
    if "sample_rate" not in query:
        raise ValueError("sample_rate is required when encoding is set")
    try:
        sample_rate = int(query["sample_rate"])
    except ValueError:
        raise ValueError("sample_rate must be an integer") from None
    if not 8000 <= sample_rate <= 48000:
        raise ValueError(f"unsupported sample_rate {sample_rate}")
    return sample_rate


@dataclass(frozen=True)
class ListenOptions:
    """The query parameters of ``/v1/listen`` that change what the fake sends."""

    model: str
    sample_rate: int
    interim_results: bool
    endpointing_ms: int | None
    utterance_end_ms: int | None
    vad_events: bool
    punctuate: bool
    filler_words: bool

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> ListenOptions:
        """Parse and check the query; ``ValueError`` says what Deepgram would refuse."""
        sample_rate = pcm_sample_rate(query)
        if query.get("channels", "1") != "1":
            raise ValueError("the fake understands only channels=1")
        return cls(
            model=query.get("model", "base"),
            sample_rate=sample_rate,
            interim_results=_flag(query, "interim_results"),
            endpointing_ms=_milliseconds(query, "endpointing", 10),
            utterance_end_ms=_milliseconds(query, "utterance_end_ms", None),
            vad_events=_flag(query, "vad_events"),
            punctuate=_flag(query, "punctuate") or _flag(query, "smart_format"),
            filler_words=_flag(query, "filler_words"),
        )


@dataclass(frozen=True)
class Utterance:
    """One scripted thing said: its transcript and, when known, how long it is spoken
    (audio seconds from its first voiced frame to its last). With ``seconds`` the words
    are finalized as they are heard: an endpoint in a pause inside the utterance finalizes
    the share of its words spoken so far, and the rest wait for the speech after the pause,
    as Deepgram finalizes what it heard. Without, the utterance is one segment: the next
    endpoint finalizes all of it."""

    text: str
    seconds: float | None = None


# A segment reaching this close to its utterance's end (s) has said all of it: the length
# is measured in whole 20 ms frames, as the fake hears them. Any more slack would close an
# utterance before a last voiced frame after a short gap, which would then open the next.
UTTERANCE_END_SLACK_S: Final = 0.01


@dataclass
class _Utterance:
    tokens: list[str]
    seconds: float | None
    start: float  # audio time of its first voiced frame
    given: int = 0  # tokens already finalized

    @classmethod
    def begin(cls, said: str | Utterance, start: float) -> _Utterance:
        """A script entry (a str is one of unknown length), first heard at ``start``."""
        if isinstance(said, str):
            said = Utterance(said)
        return cls(said.text.split(), said.seconds, start)

    def heard(self, until: float) -> int:
        """How many of its tokens are spoken by audio time ``until``."""
        if self.seconds is None or until - self.start >= self.seconds - UTTERANCE_END_SLACK_S:
            return len(self.tokens)
        # The last word is said only at the end: speech after a pause is still this one.
        share = max(0.0, until - self.start) / self.seconds
        return min(len(self.tokens) - 1, max(self.given, round(len(self.tokens) * share)))


@dataclass
class _Segment:
    """Speech heard since the last final: the utterance it is part of and its timing (s)."""

    utterance: _Utterance
    speech_start: float
    last_voiced_end: float
    last_interim_at: float


class Transcriber(VoicedFrames):
    """Turns audio into Deepgram listen messages; pure (no I/O), timed in audio time."""

    def __init__(
        self,
        options: ListenOptions,
        next_transcript: Callable[[], str | Utterance],
        *,
        speech_threshold_rms: float,
        interim_interval_ms: int,
        ms_per_word: int,
    ) -> None:
        super().__init__(options.sample_rate, speech_threshold_rms)
        self.options = options
        self._next_transcript = next_transcript
        self._interim_interval = interim_interval_ms / 1000
        self._seconds_per_word = ms_per_word / 1000
        self._window_start = 0.0
        self._segment: _Segment | None = None
        self._utterance: _Utterance | None = None  # said in part; its rest comes next
        self._last_word_end: float | None = None
        self._sha256 = hashlib.sha256()
        self.request_id = str(uuid.uuid4())
        self.model_uuid = _model_uuid(options.model)

    def unfinished_transcript(self) -> str | None:
        """The transcript of speech heard but not yet finalized, if any."""
        utterance = self._utterance
        if utterance is None or utterance.given >= len(utterance.tokens):
            return None
        return " ".join(utterance.tokens[utterance.given :])

    def opening(self) -> list[dict[str, Any]]:
        """What the socket sends first: nothing, on ``/v1/listen``."""
        return []

    def feed(self, pcm: bytes) -> list[dict[str, Any]]:
        self._sha256.update(pcm)
        return super().feed(pcm)

    def answer(self, kind: str | None, text: str) -> list[dict[str, Any]]:
        """Messages answering a client text message other than CloseStream."""
        if kind == "KeepAlive":
            return []
        if kind == "Finalize":
            return self.finalize()
        return [
            {
                "type": "Error",
                "variant": "SchemaError",
                "description": "Could not parse the client message.",
                "message": text,
            }
        ]

    @staticmethod
    def is_final(message: Mapping[str, Any]) -> bool:
        """Whether ``message`` is a final (``final_latency_ms`` holds finals back)."""
        return message.get("type") == "Results" and message.get("is_final") is True

    def finalize(self) -> list[dict[str, Any]]:
        """Answer to Finalize: the pending segment (or nothing heard) as a final."""
        if self._segment is None:
            return [self._results([], is_final=True, speech_final=False, from_finalize=True)]
        return [self._final(speech_final=False, from_finalize=True)]

    def close_stream(self) -> list[dict[str, Any]]:
        """Answer to CloseStream: the pending segment as a final, then Metadata."""
        messages = [self._final(speech_final=False)] if self._segment is not None else []
        messages.append(
            {
                "type": "Metadata",
                "transaction_key": "deprecated",
                "request_id": self.request_id,
                "sha256": self._sha256.hexdigest(),
                "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                "duration": round(self.audio_time, 3),
                "channels": 1,
                "models": [self.model_uuid],
                "model_info": {self.model_uuid: MODEL_INFO},
            }
        )
        return messages

    def _on_frame(self, voiced: bool, start: float, messages: list[dict[str, Any]]) -> None:
        options, now = self.options, self.audio_time
        segment = self._segment
        if voiced:
            if segment is None:
                utterance = self._utterance
                if utterance is None:
                    utterance = self._utterance = _Utterance.begin(self._next_transcript(), start)
                segment = self._segment = _Segment(utterance, start, now, start)
                # Speech again before UtteranceEnd fired: the utterance goes on.
                self._last_word_end = None
                if options.vad_events:
                    messages.append(
                        {"type": "SpeechStarted", "channel": [0], "timestamp": round(start, 3)}
                    )
            segment.last_voiced_end = now
            if options.interim_results and now - segment.last_interim_at >= self._interim_interval:
                segment.last_interim_at = now
                messages.append(self._interim(segment, now))
            return
        endpointing_ms = options.endpointing_ms
        if segment is not None and endpointing_ms is not None:
            silent_ms = (now - segment.last_voiced_end) * 1000
            if silent_ms >= endpointing_ms:
                messages.append(self._final(speech_final=True))
                segment = None
        if options.utterance_end_ms is None or not options.interim_results:
            return
        # With endpointing off (or longer than utterance_end_ms) the segment is still
        # open: its speech so far is the last word.
        last_word_end = segment.last_voiced_end if segment is not None else self._last_word_end
        if last_word_end is None or (now - last_word_end) * 1000 < options.utterance_end_ms:
            return
        if segment is not None:
            messages.append(self._final(speech_final=False))
        if self._last_word_end is not None:
            messages.append(
                {"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": self._last_word_end}
            )
        self._last_word_end = None

    def _interim(self, segment: _Segment, now: float) -> dict[str, Any]:
        utterance = segment.utterance
        remaining = utterance.tokens[utterance.given :]
        if utterance.seconds is None:
            heard = int((now - segment.speech_start) / self._seconds_per_word)
        else:
            heard = utterance.heard(now) - utterance.given
        count = min(len(remaining), max(1, heard))
        words = self._words(remaining[:count], segment.speech_start, now)
        return self._results(words, is_final=False, speech_final=False)

    def _final(self, *, speech_final: bool, from_finalize: bool = False) -> dict[str, Any]:
        segment = self._segment
        assert segment is not None
        self._segment = None
        utterance = segment.utterance
        heard = utterance.heard(segment.last_voiced_end)
        tokens = utterance.tokens[utterance.given : heard]
        utterance.given = heard
        if heard >= len(utterance.tokens):
            self._utterance = None
        words = self._words(tokens, segment.speech_start, segment.last_voiced_end)
        if words:
            self._last_word_end = words[-1]["end"]
        return self._results(
            words, is_final=True, speech_final=speech_final, from_finalize=from_finalize
        )

    def _words(self, tokens: list[str], start: float, end: float) -> list[dict[str, Any]]:
        """Scripted tokens as Deepgram words, spread evenly over [start, end] seconds."""
        span = max(end - start, 0.0) / max(len(tokens), 1)
        words = []
        for index, token in enumerate(tokens):
            word = _NOT_WORD.sub("", token).strip("'").lower()
            if not word or (word in FILLER_WORDS and not self.options.filler_words):
                continue
            entry: dict[str, Any] = {
                "word": word,
                "start": round(start + index * span, 3),
                "end": round(start + (index + 1) * span, 3),
                "confidence": 0.98,
            }
            if self.options.punctuate:
                entry["punctuated_word"] = token
            words.append(entry)
        return words

    def _results(
        self,
        words: list[dict[str, Any]],
        *,
        is_final: bool,
        speech_final: bool,
        from_finalize: bool = False,
    ) -> dict[str, Any]:
        key = "punctuated_word" if self.options.punctuate else "word"
        start, end = self._window_start, self.audio_time
        if is_final:
            self._window_start = end
        return {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": round(end - start, 3),
            "start": round(start, 3),
            "is_final": is_final,
            "speech_final": speech_final,
            "channel": {
                "alternatives": [
                    {
                        "transcript": " ".join(word[key] for word in words),
                        "confidence": 0.98 if words else 0.0,
                        "words": words,
                    }
                ]
            },
            "metadata": {
                "request_id": self.request_id,
                "model_info": MODEL_INFO,
                "model_uuid": self.model_uuid,
            },
            "from_finalize": from_finalize,
        }


class ListenModel(Protocol):
    """What answers a listen socket (``Transcriber`` on ``/v1/listen``, ``FluxTurns`` on
    ``/v2/listen``): pure, timed in audio time; the socket loop around it is shared."""

    def opening(self) -> list[dict[str, Any]]:
        """Messages sent as soon as the socket is accepted."""
        ...

    def feed(self, pcm: bytes) -> list[dict[str, Any]]: ...

    def answer(self, kind: str | None, text: str) -> list[dict[str, Any]]:
        """Messages answering a client text message (``kind``: its type, if JSON) other
        than CloseStream."""
        ...

    def close_stream(self) -> list[dict[str, Any]]:
        """Messages sent before closing on CloseStream."""
        ...

    def unfinished_transcript(self) -> str | None: ...

    def is_final(self, message: Mapping[str, Any]) -> bool: ...


class _Dropped(Exception):
    """The fake drops this connection without a close frame."""


@dataclass
class _Outgoing:
    message: dict[str, Any]
    not_before: float  # loop time


@dataclass
class _Close:
    code: int
    reason: str = ""


# --- speak -------------------------------------------------------------------------------


@dataclass
class _SpeakJob:
    text: str
    sequence_id: int
    generation: int


class _SpeakSession:
    """One speak WebSocket: a reader of client messages and a synthesizer task.

    Sends happen under one lock, and Clear bumps ``generation`` under it, so no audio of
    a cleared flush goes out after ``Cleared``.
    """

    def __init__(
        self,
        fake: FakeDeepgram,
        websocket: WebSocket,
        log: SpeakConnection,
        sample_rate: int,
        *,
        drop_after_first_chunk: bool,
    ) -> None:
        self.fake, self.websocket, self.log = fake, websocket, log
        self.sample_rate = sample_rate
        self.send_lock = asyncio.Lock()
        self.generation = 0
        self.buffer: list[str] = []
        self.buffered_chars = 0
        self.jobs: asyncio.Queue[_SpeakJob] = asyncio.Queue(maxsize=SPEAK_JOB_LIMIT)
        self.flush_times: deque[float] = deque()
        self.connected = True
        self.drop_after_first_chunk = drop_after_first_chunk

    async def run(self, model: str) -> None:
        await self._send_json(
            {
                "type": "Metadata",
                "request_id": str(uuid.uuid4()),
                "model_name": model,
                "model_version": "2025-04-07.0",
                "model_uuid": _model_uuid(model),
            }
        )
        try:
            async with asyncio.TaskGroup() as tasks:
                synthesizer = tasks.create_task(self._synthesize())
                self.log.ended = await self._read()
                synthesizer.cancel()
        except* _Dropped:
            self.log.ended = "dropped"
        if self.log.ended == "close":
            with contextlib.suppress(*_SEND_ERRORS):
                await self.websocket.close(1000)

    async def _read(self) -> str:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return "client_closed"
            parsed = _json_object(message.get("text"))
            self.log.messages.append(parsed if parsed is not None else _unparsed(message))
            kind = parsed.get("type") if parsed is not None else None
            if kind == "Speak" and parsed is not None and isinstance(parsed.get("text"), str):
                await self._speak(parsed["text"])
            elif kind == "Flush":
                await self._flush()
            elif kind == "Clear":
                await self._clear()
            elif kind == "Close":
                return "close"
            else:
                await self._warn("UNPARSABLE_CLIENT_MESSAGE", "Unknown or malformed message.")

    async def _speak(self, text: str) -> None:
        self.log.texts.append(text)
        if self.buffered_chars + len(text) > SPEAK_BUFFER_LIMIT:
            await self._warn("TEXT_BUFFER_FULL", "Text buffer is full; send a Flush first.")
            return
        self.buffer.append(text)
        self.buffered_chars += len(text)

    async def _flush(self) -> None:
        limit = self.fake.speak_flush_limit
        if limit is not None:
            now = asyncio.get_running_loop().time()
            while self.flush_times and now - self.flush_times[0] >= 60:
                self.flush_times.popleft()
            if len(self.flush_times) >= limit:
                await self._warn("FLUSH_LIMIT", f"More than {limit} Flush messages in 60 s.")
                return
            self.flush_times.append(now)
        job = _SpeakJob("".join(self.buffer), self.log.flushes, self.generation)
        self.log.flushes += 1
        self.buffer.clear()
        self.buffered_chars = 0
        await self.jobs.put(job)

    async def _clear(self) -> None:
        async with self.send_lock:
            self.generation += 1
            self.buffer.clear()
            self.buffered_chars = 0
            while not self.jobs.empty():
                self.jobs.get_nowait()
            self.log.clears += 1
            sequence_id = max(self.log.flushes - 1, 0)
            await self._send_json_locked({"type": "Cleared", "sequence_id": sequence_id})

    async def _synthesize(self) -> None:
        fake = self.fake
        while True:
            job = await self.jobs.get()
            if job.generation != self.generation:
                continue
            audio = synthetic_speech(
                job.text,
                self.sample_rate,
                ms_per_char=fake.speak_ms_per_char,
                max_seconds=fake.speak_max_audio_s,
            )
            if audio and fake.speak_first_byte_ms:
                await asyncio.sleep(fake.speak_first_byte_ms / 1000)
            chunk_bytes = self.sample_rate * fake.speak_chunk_ms // 1000 * 2
            for offset in range(0, len(audio), chunk_bytes):
                async with self.send_lock:
                    if job.generation != self.generation:
                        break
                    chunk = audio[offset : offset + chunk_bytes]
                    await self._send(chunk)
                    self.log.audio_bytes_sent += len(chunk)
                if self.drop_after_first_chunk:
                    raise _Dropped
                if fake.speak_chunk_delay_ms:
                    await asyncio.sleep(fake.speak_chunk_delay_ms / 1000)
            else:
                async with self.send_lock:
                    if job.generation == self.generation:
                        flushed = {"type": "Flushed", "sequence_id": job.sequence_id}
                        await self._send_json_locked(flushed)

    async def _warn(self, code: str, description: str) -> None:
        await self._send_json({"type": "Warning", "description": description, "code": code})

    async def _send_json(self, message: dict[str, Any]) -> None:
        async with self.send_lock:
            await self._send_json_locked(message)

    async def _send_json_locked(self, message: dict[str, Any]) -> None:
        await self._send(json.dumps(message))

    async def _send(self, data: str | bytes) -> None:
        """Send a frame; once the client is gone, sends are dropped, not raised."""
        if not self.connected:
            return
        try:
            if isinstance(data, bytes):
                await self.websocket.send_bytes(data)
            else:
                await self.websocket.send_text(data)
        except _SEND_ERRORS:
            self.connected = False


def _json_object(text: str | None) -> dict[str, Any] | None:
    if text is None:
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _unparsed(message: Mapping[str, Any]) -> dict[str, Any]:
    """A log entry for a frame that is not a JSON object."""
    text = message.get("text")
    if text is not None:
        return {"raw": text}
    return {"raw_bytes": len(message.get("bytes") or b"")}


def _speak_sample_rate(query: Mapping[str, str], default_encoding: str = "linear16") -> int:
    """The sample rate a speak request asks for; ``ValueError`` for what the fake can't do."""
    if query.get("encoding", default_encoding) != "linear16":
        raise ValueError("the fake speaks only encoding=linear16")
    try:
        sample_rate = int(query.get("sample_rate", "24000"))
    except ValueError:
        raise ValueError("sample_rate must be an integer") from None
    if not 8000 <= sample_rate <= 48000:
        raise ValueError(f"unsupported sample_rate {sample_rate}")
    return sample_rate


def _deepgram_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        {"err_code": code, "err_msg": message, "request_id": str(uuid.uuid4())},
        status_code=status,
        headers={"dg-error": message},
    )


# --- the fake ----------------------------------------------------------------------------


@dataclass
class FakeDeepgram:
    """Deepgram listen + speak on one port. Attributes are knobs (read live) and logs."""

    api_key: str = "dg-test-key"
    # listen
    # one per utterance (Flux: turn); a str is an utterance of unknown length
    transcripts: deque[str | Utterance] = field(default_factory=deque)
    fallback_transcript: str = "This is my answer."
    speech_threshold_rms: float = 500.0  # int16 RMS of a 20 ms frame that counts as speech
    interim_interval_ms: int = 500  # audio time between interim results while speaking
    ms_per_word: int = 300  # interim results reveal one word per this much speech
    # How long each listen connection's utterances are spoken (s), in turn and over again,
    # for those scripted without their own length: a candidate who says the same answers
    # in the same order on every connection (bench/latency.py). Empty: one segment each.
    utterance_seconds: tuple[float, ...] = ()
    final_latency_ms: float = 0.0  # wall-clock delay before each final (and what follows)
    drop_after_audio_s: float | None = None  # abrupt close after this much audio ...
    drop_connections: frozenset[int] = frozenset({0})  # ... on these listen connections
    listen_refuse_status: int | None = None  # refuse listen handshakes with this status
    idle_timeout_s: float = 10.0  # NET-0001: close 1011 after this long without a message
    # Flux (/v2/listen, tests/fakes/deepgram_flux.py) shares the knobs above except
    # interim_interval_ms and idle_timeout_s; drop_connections numbers its connections apart.
    flux_update_interval_ms: int = 250  # audio time between TurnInfo messages at most
    flux_confidence_ramp_ms: int = 1000  # silence over which end-of-turn confidence nears 1
    # speak
    speak_ms_per_char: float = 60.0
    speak_max_audio_s: float = 20.0
    speak_chunk_ms: int = 40
    speak_chunk_delay_ms: float = 0.0  # wall-clock pause between audio chunks
    speak_first_byte_ms: float = 0.0
    speak_flush_limit: int | None = 20  # Flushes per 60 s, as at Deepgram; None: no limit
    speak_refuse_status: int | None = None
    speak_drop_next: int = 0  # the next N speak sockets drop after their first audio chunk
    rest_latency_ms: float = 0.0
    rest_fail_next: int = 0  # the next N POST /v1/speak answer 500
    # logs
    listen_connections: deque[ListenConnection] = field(
        default_factory=lambda: deque(maxlen=LOG_LIMIT)
    )
    flux_connections: deque[FluxConnection] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    speak_connections: deque[SpeakConnection] = field(
        default_factory=lambda: deque(maxlen=LOG_LIMIT)
    )
    rest_requests: deque[SpeakRequest] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    url: str = ""  # http://127.0.0.1:<port>, set once serving
    _listen_count: int = field(default=0, init=False, repr=False)
    _flux_count: int = field(default=0, init=False, repr=False)
    _speak_count: int = field(default=0, init=False, repr=False)

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1)

    def script(self, *transcripts: str | Utterance) -> None:
        """Queue what the next utterances (Flux: turns) will be transcribed as."""
        self.transcripts.extend(transcripts)

    def speech_for(self, text: str, sample_rate: int) -> bytes:
        """The PCM16 audio the fake speaks for ``text`` with the current knobs."""
        return synthetic_speech(
            text,
            sample_rate,
            ms_per_char=self.speak_ms_per_char,
            max_seconds=self.speak_max_audio_s,
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                WebSocketRoute("/v1/listen", self._listen),
                WebSocketRoute("/v2/listen", self._flux_listen),
                WebSocketRoute("/v1/speak", self._speak),
                Route("/v1/speak", self._speak_rest, methods=["POST"]),
            ]
        )

    def _next_utterance(self) -> str | Utterance:
        return self.transcripts.popleft() if self.transcripts else self.fallback_transcript

    def _utterances(self) -> Callable[[], str | Utterance]:
        """A listen connection's source of utterances, lengths from ``utterance_seconds``."""
        lengths = self.utterance_seconds
        said = 0

        def next_utterance() -> str | Utterance:
            nonlocal said
            utterance = self._next_utterance()
            if isinstance(utterance, str) and lengths:
                utterance = Utterance(utterance, lengths[said % len(lengths)])
            said += 1
            return utterance

        return next_utterance

    def _refusal(self, headers: Headers, refuse_status: int | None) -> Response | None:
        scheme, _, credential = headers.get("authorization", "").partition(" ")
        valid = scheme.lower() in ("token", "bearer") and secrets.compare_digest(
            credential.encode(), self.api_key.encode()
        )
        if not valid:
            return _deepgram_error(401, "INVALID_AUTH", "Invalid credentials.")
        if refuse_status is not None:
            return _deepgram_error(refuse_status, "REFUSED", "The fake refuses connections.")
        return None

    # listen

    async def _handshake(
        self, websocket: WebSocket, parse: Callable[[], _Options]
    ) -> _Options | None:
        """Accept a listen socket, or refuse it before the upgrade as Deepgram does: 401 for
        the key, ``listen_refuse_status``, 400 for a query ``parse`` refuses (ValueError)."""
        refusal = self._refusal(websocket.headers, self.listen_refuse_status)
        try:
            options = parse()
        except ValueError as error:
            refusal = refusal or _deepgram_error(400, "Bad Request", str(error))
        if refusal is not None:
            await websocket.send_denial_response(refusal)
            return None
        await websocket.accept()
        return options

    async def _listen(self, websocket: WebSocket) -> None:
        query = dict(websocket.query_params)
        options = await self._handshake(websocket, lambda: ListenOptions.from_query(query))
        if options is None:
            return
        log = ListenConnection(self._listen_count, query, options.sample_rate)
        self._listen_count += 1
        self.listen_connections.append(log)
        transcriber = Transcriber(
            options,
            self._utterances(),
            speech_threshold_rms=self.speech_threshold_rms,
            interim_interval_ms=self.interim_interval_ms,
            ms_per_word=self.ms_per_word,
        )
        await self._serve_listen(websocket, log, transcriber, idles=True)

    async def _flux_listen(self, websocket: WebSocket) -> None:
        # The Flux module builds on this one (frames, logs, the loop below), so it is
        # imported here rather than at the top, keeping the import one-way.
        from tests.fakes.deepgram_flux import FluxConnection, FluxOptions, FluxTurns

        query = dict(websocket.query_params)
        keyterms = tuple(websocket.query_params.getlist("keyterm"))
        options = await self._handshake(websocket, lambda: FluxOptions.from_query(query))
        if options is None:
            return
        log = FluxConnection(self._flux_count, query, options.sample_rate, keyterms=keyterms)
        self._flux_count += 1
        self.flux_connections.append(log)
        turns = FluxTurns(
            options,
            self._utterances(),
            speech_threshold_rms=self.speech_threshold_rms,
            ms_per_word=self.ms_per_word,
            update_interval_ms=self.flux_update_interval_ms,
            confidence_ramp_ms=self.flux_confidence_ramp_ms,
        )
        # Flux has no KeepAlive and documents no idle timeout: an idle socket stays open.
        await self._serve_listen(websocket, log, turns, idles=False)

    def flux_silence_ms(self, threshold: float) -> int | None:
        """Silence after a Flux turn's last speech (ms) at which the fake's
        ``end_of_turn_confidence`` reaches ``threshold``; None when it never does."""
        from tests.fakes.deepgram_flux import silence_ms_to_reach

        return silence_ms_to_reach(threshold, self.flux_confidence_ramp_ms)

    async def _serve_listen(
        self, websocket: WebSocket, log: ListenConnection, model: ListenModel, *, idles: bool
    ) -> None:
        """Run an accepted listen socket: a reader feeding ``model``, a sender of its
        messages; ``idles``: close after ``idle_timeout_s`` without a client message."""
        outbox: asyncio.Queue[_Outgoing | _Close] = asyncio.Queue(maxsize=OUTBOX_LIMIT)
        loop = asyncio.get_running_loop()
        for message in model.opening():
            await outbox.put(_Outgoing(message, loop.time()))
        try:
            async with asyncio.TaskGroup() as tasks:
                sender = tasks.create_task(self._listen_send(websocket, log, outbox))
                log.ended = await self._listen_read(websocket, log, model, outbox, idles=idles)
                if log.ended == "client_closed":
                    sender.cancel()
        except* _Dropped:
            # Returning without a close frame makes uvicorn drop the TCP connection.
            log.ended = "dropped"
            # Words heard but never finalized are heard again by the next connection, as
            # at Deepgram when a client replays its audio: the segment keeps its script.
            unfinished = model.unfinished_transcript()
            if unfinished is not None:
                self.transcripts.appendleft(unfinished)

    def _drops(self, log: ListenConnection) -> bool:
        limit = self.drop_after_audio_s
        return (
            limit is not None and log.index in self.drop_connections and log.audio_seconds >= limit
        )

    async def _listen_read(
        self,
        websocket: WebSocket,
        log: ListenConnection,
        model: ListenModel,
        outbox: asyncio.Queue[_Outgoing | _Close],
        *,
        idles: bool,
    ) -> str:
        loop = asyncio.get_running_loop()

        async def send(messages: list[dict[str, Any]]) -> None:
            for message in messages:
                delay = self.final_latency_ms / 1000 if model.is_final(message) else 0.0
                await outbox.put(_Outgoing(message, loop.time() + delay))

        while True:
            try:
                async with asyncio.timeout(self.idle_timeout_s if idles else None):
                    message = await websocket.receive()
            except TimeoutError:
                await outbox.put(_Close(1011, NET0001))
                return "idle_timeout"
            if message["type"] == "websocket.disconnect":
                return "client_closed"
            audio = message.get("bytes")
            if audio is not None:
                log.audio_bytes += len(audio)
                await send(model.feed(audio))
                if self._drops(log):
                    raise _Dropped
                continue
            parsed = _json_object(message.get("text"))
            log.messages.append(parsed if parsed is not None else _unparsed(message))
            kind = parsed.get("type") if parsed is not None else None
            if kind == "CloseStream":
                await send(model.close_stream())
                await outbox.put(_Close(1000))
                return "close_stream"
            await send(model.answer(kind, message.get("text") or ""))

    async def _listen_send(
        self,
        websocket: WebSocket,
        log: ListenConnection,
        outbox: asyncio.Queue[_Outgoing | _Close],
    ) -> None:
        loop = asyncio.get_running_loop()
        connected = True
        while True:
            item = await outbox.get()
            if isinstance(item, _Close):
                if connected:
                    with contextlib.suppress(*_SEND_ERRORS):
                        await websocket.close(item.code, item.reason)
                return
            if not connected:
                continue  # keep draining, so the reader never blocks on a full outbox
            delay = item.not_before - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                await websocket.send_text(json.dumps(item.message))
            except _SEND_ERRORS:
                connected = False
            else:
                log.sent.append(item.message)

    # speak

    async def _speak(self, websocket: WebSocket) -> None:
        query = dict(websocket.query_params)
        refusal = self._refusal(websocket.headers, self.speak_refuse_status)
        try:
            sample_rate = _speak_sample_rate(query)
        except ValueError as error:
            refusal = refusal or _deepgram_error(400, "Bad Request", str(error))
        if refusal is not None:
            await websocket.send_denial_response(refusal)
            return
        await websocket.accept()
        log = SpeakConnection(self._speak_count, query)
        self._speak_count += 1
        self.speak_connections.append(log)
        drop = self.speak_drop_next > 0
        if drop:
            self.speak_drop_next -= 1
        session = _SpeakSession(self, websocket, log, sample_rate, drop_after_first_chunk=drop)
        await session.run(query.get("model", "aura-asteria-en"))

    async def _speak_rest(self, request: Request) -> Response:
        query = dict(request.query_params)
        try:
            body = await request.json()
        except ValueError:
            body = None
        text = body.get("text") if isinstance(body, dict) else None
        refusal = self._refusal(request.headers, None)
        if refusal is None and self.rest_fail_next > 0:
            self.rest_fail_next -= 1
            refusal = _deepgram_error(500, "INTERNAL_SERVER_ERROR", "The fake failed on purpose.")
        if refusal is None and not isinstance(text, str):
            refusal = _deepgram_error(400, "Bad Request", 'the body must be {"text": "..."}')
        sample_rate = 0
        if refusal is None:
            try:
                sample_rate = _speak_sample_rate(query, default_encoding="mp3")
            except ValueError as error:
                refusal = _deepgram_error(400, "Bad Request", str(error))
        self.rest_requests.append(
            SpeakRequest(query, text, refusal.status_code if refusal else 200)
        )
        if refusal is not None:
            return refusal
        assert isinstance(text, str)
        audio = self.speech_for(text, sample_rate)
        wav = query.get("container", "wav") != "none"
        if wav:
            audio = _wav_header(len(audio), sample_rate) + audio
        if self.rest_latency_ms:
            await asyncio.sleep(self.rest_latency_ms / 1000)

        async def chunks() -> AsyncIterator[bytes]:
            for offset in range(0, len(audio), 8192):
                yield audio[offset : offset + 8192]

        return StreamingResponse(
            chunks(),
            media_type="audio/wav" if wav else "application/octet-stream",
            headers={
                "dg-request-id": str(uuid.uuid4()),
                "dg-model-name": query.get("model", "aura-asteria-en"),
                "dg-char-count": str(len(text)),
            },
        )


def _serve(app: Starlette) -> contextlib.AbstractAsyncContextManager[str]:
    # Deepgram documents no permessage-deflate, so the fake negotiates none either.
    return serve_app(app, ws="websockets-sansio", ws_per_message_deflate=False)


@contextlib.asynccontextmanager
async def run_fake_deepgram(
    fake: FakeDeepgram | None = None, *, transcripts: Iterable[str] = ()
) -> AsyncIterator[FakeDeepgram]:
    """Serve ``fake`` (a default one if None) for the block, with ``transcripts`` queued."""
    fake = fake if fake is not None else FakeDeepgram()
    fake.script(*transcripts)
    async with _serve(fake.app()) as url:
        fake.url = url
        yield fake
