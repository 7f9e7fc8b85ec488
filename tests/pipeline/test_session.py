"""The session engine, driven through its protocol with in-memory speech fakes."""

from __future__ import annotations

import asyncio
import gc
import json
import time
import weakref
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from pipeline import session as session_module
from pipeline.interviewer.offline import OfflineInterviewer
from pipeline.interviewer.types import InterviewContext
from pipeline.session import FinalizedTurn, Session, SessionConfig
from pipeline.turns import TurnPolicy
from storage.types import Interview, PlannedQuestion
from tests.polling import eventually
from voices.fakes import ScriptedRecognizer, ToneSynthesisStream, ToneSynthesizer
from voices.types import EagerEndOfTurn, SpeechStarted, Transcript, TurnResumed, WordTiming

GOOD_ANSWER = (
    "In my last role I led the migration of our billing service to a new queue, "
    "we planned it in three phases and the result was that we reduced failed payments "
    "by forty percent within two months, which saved the team many support hours."
)


def interview(questions: int = 3) -> Interview:
    return Interview(
        id="iv1",
        user_id="u1",
        kind="behavioral",
        status="created",
        resume_id=None,
        job_id=None,
        question_count=questions,
        voice="test",
        questions=tuple(
            PlannedQuestion(f"Question number {i + 1}, tell me about it?", "teamwork")
            for i in range(questions)
        ),
        plan_source="offline",
        end_reason=None,
        created_at=datetime.now(UTC),
        started_at=None,
        ended_at=None,
        last_activity_at=None,
    )


