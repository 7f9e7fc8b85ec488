"""Prometheus metrics of live interviews: per-turn latency histograms, live sessions."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.responses import Response

# Milliseconds: fine steps where conversational latency lives, coarse beyond.
_BUCKETS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000)
TURN_METRICS = (
    "end_of_speech_to_final_ms",
    "turn_decision_ms",
    "llm_first_token_ms",
    "tts_first_byte_ms",
    "voice_to_voice_ms",
    "server_final_to_llm_ms",
    "server_token_to_tts_ms",
    "server_tts_to_client_ms",
)


class LiveMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sessions = Gauge(
            "intrvuer_live_sessions", "Live interview connections now open", registry=self.registry
        )
        self.histograms = {
            name: Histogram(
                f"intrvuer_turn_{name}",
                f"Per-turn {name.removesuffix('_ms').replace('_', ' ')} in milliseconds",
                buckets=_BUCKETS_MS,
                registry=self.registry,
            )
            for name in TURN_METRICS
        }

    def observe_turn(self, turn: int, values: dict[str, float]) -> None:
        for name, value in values.items():
            histogram = self.histograms.get(name)
            if histogram is not None:
                histogram.observe(value)

    def response(self) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
