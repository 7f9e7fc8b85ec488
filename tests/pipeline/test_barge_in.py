"""Speech over the interviewer: its audio pauses at once, then plays on (a backchannel,
a noise) or ends as interrupted (real words), with exactly the words heard."""

from __future__ import annotations

import asyncio
import time

import pytest

from pipeline import interruptions
from pipeline.interviewer.offline import OfflineInterviewer
from pipeline.protocol import AgentAudioPauseEvent, AgentAudioResumeEvent
from pipeline.session import Session
from tests.pipeline.test_session import Harness, make_session, run_session
from voices.fakes import ScriptedRecognizer, ToneSynthesizer
from voices.types import SpeechStarted

CONFIRM_S = 0.3


@pytest.fixture
def recognizer() -> ScriptedRecognizer:
    return ScriptedRecognizer()


def slow_session(recognizer: ScriptedRecognizer) -> Session:
    # Slow speech: the greeting lasts seconds, so the candidate speaks over it midway.
    return make_session(
        recognizer,
        synthesizer=ToneSynthesizer(seconds_per_char=0.025),
        barge_in_confirm_s=CONFIRM_S,
    )


def speech_starts(recognizer: ScriptedRecognizer) -> None:
    recognizer.stream.inject(SpeechStarted(at_s=0.0, received_at=time.monotonic()))


def greeting(session: Session) -> str:
    assert session._agent is not None
    return OfflineInterviewer().reply_text(session._context(session._agent.instruction))


def audio_between(h: Harness, first: str, then: str) -> int:
    """Audio frames the client got after the first ``first`` event and before ``then``."""
    start = h.sequence.index(first)
    end = h.sequence.index(then, start) if then in h.sequence[start:] else len(h.sequence)
    return h.sequence[start:end].count("audio")


async def test_a_backchannel_pauses_the_interviewer_who_then_plays_on_from_the_pause(
    recognizer: ScriptedRecognizer,
) -> None:
    session = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_text")
        await asyncio.sleep(0.5)
        speech_starts(recognizer)
        paused_at = time.monotonic()
        await h.wait_for("agent_audio_pause")
        agent = session._agent
        assert agent is not None and agent.paused
        playhead_s = agent.playhead_s(time.monotonic())
        recognizer.stream.say("mm-hm")  # the backchannel's words, final at its end
        await h.wait_for("agent_audio_resume")
        assert time.monotonic() - paused_at >= CONFIRM_S
        # It plays on from where it paused: the pause is not counted as heard.
        assert agent.playhead_s(time.monotonic()) - playhead_s < 0.1
        end = await h.wait_for("agent_turn_end")
        assert end["interrupted"] is False and end["text"] == greeting(session)
        # The whole greeting was heard, the pause not counted as listening.
        assert abs(agent.spoken_audio_s() - agent.sent_audio_s) < 0.01
        assert agent.paused_s >= CONFIRM_S
        h.send({"type": "stop"})

    h, _ = await run_session(session, body)
    assert audio_between(h, "agent_audio_pause", "agent_audio_resume") == 0
    assert "mm-hm" not in " ".join(m.text for m in session.history)


async def test_noise_with_no_words_resumes_after_the_confirmation_window(
    recognizer: ScriptedRecognizer,
) -> None:
    session = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_text")
        await asyncio.sleep(0.3)
        speech_starts(recognizer)  # a cough: speech begins, and ends with no word
        await h.wait_for("agent_audio_pause")
        paused_at = time.monotonic()
        recognizer.stream.say("")
        await h.wait_for("agent_audio_resume")
        assert CONFIRM_S - 0.05 <= time.monotonic() - paused_at < CONFIRM_S + 0.5
        end = await h.wait_for("agent_turn_end")
        assert end["interrupted"] is False
        h.send({"type": "stop"})

    h, _ = await run_session(session, body)
    assert audio_between(h, "agent_audio_pause", "agent_audio_resume") == 0


async def test_speech_the_recognizer_never_ends_resumes_after_a_bounded_wait(
    recognizer: ScriptedRecognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its words may still be on their way (the local recognizer gives them at the end of
    # an utterance), so the window is extended, but not for ever.
    monkeypatch.setattr(interruptions, "SPEECH_WITHOUT_WORDS_S", 0.6)
    session = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_text")
        await asyncio.sleep(0.3)
        speech_starts(recognizer)
        await h.wait_for("agent_audio_pause")
        paused_at = time.monotonic()
        await h.wait_for("agent_audio_resume")
        assert time.monotonic() - paused_at >= CONFIRM_S + 0.6 - 0.05
        assert (await h.wait_for("agent_turn_end"))["interrupted"] is False
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_words_that_come_late_still_interrupt_before_the_interviewer_plays_on(
    recognizer: ScriptedRecognizer,
) -> None:
    session = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_text")
        await asyncio.sleep(0.3)
        speech_starts(recognizer)
        await h.wait_for("agent_audio_pause")
        await asyncio.sleep(CONFIRM_S + 0.4)  # past the window: the speech is still open
        recognizer.stream.say("Sorry, could you say that again?")
        end = await h.wait_for("agent_turn_end")
        assert end["interrupted"] is True
        h.send({"type": "stop"})

    h, _ = await run_session(session, body)
    assert "agent_audio_resume" not in h.types()


async def test_real_words_after_the_pause_interrupt_with_the_words_heard_at_the_pause(
    recognizer: ScriptedRecognizer,
) -> None:
    session = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_text")
        await asyncio.sleep(0.8)
        speech_starts(recognizer)
        await h.wait_for("agent_audio_pause")
        agent = session._agent
        assert agent is not None
        heard = agent.spoken_text(time.monotonic())
        await asyncio.sleep(0.2)  # the words take a while to be recognized
        recognizer.stream.say("Sorry, could you repeat that", final=False)
        end = await h.wait_for("agent_turn_end")
        assert end["interrupted"] is True
        assert end["text"] == heard and 0 < len(heard) < len(greeting(session))
        assert session.history[-1].text == heard
        assert "agent_audio_resume" not in h.types()
        h.send({"type": "stop"})

    h, _ = await run_session(session, body)
    assert audio_between(h, "agent_audio_pause", "agent_turn_end") == 0


async def test_a_first_word_that_is_no_backchannel_pauses_without_a_speech_start_event(
    recognizer: ScriptedRecognizer,
) -> None:
    # A recognizer without voice-activity events: the first word holds the interviewer.
    session = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_text")
        await asyncio.sleep(0.3)
        recognizer.stream.say("Actually", final=False)
        await h.wait_for("agent_audio_pause")
        recognizer.stream.say("Actually, one question", final=False)
        end = await h.wait_for("agent_turn_end")
        assert end["interrupted"] is True
        h.send({"type": "stop"})

    await run_session(session, body)


async def test_speech_while_the_candidate_has_the_floor_pauses_nothing(
    recognizer: ScriptedRecognizer,
) -> None:
    session = make_session(recognizer, barge_in_confirm_s=CONFIRM_S)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end")
        speech_starts(recognizer)
        recognizer.stream.say("I led the billing migration and cut failed payments by half.")
        await h.wait_for("user_turn_end")
        h.send({"type": "stop"})

    h, _ = await run_session(session, body)
    assert "agent_audio_pause" not in h.types()


def test_the_pause_events_on_the_wire() -> None:
    assert AgentAudioPauseEvent(3).as_dict() == {"type": "agent_audio_pause", "turn": 3}
    assert AgentAudioResumeEvent(3).as_dict() == {"type": "agent_audio_resume", "turn": 3}