class Harness:
    """Feeds frames into a session and records everything it sends."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.inbound: asyncio.Queue[bytes | str | None] = asyncio.Queue()
        self.events: list[dict[str, Any]] = []
        self.audio_bytes = 0
        self.sequence: list[str] = []  # event types in the order sent, "audio" for a frame
        self._changed = asyncio.Condition()

    async def wait_for_audio_received(self, seconds: float) -> None:
        async def received() -> float:
            return self.session._listening.audio_clock.received_s

        await eventually(received, lambda value: value >= seconds)

    async def frames(self) -> AsyncIterator[bytes | str]:
        while (frame := await self.inbound.get()) is not None:
            yield frame

    async def collect(self) -> None:
        while (item := await self.session.outgoing.get()) is not None:
            async with self._changed:
                if isinstance(item, bytes):
                    self.audio_bytes += len(item)
                    self.sequence.append("audio")
                else:
                    self.events.append(item.as_dict())
                    self.sequence.append(item.type)
                self._changed.notify_all()

    def send(self, message: dict[str, Any] | bytes | str) -> None:
        if isinstance(message, dict):
            message = json.dumps(message)
        self.inbound.put_nowait(message)

    async def wait_for(self, kind: str, count: int = 1, **fields: Any) -> dict[str, Any]:
        def matching() -> list[dict[str, Any]]:
            return [
                e
                for e in self.events
                if e["type"] == kind and all(e.get(k) == v for k, v in fields.items())
            ]

        async with asyncio.timeout(10), self._changed:
            await self._changed.wait_for(lambda: len(matching()) >= count)
        return matching()[count - 1]

    def types(self) -> list[str]:
        return [event["type"] for event in self.events]


@pytest.fixture
def recognizer() -> ScriptedRecognizer:
    return ScriptedRecognizer()


async def run_session(session: Session, body: Any) -> tuple[Harness, str]:
    harness = Harness(session)
    async with asyncio.TaskGroup() as group:
        collector = group.create_task(harness.collect())
        runner = group.create_task(session.run(harness.frames()))
        await body(harness)
        harness.inbound.put_nowait(None)
        reason = await runner
        await collector
    return harness, reason


def make_session(
    recognizer: ScriptedRecognizer,
    *,
    questions: int = 3,
    turns: list[FinalizedTurn] | None = None,
    synthesizer: ToneSynthesizer | None = None,
    policy: TurnPolicy | None = None,
    **config: Any,
) -> Session:
    sink = turns if turns is not None else []

    def collect(turn: FinalizedTurn) -> None:
        # As the store keeps them: the metrics of a reply complete the turn handed before.
        if turn.metrics_only:
            [index] = [i for i, t in enumerate(sink) if t.record.turn == turn.record.turn]
            sink[index] = turn
        else:
            sink.append(turn)

    return Session(
        interview=interview(questions),
        recognizer=recognizer,
        synthesizer=synthesizer or ToneSynthesizer(),
        interviewer=OfflineInterviewer(),
        candidate_first_name="Ada",
        on_turn=collect,
        config=SessionConfig(
            policy=policy or TurnPolicy(patience_s=0.05, unfinished_patience_s=0.3), **config
        ),
    )


async def test_whole_interview_with_spoken_answers(recognizer: ScriptedRecognizer) -> None:
    turns: list[FinalizedTurn] = []
    session = make_session(recognizer, turns=turns)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("ready")
        for number in range(1, 4):
            await h.wait_for("agent_turn_end", number)
            h.send(b"\x00\x00" * 1600)
            recognizer.stream.say(GOOD_ANSWER)
            await h.wait_for("user_turn_end", number)
        await h.wait_for("interview_end")

    h, reason = await run_session(session, body)
    assert reason == "completed"
    assert h.types()[0] == "ready"
    ends = [e for e in h.events if e["type"] == "agent_turn_end"]
    assert len(ends) == 4 and not any(e["interrupted"] for e in ends)
    assert "Question number 1" in ends[0]["text"] and "Goodbye" in ends[-1]["text"]
    assert h.audio_bytes > 0
    metrics = [e for e in h.events if e["type"] == "metrics"]
    assert len(metrics) == 4
    assert {"voice_to_voice_ms", "turn_decision_ms", "llm_first_token_ms"} <= set(
        metrics[1]["metrics"]
    )
    assert [t.record.turn for t in turns] == [1, 2, 3]
    assert [t.record.question_index for t in turns] == [0, 1, 2]
    assert all(t.record.answer == GOOD_ANSWER for t in turns)
    assert turns[0].record.words and turns[0].record.metrics["voice_to_voice_ms"] >= 0
    # Each question ended where the candidate's audio stood then: 0.1 s more per answer.
    assert [t.record.question_end_s for t in turns] == [0.0, 0.1, 0.2]
    assert all((t.record.question_audio_s or 0) > 0 for t in turns)
    assert h.events[-1] == {"type": "interview_end", "turn": 4, "reason": "completed"}


async def test_an_answer_is_handed_over_before_the_reply_to_it_ends(
    recognizer: ScriptedRecognizer,
) -> None:
    handed: list[FinalizedTurn] = []
    session = make_session(recognizer, synthesizer=ToneSynthesizer(seconds_per_char=0.02))
    session.on_turn = handed.append

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say(GOOD_ANSWER)
        await h.wait_for("user_turn_end", 1)
        # While the interviewer replies, the answer is already on its way to the store …
        assert [(t.record.turn, t.metrics_only, t.record.metrics) for t in handed] == [
            (1, False, {})
        ]
        assert handed[0].record.answer == GOOD_ANSWER
        await h.wait_for("agent_turn_end", 2)
        h.send({"type": "stop"})

    await run_session(session, body)
    # … and the reply's metrics follow once it has ended.
    assert [(t.record.turn, t.metrics_only) for t in handed] == [(1, False), (1, True)]
    assert handed[1].record.metrics["voice_to_voice_ms"] >= 0
    assert handed[1].record.answer == GOOD_ANSWER


async def test_short_answer_gets_one_follow_up(recognizer: ScriptedRecognizer) -> None:
    session = make_session(recognizer, questions=2)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("I did it.")
        follow = await h.wait_for("agent_turn_end", 2)
        assert "specific example" in follow["text"]
        recognizer.stream.say("Once, briefly.")
        nxt = await h.wait_for("agent_turn_end", 3)
        assert "Question number 2" in nxt["text"]
        h.send({"type": "stop"})
        await h.wait_for("interview_end")

    _, reason = await run_session(session, body)
    assert reason == "stopped"


async def test_unfinished_words_wait_longer(recognizer: ScriptedRecognizer) -> None:
    session = make_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("So the first thing I did was, um")
        await asyncio.sleep(0.15)  # longer than the finished patience, shorter than 0.3 s
        assert "user_turn_end" not in h.types()
        recognizer.stream.say(GOOD_ANSWER, start_s=3.0)
        end = await h.wait_for("user_turn_end")
        assert end["text"].startswith("So the first thing I did was, um")
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_patience_counts_from_the_end_of_speech_not_the_transcript(
    recognizer: ScriptedRecognizer,
) -> None:
    # 1 s of patience; the recognizer takes 0.8 s to deliver the final transcript (its own
    # endpointing silence and decoding). The candidate has then been silent for 0.8 s, so
    # the interviewer waits 0.2 s more, not another full second.
    # (No extra wait for a short answer here: this test is about where patience starts.)
    policy = TurnPolicy(patience_s=1.0, unfinished_patience_s=3.0, short_share=0.0)
    session = make_session(recognizer, policy=policy)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        h.send(b"\x00\x00" * 16000)  # one second of audio; the answer ends at 0.9 s
        await h.wait_for_audio_received(1.0)
        await asyncio.sleep(0.8)
        said = time.monotonic()
        recognizer.stream.say("We shipped it.", start_s=0.0)  # 0.3 s a word: ends at 0.9 s
        await h.wait_for("user_turn_end")
        waited = time.monotonic() - said
        assert 0.1 < waited < 0.7, f"waited {waited:.2f} s after the final transcript"
        h.send({"type": "stop"})

    await run_session(session, body)


def final_heard(
    text: str, *, start_s: float, end_s: float, words: tuple[WordTiming, ...] = ()
) -> Transcript:
    """A final transcript at the end of speech, arriving now."""
    return Transcript(text, True, True, start_s, end_s, words, time.monotonic())


async def test_a_final_without_words_after_a_pause_restarts_the_wait_from_its_sound(
    recognizer: ScriptedRecognizer,
) -> None:
    # A short endpointing finalizes the first sound after a thinking pause before its words
    # are known: an empty final. The candidate is speaking again, so the wait counts from
    # that sound, not from the last word before the pause (which would cut them off).
    policy = TurnPolicy(patience_s=0.3, unfinished_patience_s=1.5, short_share=0.0)
    session = echo_session(recognizer, EchoInterviewer(), policy=policy)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        h.send(b"\x00\x00" * 16000 * 2)
        await h.wait_for_audio_received(2.0)
        recognizer.stream.say("I talk to my manager, because", start_s=0.2)  # ends at 2.0 s
        await asyncio.sleep(0.8)  # thinking, within the unfinished patience
        h.send(b"\x00\x00" * 16000)
        await h.wait_for_audio_received(3.0)
        recognizer.stream.inject(SpeechStarted(at_s=2.8, received_at=time.monotonic()))
        recognizer.stream.inject(final_heard("", start_s=2.0, end_s=3.0))
        await asyncio.sleep(0.9)  # counted from the last word, the wait would be over
        assert "user_turn_end" not in h.types(), "cut off in the middle of the answer"
        recognizer.stream.say("he decides.", start_s=3.0)
        end = await h.wait_for("user_turn_end")
        assert end["text"] == "I talk to my manager, because he decides."
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_a_last_word_placed_after_the_speech_does_not_finish_the_answer(
    recognizer: ScriptedRecognizer,
) -> None:
    # Whisper completes a fragment: "I was responsible for" comes out as "… for it.", the
    # "it." with no sound of its own. The answer is judged on the words before it.
    policy = TurnPolicy(patience_s=0.2, unfinished_patience_s=1.5, short_share=0.0)
    session = echo_session(recognizer, EchoInterviewer(), policy=policy)
    heard = [("I", 0.2, 0.4), ("was", 0.4, 0.7), ("responsible", 0.7, 1.3), ("for", 1.3, 1.6)]

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        h.send(b"\x00\x00" * 16000 * 2)
        await h.wait_for_audio_received(2.0)
        words = (*(WordTiming(*word, 0.95) for word in heard), WordTiming("it.", 1.6, 1.6, 0.84))
        heard_it = final_heard("I was responsible for it.", start_s=0.2, end_s=1.6, words=words)
        recognizer.stream.inject(heard_it)
        await asyncio.sleep(0.8)  # far past the patience after a finished sentence
        assert "user_turn_end" not in h.types(), "cut off in the middle of a clause"
        recognizer.stream.say("the fix.", start_s=2.4)
        end = await h.wait_for("user_turn_end")
        assert end["text"] == "I was responsible for it. the fix."
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_end_turn_ends_at_once_and_keeps_interim_words(
    recognizer: ScriptedRecognizer,
) -> None:
    session = make_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("I would start by measuring", final=False)
        await h.wait_for("transcript", final=False)
        h.send({"type": "end_turn"})
        end = await h.wait_for("user_turn_end")
        assert end["text"] == "I would start by measuring"
        assert recognizer.stream.finalize_calls == 1
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_barge_in_stops_audio_and_keeps_only_spoken_words(
    recognizer: ScriptedRecognizer,
) -> None:
    # Slow speech: the greeting lasts seconds, so the candidate cuts in midway.
    synthesizer = ToneSynthesizer(seconds_per_char=0.05)
    session = make_session(recognizer, synthesizer=synthesizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_text")
        await asyncio.sleep(0.6)
        recognizer.stream.say("mm-hm", final=False)  # a backchannel does not interrupt
        await asyncio.sleep(0.1)
        assert "agent_turn_end" not in h.types()
        recognizer.stream.say("Sorry, could you repeat that", final=False)
        end = await h.wait_for("agent_turn_end")
        assert end["interrupted"] is True
        full = OfflineInterviewer().reply_text(session._context(session._agent.instruction))  # type: ignore[union-attr]
        assert 0 < len(end["text"]) < len(full)
        assert full.startswith(end["text"])
        assert synthesizer.streams[0].clears == 1
        assert session.history[-1].text == end["text"]
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_typed_answer_and_bad_frames(recognizer: ScriptedRecognizer) -> None:
    session = make_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "text", "text": "too early"})
        early = await h.wait_for("error")
        assert early["code"] == "unexpected_message" and "expected 'start'" in early["message"]
        h.send(b"\x00\x00")
        assert (await h.wait_for("error", 2))["code"] == "unexpected_audio"
        h.send({"type": "start"})
        await h.wait_for("ready")
        h.send("{broken")
        assert (await h.wait_for("error", 3))["code"] == "invalid_json"
        h.send({"type": "dance"})
        assert (await h.wait_for("error", 4))["code"] == "unknown_type"
        h.send(b"\x00")
        assert (await h.wait_for("error", 5))["code"] == "invalid_audio"
        h.send(b"\x00" * (64 * 1024 + 2))
        assert (await h.wait_for("error", 6))["code"] == "frame_too_large"
        await h.wait_for("agent_turn_end", 1)
        h.send({"type": "text", "text": GOOD_ANSWER})
        assert (await h.wait_for("user_turn_end"))["text"] == GOOD_ANSWER
        h.send({"type": "stop"})
        await h.wait_for("interview_end")
        h.send(b"\x00\x00")

    h, reason = await run_session(session, body)
    assert reason == "stopped"


async def test_synthesis_failure_shows_text_and_session_goes_on(
    recognizer: ScriptedRecognizer,
) -> None:
    session = make_session(recognizer, synthesizer=ToneSynthesizer(fail=True))

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        error = await h.wait_for("error")
        assert error["code"] == "tts_unavailable" and error["fatal"] is False
        end = await h.wait_for("agent_turn_end", 1)
        shown = "".join(e["text"] for e in h.events if e["type"] == "agent_text")
        assert "Question number 1" in shown and "Question number 1" in end["text"]
        h.send({"type": "text", "text": GOOD_ANSWER})
        await h.wait_for("agent_turn_end", 2)
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_slow_client_is_cut_off(recognizer: ScriptedRecognizer) -> None:
    session = make_session(
        recognizer, synthesizer=ToneSynthesizer(seconds_per_char=0.05), outgoing_max=8
    )
    inbound: asyncio.Queue[bytes | str | None] = asyncio.Queue()
    inbound.put_nowait(json.dumps({"type": "start"}))

    async def frames() -> AsyncIterator[bytes | str]:
        while (frame := await inbound.get()) is not None:
            yield frame

    # Nobody reads session.outgoing: the bounded queue fills and the session ends.
    reason = await asyncio.wait_for(session.run(frames()), timeout=10)
    assert reason == "client_too_slow"
    assert session.outgoing.qsize() <= 9


class EchoInterviewer:
    """Replies with the candidate's last words; records each request and each close."""

    name = "echo"
    source = "echo"

    def __init__(self, delay_s: float = 0.05) -> None:
        self.delay_s = delay_s
        self.requests: list[str] = []
        self.closed: list[str] = []
        self.warmed = 0

    async def warm(self) -> None:
        self.warmed += 1

    async def respond(self, context: InterviewContext) -> AsyncIterator[str]:
        said = [m.text for m in context.history if m.role == "candidate"]
        heard = said[-1] if said else ""
        self.requests.append(heard)
        try:
            await asyncio.sleep(self.delay_s)
            yield "You said: "
            await asyncio.sleep(self.delay_s)
            yield f"{heard or 'nothing'} Next question?"
        finally:
            self.closed.append(heard)


