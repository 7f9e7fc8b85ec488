"""The live protocol (v1): parsing client frames, and the events the server sends.

Client text frames are JSON objects with a ``type``; binary frames are PCM16 audio.
Every server event carries the ``turn`` it belongs to. ``docs/protocol.md`` documents it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

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
    input_rate: int = DEFAULT_INPUT_RATE
    output_rate: int = DEFAULT_OUTPUT_RATE


@dataclass(frozen=True, slots=True)
class EndTurn:
    pass


@dataclass(frozen=True, slots=True)
class Interrupt:
    pass


@dataclass(frozen=True, slots=True)
class TextAnswer:
    text: str


@dataclass(frozen=True, slots=True)
class Stop:
    pass


ClientMessage = Start | EndTurn | Interrupt | TextAnswer | Stop
CLIENT_TYPES = ("start", "end_turn", "interrupt", "text", "stop")


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
    "metrics",
    "interview_end",
    "error",
]


@dataclass(frozen=True, slots=True)
class ServerEvent:
    type: EventType
    turn: int
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"type": self.type, "turn": self.turn, **self.data})

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "turn": self.turn, **self.data}


def ready(
    turn: int, *, input_rate: int, output_rate: int, interview_id: str, resumed: bool
) -> ServerEvent:
    return ServerEvent(
        "ready",
        turn,
        {
            "interview_id": interview_id,
            "input": {"encoding": "pcm_s16le", "sample_rate": input_rate, "channels": 1},
            "output": {"encoding": "pcm_s16le", "sample_rate": output_rate, "channels": 1},
            "resumed": resumed,
        },
    )


def error(turn: int, code: str, message: str, *, fatal: bool = False) -> ServerEvent:
    return ServerEvent("error", turn, {"code": code, "message": message, "fatal": fatal})
