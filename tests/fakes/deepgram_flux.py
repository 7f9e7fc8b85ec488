"""Deepgram Flux (``/v2/listen``) in the fake Deepgram: turns, not utterances.

``FakeDeepgram`` (``tests/fakes/deepgram.py``) serves it on the same port as ``/v1/listen``,
with the same key check, the same energy-based hearing in audio time, the same script
(``script(...)``: one entry per *turn* here) and the same fault knobs.

What the SDK sends (deepgram-sdk 7.17 ``listen/v2/client.py`` and ``socket_client.py``):
``listen.v2.connect(model=, encoding=, sample_rate=, eot_threshold=,
eager_eot_threshold=, eot_timeout_ms=, keyterm=, ...)`` opens
``{production}/v2/listen?<query>``, each argument that is not None a parameter (a list of
keyterms repeats ``keyterm``). Client frames: binary PCM16 LE mono audio, and JSON text
``{"type": "ForceEndTurn"}``, ``{"type": "CloseStream"}``, ``{"type": "Configure", ...}``.
Flux has no KeepAlive and no Finalize.

Handshake: refused before the upgrade with Deepgram's ``{"err_code", "err_msg",
"request_id"}``: 401 for a wrong key; 400 for a model other than ``flux-general-en`` or
``flux-general-multi`` (or none), an encoding other than ``linear16``, a missing or
unsupported ``sample_rate``, ``eot_threshold`` outside 0.5–1.0 (default 0.7),
``eager_eot_threshold`` outside 0.3–0.9 or above ``eot_threshold`` (unset by default: no
eager events), ``eot_timeout_ms`` outside 500–60000 (default 5000). The ranges are those
of Deepgram's current Flux reference and of the SDK's types (older pages gave 0.5–0.9 and
500–10000); that the eager threshold may not exceed the other is said by Telnyx's pages on
the same parameters, not Deepgram's, so the fake is the stricter of the two.

Server frames, JSON text, each with ``request_id`` and ``sequence_id`` (0, 1, 2, … over
every message of the connection):

- first ``{"type": "Connected", "request_id", "sequence_id": 0}``;
- ``{"type": "TurnInfo", "request_id", "sequence_id", "event", "turn_index",
  "audio_window_start", "audio_window_end", "transcript", "words": [{"word",
  "confidence", "start", "end"}], "end_of_turn_confidence"}``, plus ``"trigger"``
  (``model``, ``manual`` or ``timeout``) on ``EndOfTurn`` and only there; ``event`` is
  ``Update``, ``StartOfTurn``, ``EagerEndOfTurn``, ``TurnResumed`` or ``EndOfTurn``;
- ``{"type": "Warning", "request_id", "sequence_id", "code", "description"}`` for a
  client message it does not understand; ``{"type": "ConfigureFailure", ...}`` for a
  ``Configure``, which the fake does not apply.

The turn model, in audio time (20 ms frames; speech is RMS ≥ ``speech_threshold_rms``):

- **Start**: speech while no turn is open opens one, with the next script entry:
  ``StartOfTurn`` at its first voiced frame, its transcript the entry's first word (Flux
  promises a non-empty one).
- **Words**: the first at once, then one more per ``ms_per_word`` of speech heard in the
  turn (pauses don't count), as scripted (punctuated and cased, fillers kept), confidence
  0.98, spread evenly from the turn's first speech to the end of its last.
- **Confidence**: ``end_of_turn_confidence`` is 0 while speaking and outside a turn, and
  ``min(0.99, silence_ms / flux_confidence_ramp_ms)`` in the silence after a turn's last
  speech. A threshold θ is reached after θ × ramp ms of silence, rounded up to whole
  20 ms frames (``silence_ms_to_reach``, ``FakeDeepgram.flux_silence_ms``): with the
  default 1000 ms ramp, 0.5 after 500 ms, 0.7 after 700 ms; 1.0 never.
- **Eager end**: with ``eager_eot_threshold`` set, ``EagerEndOfTurn`` when the confidence
  reaches it, once per pause; speech before the turn ends sends ``TurnResumed`` (the same
  ``turn_index``) and the turn goes on.
- **End**: ``EndOfTurn`` when the confidence reaches ``eot_threshold`` (trigger
  ``model``) or the silence reaches ``eot_timeout_ms`` (``timeout``), whichever comes
  first, or at once on ``ForceEndTurn`` (``manual``; ignored when no turn is open). It
  carries the whole script entry; when that is more than the ``EagerEndOfTurn`` before it
  showed (speech too short to reveal every word), a ``TurnResumed`` comes first, as
  Deepgram documents for a transcript that changed. ``turn_index`` counts up after it.
- **Update**: after ``flux_update_interval_ms`` (250) of audio without another TurnInfo
  (in whole frames: every 260 ms), turn open or not (an empty transcript between turns),
  as Flux sends them.
- **Windows**: ``audio_window_start`` is where the last ``EndOfTurn``'s window ended (0 at
  first), ``audio_window_end`` the audio heard so far, so windows are contiguous.
- **CloseStream**: one last ``Update``, no ``EndOfTurn`` (Flux finalizes no turn on it),
  then a 1000 close (Flux documents closing without a status code, which ASGI cannot
  send). No idle timeout: Flux documents none and has no KeepAlive.

``final_latency_ms`` holds back each ``EndOfTurn`` (and what follows it);
``drop_after_audio_s`` drops the Flux connections numbered in ``drop_connections``, and
the open turn's script entry is heard again by the next one. Logs: ``flux_connections``.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from tests.fakes.deepgram import (
    FRAME_MS,
    ListenConnection,
    Utterance,
    VoicedFrames,
    _Utterance,
    pcm_sample_rate,
)

FLUX_MODELS: Final = frozenset({"flux-general-en", "flux-general-multi"})
DEFAULT_EOT_THRESHOLD: Final = 0.7
DEFAULT_EOT_TIMEOUT_MS: Final = 5000
WORD_CONFIDENCE: Final = 0.98
# Below 1.0, so that eot_threshold=1.0 leaves turn ends to ForceEndTurn and the timeout.
MAX_CONFIDENCE: Final = 0.99


def silence_ms_to_reach(threshold: float, ramp_ms: int) -> int | None:
    """Silence after a turn's last speech (ms, in whole 20 ms frames) at which the fake's
    ``end_of_turn_confidence`` reaches ``threshold``; None when it never does."""
    if threshold > MAX_CONFIDENCE:
        return None
    exact = round(threshold * ramp_ms, 6)  # 0.7 × 1000 is 700, not 700.0000000000001
    return max(FRAME_MS, math.ceil(exact / FRAME_MS) * FRAME_MS)


@dataclass
class FluxConnection(ListenConnection):
    """One ``/v2/listen`` connection: what it asked for, received and sent."""

    keyterms: tuple[str, ...] = ()

    @property
    def events(self) -> list[str]:
        """The ``event`` of each TurnInfo sent but the Updates, in order."""
        return [
            message["event"]
            for message in self.sent
            if message.get("type") == "TurnInfo" and message["event"] != "Update"
        ]

    @property
    def final_transcripts(self) -> list[str]:
        """Transcripts of the EndOfTurn messages sent."""
        return [
            message["transcript"]
            for message in self.sent
            if message.get("type") == "TurnInfo" and message["event"] == "EndOfTurn"
        ]


def _threshold(query: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    value = query.get(name)
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not low <= number <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return number


@dataclass(frozen=True)
class FluxOptions:
    """The query parameters of ``/v2/listen`` that change what the fake sends."""

    model: str
    sample_rate: int
    eot_threshold: float
    eager_eot_threshold: float | None
    eot_timeout_ms: int

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> FluxOptions:
        """Parse and check the query; ``ValueError`` says what Deepgram would refuse."""
        model = query.get("model")
        if model not in FLUX_MODELS:
            raise ValueError(f"unknown Flux model {model!r}" if model else "model is required")
        sample_rate = pcm_sample_rate(query)
        eot = _threshold(query, "eot_threshold", 0.5, 1.0)
        eot = DEFAULT_EOT_THRESHOLD if eot is None else eot
        eager = _threshold(query, "eager_eot_threshold", 0.3, 0.9)
        if eager is not None and eager > eot:
            raise ValueError(f"eager_eot_threshold {eager} is above eot_threshold {eot}")
        timeout = query.get("eot_timeout_ms", str(DEFAULT_EOT_TIMEOUT_MS))
        try:
            timeout_ms = int(timeout)
        except ValueError:
            raise ValueError(f"eot_timeout_ms must be an integer, got {timeout!r}") from None
        if not 500 <= timeout_ms <= 60000:
            raise ValueError(f"eot_timeout_ms must be between 500 and 60000, got {timeout_ms}")
        return cls(model, sample_rate, eot, eager, timeout_ms)


@dataclass
class _Turn:
    """The open turn: what it heard of which script entries, and when (s, ms of audio)."""

    said: _Utterance  # the entry being spoken; those before it are in ``earlier``
    start: float
    last_voiced_end: float
    earlier: list[str] = field(default_factory=list)  # tokens of entries already said
    voiced_ms: int = FRAME_MS
    silent_ms: int = 0  # since its last speech
    eager_text: str | None = None  # what the EagerEndOfTurn of this pause said

    @property
    def tokens(self) -> list[str]:
        """Every token the turn will carry if it ends once its entry is said."""
        return [*self.earlier, *self.said.tokens[self.said.given :]]

    def heard(self, ms_per_word: int) -> int:
        """How many of ``tokens`` are spoken so far: one per ``ms_per_word`` of speech for
        an entry of unknown length, the share of its length heard for the others."""
        said = self.said
        if said.seconds is None:
            return min(len(self.tokens), 1 + self.voiced_ms // ms_per_word)
        return len(self.earlier) + max(1, said.heard(self.last_voiced_end) - said.given)


class FluxTurns(VoicedFrames):
    """Turns audio into Flux ``TurnInfo`` messages; pure (no I/O), timed in audio time."""

    def __init__(
        self,
        options: FluxOptions,
        next_transcript: Callable[[], str | Utterance],
        *,
        speech_threshold_rms: float,
        ms_per_word: int,
        update_interval_ms: int,
        confidence_ramp_ms: int,
    ) -> None:
        super().__init__(options.sample_rate, speech_threshold_rms)
        if ms_per_word <= 0 or update_interval_ms <= 0 or confidence_ramp_ms <= 0:
            raise ValueError("ms_per_word, update_interval_ms, confidence_ramp_ms must be > 0")
        self.options = options
        self._next_transcript = next_transcript
        self._ms_per_word = ms_per_word
        self._update_interval_ms = update_interval_ms
        self._ramp_ms = confidence_ramp_ms
        eager = options.eager_eot_threshold
        self._eager_ms = None if eager is None else silence_ms_to_reach(eager, confidence_ramp_ms)
        self._eot_ms = silence_ms_to_reach(options.eot_threshold, confidence_ramp_ms)
        self._turn: _Turn | None = None
        self._carried: _Utterance | None = None  # an entry a turn ended in the middle of
        self._turn_index = 0
        self._window_start = 0.0
        self._quiet_ms = 0  # audio since the last message
        self._sequence = 0
        self.request_id = str(uuid.uuid4())

    # The ListenModel interface --------------------------------------------------------

    def opening(self) -> list[dict[str, Any]]:
        return [{"type": "Connected", "request_id": self.request_id, "sequence_id": self._next()}]

    def answer(self, kind: str | None, text: str) -> list[dict[str, Any]]:
        if kind == "ForceEndTurn":
            return self.force_end_turn()
        if kind == "Configure":
            return [
                self._message(
                    "ConfigureFailure",
                    code="UNSUPPORTED",
                    description="The fake does not reconfigure a connection.",
                )
            ]
        return [
            self._message(
                "Warning",
                code="UNPARSABLE_CLIENT_MESSAGE",
                description=f"Unknown or malformed message: {text[:100]!r}",
            )
        ]

    def close_stream(self) -> list[dict[str, Any]]:
        """What CloseStream sends: the last Update, and no EndOfTurn."""
        return [self._turn_info("Update")]

    def unfinished_transcript(self) -> str | None:
        """The words of the open turn (or the rest of an entry a turn ended in), if any."""
        if self._turn is not None:
            return " ".join(self._turn.tokens)
        carried = self._carried
        return " ".join(carried.tokens[carried.given :]) if carried is not None else None

    @staticmethod
    def is_final(message: Mapping[str, Any]) -> bool:
        return message.get("type") == "TurnInfo" and message.get("event") == "EndOfTurn"

    def force_end_turn(self) -> list[dict[str, Any]]:
        """ForceEndTurn: the open turn ends at once; with none open, nothing happens."""
        return self._end_turn("manual") if self._turn is not None else []

    # Frames -------------------------------------------------------------------------

    def _on_frame(self, voiced: bool, start: float, messages: list[dict[str, Any]]) -> None:
        self._quiet_ms += FRAME_MS
        turn = self._turn
        if voiced and turn is None:
            said = self._carried or self._utterance(start)
            self._carried = None
            self._turn = _Turn(said, start=start, last_voiced_end=self.audio_time)
            messages.append(self._turn_info("StartOfTurn"))
            return
        if turn is not None and voiced:
            said = turn.said
            if said.seconds is not None and start >= said.start + said.seconds:
                # Speech after this entry was all said, in the same turn: the next entry.
                turn.earlier = turn.tokens
                turn.said = self._utterance(start)
            turn.voiced_ms += FRAME_MS
            turn.last_voiced_end = self.audio_time
            turn.silent_ms = 0
            if turn.eager_text is not None:
                turn.eager_text = None
                messages.append(self._turn_info("TurnResumed"))
                return
        elif turn is not None:
            turn.silent_ms += FRAME_MS
            if self._pause_ends(turn, messages):
                return
        if self._quiet_ms >= self._update_interval_ms:
            messages.append(self._turn_info("Update"))

    def _pause_ends(self, turn: _Turn, messages: list[dict[str, Any]]) -> bool:
        """Whether this much silence sends an eager end or ends the turn (appended)."""
        sent = False
        eager_ms = self._eager_ms
        if (
            eager_ms is not None
            and turn.eager_text is None
            and turn.silent_ms >= eager_ms
            and turn.tokens
        ):
            turn.eager_text = self._transcript(turn, self._revealed(turn))
            messages.append(self._turn_info("EagerEndOfTurn"))
            sent = True
        if self._eot_ms is not None and turn.silent_ms >= self._eot_ms:
            messages.extend(self._end_turn("model"))
            sent = True
        elif turn.silent_ms >= self.options.eot_timeout_ms:
            messages.extend(self._end_turn("timeout"))
            sent = True
        return sent

    def _utterance(self, start: float) -> _Utterance:
        return _Utterance.begin(self._next_transcript(), start)

    def _said_in_turn(self, turn: _Turn) -> int:
        """How many of the turn's tokens its end carries: all of an entry of unknown
        length, what was spoken of one whose length is known (the rest comes next)."""
        said = turn.said
        if said.seconds is None:
            return len(turn.tokens)
        return len(turn.earlier) + said.heard(turn.last_voiced_end) - said.given

    def _end_turn(self, trigger: str) -> list[dict[str, Any]]:
        turn = self._turn
        assert turn is not None
        messages = []
        count = self._said_in_turn(turn)
        if turn.eager_text is not None and turn.eager_text != " ".join(turn.tokens[:count]):
            messages.append(self._turn_info("TurnResumed"))
        messages.append(self._turn_info("EndOfTurn", trigger=trigger))
        said = turn.said
        said.given = (
            said.heard(turn.last_voiced_end) if said.seconds is not None else len(said.tokens)
        )
        self._carried = said if said.given < len(said.tokens) else None
        self._turn = None
        self._turn_index += 1
        self._window_start = self.audio_time
        return messages

    # Messages -----------------------------------------------------------------------

    def _revealed(self, turn: _Turn) -> int:
        return min(len(turn.tokens), turn.heard(self._ms_per_word))

    @staticmethod
    def _transcript(turn: _Turn, count: int) -> str:
        return " ".join(turn.tokens[:count])

    def _words(self, turn: _Turn, count: int) -> list[dict[str, Any]]:
        """The turn's first ``count`` words, spread evenly over its speech so far."""
        span = (turn.last_voiced_end - turn.start) / max(count, 1)
        return [
            {
                "word": token,
                "confidence": WORD_CONFIDENCE,
                "start": round(turn.start + index * span, 3),
                "end": round(turn.start + (index + 1) * span, 3),
            }
            for index, token in enumerate(turn.tokens[:count])
        ]

    def _confidence(self) -> float:
        turn = self._turn
        if turn is None:
            return 0.0
        return round(min(MAX_CONFIDENCE, turn.silent_ms / self._ramp_ms), 3)

    def _turn_info(self, event: str, *, trigger: str | None = None) -> dict[str, Any]:
        turn = self._turn
        words: list[dict[str, Any]] = []
        if turn is not None:
            words = self._words(turn, self._said_in_turn(turn) if trigger else self._revealed(turn))
        message = self._message(
            "TurnInfo",
            event=event,
            turn_index=self._turn_index,
            audio_window_start=round(self._window_start, 3),
            audio_window_end=round(self.audio_time, 3),
            transcript=" ".join(word["word"] for word in words),
            words=words,
            end_of_turn_confidence=self._confidence(),
        )
        if trigger is not None:
            message["trigger"] = trigger
        self._quiet_ms = 0
        return message

    def _message(self, kind: str, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "request_id": self.request_id, "sequence_id": self._next()} | fields

    def _next(self) -> int:
        sequence, self._sequence = self._sequence, self._sequence + 1
        return sequence
