"""Per-turn latency stamps, and the metrics computed from them.

Stamps are ``time.monotonic()`` seconds taken on the server; each metric is a difference
of two stamps in milliseconds, or ``None`` when the turn did not have that step (a typed
answer has no end of speech, a cached phrase needs no LLM, ...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields


@dataclass
class TurnStamps:
    end_of_speech: float | None = None  # when the audio holding the last word arrived
    final_transcript: float | None = None  # the final transcript of the answer arrived
    turn_decision: float | None = None  # we decided the candidate's turn is over
    llm_request: float | None = None  # the interviewer request was sent
    llm_first_token: float | None = None
    tts_request: float | None = None  # the first text went to speech synthesis
    tts_first_byte: float | None = None
    first_audio_sent: float | None = None  # first interviewer audio frame handed to the socket


def _ms(start: float | None, end: float | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start) * 1000, 2)


@dataclass(frozen=True)
class TurnMetrics:
    end_of_speech_to_final_ms: float | None
    turn_decision_ms: float | None
    llm_first_token_ms: float | None
    tts_first_byte_ms: float | None
    voice_to_voice_ms: float | None
    # Time spent inside the server on the turn path, provider time excluded.
    server_final_to_llm_ms: float | None
    server_token_to_tts_ms: float | None
    server_tts_to_client_ms: float | None

    @classmethod
    def of(cls, s: TurnStamps) -> TurnMetrics:
        return cls(
            end_of_speech_to_final_ms=_ms(s.end_of_speech, s.final_transcript),
            turn_decision_ms=_ms(s.final_transcript, s.turn_decision),
            llm_first_token_ms=_ms(s.llm_request, s.llm_first_token),
            tts_first_byte_ms=_ms(s.tts_request, s.tts_first_byte),
            voice_to_voice_ms=_ms(s.end_of_speech or s.turn_decision, s.first_audio_sent),
            server_final_to_llm_ms=_ms(s.turn_decision, s.llm_request),
            server_token_to_tts_ms=_ms(s.llm_first_token, s.tts_request),
            server_tts_to_client_ms=_ms(s.tts_first_byte, s.first_audio_sent),
        )

    def as_dict(self) -> dict[str, float]:
        return {key: value for key, value in asdict(self).items() if value is not None}


# The one list of metric names: the ``metrics`` event, the Prometheus histograms and the
# benchmark reports all derive theirs from the fields above.
TURN_METRICS: tuple[str, ...] = tuple(field.name for field in fields(TurnMetrics))
# The steps spent inside the server itself, between providers.
INSIDE_SERVER: tuple[str, ...] = tuple(name for name in TURN_METRICS if name.startswith("server_"))
