"""The server's events as they go on the wire: key order and values as docs/protocol.md
shows them, byte for byte."""

from __future__ import annotations

import pytest

from pipeline.protocol import (
    CLIENT_TYPES,
    AgentTextEvent,
    AgentTurnEndEvent,
    AgentTurnStartEvent,
    ErrorEvent,
    InterviewEndEvent,
    MetricsEvent,
    ReadyEvent,
    ServerEvent,
    TranscriptEvent,
    UserTurnEndEvent,
)


@pytest.mark.parametrize(
    ("event", "wire"),
    [
        (
            ReadyEvent.of(
                0, interview_id="iv1", input_rate=16000, output_rate=24000, resumed=False
            ),
            '{"type": "ready", "turn": 0, "interview_id": "iv1",'
            ' "input": {"encoding": "pcm_s16le", "sample_rate": 16000, "channels": 1},'
            ' "output": {"encoding": "pcm_s16le", "sample_rate": 24000, "channels": 1},'
            ' "resumed": false}',
        ),
        (
            TranscriptEvent(1, "so I", final=False),
            '{"type": "transcript", "turn": 1, "text": "so I", "final": false}',
        ),
        (UserTurnEndEvent(1, "Done."), '{"type": "user_turn_end", "turn": 1, "text": "Done."}'),
        (
            AgentTurnStartEvent(2, "follow_up"),
            '{"type": "agent_turn_start", "turn": 2, "action": "follow_up"}',
        ),
        (AgentTextEvent(2, "Why? "), '{"type": "agent_text", "turn": 2, "text": "Why? "}'),
        (
            AgentTurnEndEvent(2, "Why?", interrupted=True),
            '{"type": "agent_turn_end", "turn": 2, "text": "Why?", "interrupted": true}',
        ),
        (
            MetricsEvent(2, {"llm_first_token_ms": 12.5}),
            '{"type": "metrics", "turn": 2, "metrics": {"llm_first_token_ms": 12.5}}',
        ),
        (
            InterviewEndEvent(3, "completed"),
            '{"type": "interview_end", "turn": 3, "reason": "completed"}',
        ),
        (
            ErrorEvent(3, "empty_answer", "nothing was heard yet"),
            '{"type": "error", "turn": 3, "code": "empty_answer",'
            ' "message": "nothing was heard yet", "fatal": false}',
        ),
    ],
)
def test_events_on_the_wire(event: ServerEvent, wire: str) -> None:
    assert event.to_json() == wire


def test_client_types() -> None:
    assert CLIENT_TYPES == ("start", "end_turn", "interrupt", "text", "stop")
