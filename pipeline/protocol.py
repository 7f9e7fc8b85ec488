"""The live protocol (v1): parsing client frames, and the events the server sends.

Client text frames are JSON objects with a ``type``; binary frames are PCM16 audio.
Every server event carries the ``turn`` it belongs to. ``docs/protocol.md`` documents it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Literal

MAX_AUDIO_FRAME_BYTES = 64 * 1024
MAX_TEXT_FRAME_BYTES = 16 * 1024
MAX_TYPED_ANSWER_CHARS = 5_000
SUPPORTED_INPUT_RATES = (8000, 16000, 22050, 24000, 32000, 44100, 48000)
SUPPORTED_OUTPUT_RATES = (8000, 16000, 24000, 32000, 48000)
DEFAULT_INPUT_RATE = 16000
DEFAULT_OUTPUT_RATE = 24000


class ProtocolError(Exception):
    """A frame the protocol does not allow; answered with an ``error`` event."""

    def __init__(self, code: str, message: str, *, fatal: bool = False) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.fatal = fatal


# Client → server --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Start:
    type: ClassVar[str] = "start"
    input_rate: int = DEFAULT_INPUT_RATE
    output_rate: int = DEFAULT_OUTPUT_RATE


@dataclass(frozen=True, slots=True)
class EndTurn:
    type: ClassVar[str] = "end_turn"


@dataclass(frozen=True, slots=True)
class Interrupt:
    type: ClassVar[str] = "interrupt"


@dataclass(frozen=True, slots=True)
class TextAnswer:
    type: ClassVar[str] = "text"
    text: str


@dataclass(frozen=True, slots=True)
class Stop:
    type: ClassVar[str] = "stop"


ClientMessage = Start | EndTurn | Interrupt | TextAnswer | Stop
CLIENT_TYPES = tuple(kind.type for kind in (Start, EndTurn, Interrupt, TextAnswer, Stop))


def _rate(section: Any, name: str, allowed: tuple[int, ...], default: int) -> int:
    if section is None:
        return default
    if not isinstance(section, dict):
        raise ProtocolError("invalid_message", f"'{name}' must be an object")
    rate = section.get("sample_rate", default)
    if isinstance(rate, bool) or not isinstance(rate, int) or rate not in allowed:
        raise ProtocolError(
            "unsupported_format",
            f"{name}.sample_rate must be one of {', '.join(map(str, allowed))}; got {rate!r}",
        )
    return rate


def parse_text_frame(raw: str) -> ClientMessage:
    if len(raw.encode()) > MAX_TEXT_FRAME_BYTES:
        raise ProtocolError(
            "message_too_large", f"text frames are limited to {MAX_TEXT_FRAME_BYTES} bytes"
        )
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ProtocolError("invalid_json", f"text frame is not valid JSON: {error.msg}") from None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        raise ProtocolError("invalid_message", "a text frame must be a JSON object with a 'type'")
    kind = data["type"]
    if kind == "start":
        return Start(
            input_rate=_rate(data.get("input"), "input", SUPPORTED_INPUT_RATES, DEFAULT_INPUT_RATE),
            output_rate=_rate(
                data.get("output"), "output", SUPPORTED_OUTPUT_RATES, DEFAULT_OUTPUT_RATE
            ),
        )
    if kind == "end_turn":
        return EndTurn()
    if kind == "interrupt":
        return Interrupt()
    if kind == "stop":
        return Stop()
    if kind == "text":
        text = data.get("text")
        if not isinstance(text, str) or not text.strip():
            raise ProtocolError("invalid_message", "'text' needs a non-empty string field 'text'")
        if len(text) > MAX_TYPED_ANSWER_CHARS:
            raise ProtocolError(
                "message_too_large",
                f"typed answers are limited to {MAX_TYPED_ANSWER_CHARS} characters",
            )
        return TextAnswer(text=text.strip())
    raise ProtocolError(
        "unknown_type", f"unknown message type {kind!r}; expected one of {', '.join(CLIENT_TYPES)}"
    )


def check_audio_frame(frame: bytes) -> None:
    if len(frame) > MAX_AUDIO_FRAME_BYTES:
        raise ProtocolError(
            "frame_too_large",
            f"audio frames are limited to {MAX_AUDIO_FRAME_BYTES} bytes; got {len(frame)}",
        )
    if len(frame) % 2:
        raise ProtocolError("invalid_audio", "PCM16 audio needs an even number of bytes")


# Server → client --------------------------------------------------------------------

EventType = Literal[
    "ready",
    "transcript",
    "user_turn_end",
    "agent_turn_start",
    "agent_text",
    "agent_turn_end",
    "agent_audio_pause",
    "agent_audio_resume",
    "metrics",
    "interview_end",
    "error",
]


@dataclass(frozen=True, slots=True)
class _Event:
    """Fields go on the wire in the order they are declared, after ``type`` and ``turn``."""

    type: ClassVar[EventType]
    turn: int  # the interviewer turn the event belongs to

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, **asdict(self)}

    def to_json(self) -> str:
        return json.dumps(self.as_dict())


@dataclass(frozen=True, slots=True)
class AudioFormat:
    encoding: str
    sample_rate: int  # Hz
    channels: int

    @classmethod
    def pcm16(cls, sample_rate: int) -> AudioFormat:
        """Raw PCM16 little-endian mono, the only audio the protocol carries."""
        return cls("pcm_s16le", sample_rate, 1)


@dataclass(frozen=True, slots=True)
class ReadyEvent(_Event):
    type: ClassVar[EventType] = "ready"
    interview_id: str
    input: AudioFormat
    output: AudioFormat
    resumed: bool

    @classmethod
    def of(
        cls, turn: int, *, interview_id: str, input_rate: int, output_rate: int, resumed: bool
    ) -> ReadyEvent:
        return cls(
            turn,
            interview_id,
            AudioFormat.pcm16(input_rate),
            AudioFormat.pcm16(output_rate),
            resumed,
        )


@dataclass(frozen=True, slots=True)
class TranscriptEvent(_Event):
    type: ClassVar[EventType] = "transcript"
    text: str  # the whole answer so far
    final: bool


@dataclass(frozen=True, slots=True)
class UserTurnEndEvent(_Event):
    type: ClassVar[EventType] = "user_turn_end"
    text: str  # the whole answer


@dataclass(frozen=True, slots=True)
class AgentTurnStartEvent(_Event):
    type: ClassVar[EventType] = "agent_turn_start"
    action: str  # an ``Instruction.action``


@dataclass(frozen=True, slots=True)
class AgentTextEvent(_Event):
    type: ClassVar[EventType] = "agent_text"
    text: str  # the next piece of what the interviewer says, as its audio starts


@dataclass(frozen=True, slots=True)
class AgentTurnEndEvent(_Event):
    type: ClassVar[EventType] = "agent_turn_end"
    text: str  # the words actually spoken
    interrupted: bool


@dataclass(frozen=True, slots=True)
class AgentAudioPauseEvent(_Event):
    """The candidate started speaking over the interviewer: stop the queued audio now,
    keeping what was not yet played, until ``agent_audio_resume`` or ``agent_turn_end``."""

    type: ClassVar[EventType] = "agent_audio_pause"


@dataclass(frozen=True, slots=True)
class AgentAudioResumeEvent(_Event):
    """The speech was no interruption (a backchannel, a cough): play on from the pause."""

    type: ClassVar[EventType] = "agent_audio_resume"


@dataclass(frozen=True, slots=True)
class MetricsEvent(_Event):
    type: ClassVar[EventType] = "metrics"
    metrics: dict[str, float]  # latencies in ms, named as in ``pipeline.metrics``


@dataclass(frozen=True, slots=True)
class InterviewEndEvent(_Event):
    type: ClassVar[EventType] = "interview_end"
    reason: str  # completed | stopped


@dataclass(frozen=True, slots=True)
class ErrorEvent(_Event):
    type: ClassVar[EventType] = "error"
    code: str
    message: str
    fatal: bool = False


ServerEvent = (
    ReadyEvent
    | TranscriptEvent
    | UserTurnEndEvent
    | AgentTurnStartEvent
    | AgentTextEvent
    | AgentTurnEndEvent
    | AgentAudioPauseEvent
    | AgentAudioResumeEvent
    | MetricsEvent
    | InterviewEndEvent
    | ErrorEvent
)