def echo_session(
    recognizer: ScriptedRecognizer,
    interviewer: EchoInterviewer,
    *,
    policy: TurnPolicy | None = None,
    **config: Any,
) -> Session:
    return Session(
        interview=interview(3),
        recognizer=recognizer,
        synthesizer=ToneSynthesizer(),
        interviewer=interviewer,
        config=SessionConfig(
            policy=policy or TurnPolicy(patience_s=0.3, unfinished_patience_s=0.6, short_share=0.0),
            **config,
        ),
    )


async def test_the_reply_is_begun_during_the_patience_and_used(
    recognizer: ScriptedRecognizer,
) -> None:
    interviewer = EchoInterviewer()
    session = echo_session(recognizer, interviewer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("We shipped it on time.")
        # The request goes out at the end of speech, before the turn is decided.
        await eventually(lambda: _now(len(interviewer.requests)), lambda n: n == 2)
        assert "user_turn_end" not in h.types()
        reply = await h.wait_for("agent_turn_end", 2)
        assert reply["text"] == "You said: We shipped it on time. Next question?"
        metrics = await h.wait_for("metrics", turn=2)
        values = metrics["metrics"]
        assert values["speculative_started"] == 1 and values["speculative_used"] == 1
        assert values["speculative_discarded"] == 0 and values["speculative_saved_ms"] > 0
        h.send({"type": "stop"})

    await run_session(session, body)
    assert interviewer.requests == ["", "We shipped it on time."]  # one request per reply


async def test_the_replys_connections_are_warmed_at_start_and_while_the_candidate_speaks(
    recognizer: ScriptedRecognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    interviewer = EchoInterviewer()
    session = echo_session(recognizer, interviewer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("ready")
        voice = session._tts
        assert isinstance(voice, ToneSynthesisStream)
        assert (interviewer.warmed, voice.warmed) == (1, 1), "warmed before the first answer"
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("We shipped it on time.")
        await h.wait_for("agent_turn_end", 2)
        assert interviewer.warmed == 1, "at most every WARM_EVERY_S"
        monkeypatch.setattr(session_module, "WARM_EVERY_S", 0.0)
        recognizer.stream.say("It took two weeks.")
        await h.wait_for("agent_turn_end", 3)
        assert interviewer.warmed >= 2 and voice.warmed >= 2
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_speech_that_resumes_cancels_the_reply_begun_before_it(
    recognizer: ScriptedRecognizer,
) -> None:
    interviewer = EchoInterviewer()
    session = echo_session(recognizer, interviewer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("First part.")
        await eventually(lambda: _now(len(interviewer.requests)), lambda n: n == 2)
        await asyncio.sleep(0.1)  # the speculative reply has its first words by now
        recognizer.stream.say("Second part.", start_s=1.0)
        # The reply to the first words was closed without being used.
        await eventually(lambda: _now(interviewer.closed), lambda c: "First part." in c)
        reply = await h.wait_for("agent_turn_end", 2)
        assert reply["text"] == "You said: First part. Second part. Next question?"
        values = (await h.wait_for("metrics", turn=2))["metrics"]
        assert values["speculative_started"] == 2 and values["speculative_discarded"] == 1
        assert values["speculative_used"] == 1
        h.send({"type": "stop"})

    h, _ = await run_session(session, body)
    assert interviewer.requests == ["", "First part.", "First part. Second part."]
    # Nothing of the cancelled reply was spoken, shown or kept in the conversation.
    shown = [e for e in h.events if e["type"] in ("agent_text", "agent_turn_end")]
    assert not any("You said: First part. Next" in str(e.get("text")) for e in shown)
    assert all("You said: First part. Next" not in m.text for m in session.history)


async def test_a_long_wait_begins_the_reply_only_its_lead_before_the_decision(
    recognizer: ScriptedRecognizer,
) -> None:
    # A wait of 0.8 s, the reply begun 0.2 s before its end: speech that resumes within
    # the first 0.6 s costs no request at all.
    interviewer = EchoInterviewer()
    session = echo_session(
        recognizer,
        interviewer,
        policy=TurnPolicy(patience_s=0.8, unfinished_patience_s=0.8),
        speculation_lead_s=0.2,
    )

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("First part.")
        await asyncio.sleep(0.3)
        assert interviewer.requests == [""]  # the greeting's only
        recognizer.stream.say("Second part.", start_s=1.0)
        began = time.monotonic()
        await eventually(lambda: _now(len(interviewer.requests)), lambda n: n == 2)
        assert time.monotonic() - began >= 0.5
        values = (await h.wait_for("metrics", turn=2))["metrics"]
        assert values["speculative_started"] == 1 and values["speculative_discarded"] == 0
        assert values["speculative_used"] == 1
        h.send({"type": "stop"})

    await run_session(session, body)
    assert interviewer.requests == ["", "First part. Second part."]


async def test_an_eager_end_of_turn_begins_a_reply_only_when_the_wait_is_nearly_over(
    recognizer: ScriptedRecognizer,
) -> None:
    interviewer = EchoInterviewer()
    # A short answer to an open question waits up to 3 s; a long one 0.3 s.
    policy = TurnPolicy(patience_s=0.3, unfinished_patience_s=3.0, short_share=1.0)
    session = echo_session(recognizer, interviewer, policy=policy, speculation_lead_s=0.6)

    def eager(text: str) -> EagerEndOfTurn:
        return EagerEndOfTurn(text, last_word_end_s=0.0, received_at=time.monotonic())

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.inject(eager("We shipped it."))  # 3 words: a long wait
        await asyncio.sleep(0.2)
        assert interviewer.requests == [""], "no request for words that will likely go on"
        recognizer.stream.inject(TurnResumed(received_at=time.monotonic()))
        recognizer.stream.inject(eager(GOOD_ANSWER))
        await eventually(lambda: _now(len(interviewer.requests)), lambda n: n == 2)
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_an_eager_end_of_turn_on_a_last_word_without_sound_begins_no_reply(
    recognizer: ScriptedRecognizer,
) -> None:
    interviewer = EchoInterviewer()
    policy = TurnPolicy(patience_s=0.3, unfinished_patience_s=3.0, short_share=1.0)
    session = echo_session(recognizer, interviewer, policy=policy, speculation_lead_s=0.6)
    text = GOOD_ANSWER + " I was responsible for it."
    timed = [WordTiming(w, 0.3 * i, 0.3 * (i + 1), 0.95) for i, w in enumerate(text.split())]
    timed[-1] = WordTiming("it.", timed[-2].end_s, timed[-2].end_s, 0.84)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        eager = EagerEndOfTurn(text, timed[-1].end_s, time.monotonic(), words=tuple(timed))
        recognizer.stream.inject(eager)
        await asyncio.sleep(0.3)
        assert interviewer.requests == [""], "a reply begun on a clause that goes on"
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_a_typed_answer_discards_the_reply_begun_on_the_spoken_words(
    recognizer: ScriptedRecognizer,
) -> None:
    interviewer = EchoInterviewer(delay_s=0.2)
    session = echo_session(recognizer, interviewer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("Spoken words.")
        await eventually(lambda: _now(len(interviewer.requests)), lambda n: n == 2)
        h.send({"type": "text", "text": "Typed words."})
        reply = await h.wait_for("agent_turn_end", 2)
        # The typed words join the spoken ones; the reply answers both.
        assert reply["text"] == "You said: Spoken words. Typed words. Next question?"
        h.send({"type": "stop"})

    await run_session(session, body)
    assert "Spoken words." in interviewer.closed


async def _now(value: Any) -> Any:
    return value


async def test_words_that_trail_off_begin_no_reply(recognizer: ScriptedRecognizer) -> None:
    interviewer = EchoInterviewer()
    session = echo_session(recognizer, interviewer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say("We moved the queue to Kafka, and")
        await asyncio.sleep(0.2)  # within the unfinished patience
        assert interviewer.requests == [""]  # only the greeting's
        recognizer.stream.say("it halved the latency.", start_s=3.0)
        reply = await h.wait_for("agent_turn_end", 2)
        assert reply["text"].endswith("and it halved the latency. Next question?")
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_an_ended_session_is_freed_without_the_cyclic_collector(
    recognizer: ScriptedRecognizer,
) -> None:
    # The server runs full collections rarely: an ended session left as a reference cycle
    # would keep its streams, clients and history until one ran (bench/README.md, soak).
    session = make_session(recognizer, questions=1)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say(GOOD_ANSWER)
        await h.wait_for("interview_end")

    harness, reason = await run_session(session, body)
    assert reason == "completed"
    gone = weakref.ref(session)
    harness.session = None  # type: ignore[assignment]
    del session, harness
    gc.disable()
    try:
        await asyncio.sleep(0)  # the session's last callbacks run and let go of it
        assert gone() is None, [type(r).__name__ for r in gc.get_referrers(gone())]
    finally:
        gc.enable()
