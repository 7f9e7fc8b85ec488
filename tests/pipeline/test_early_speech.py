"""Answers belong to questions: speech over the greeting or an acknowledgement, before
the planned question was heard, is kept for that question, which is asked again, or
counts as its answer when it answers it anyway."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from pipeline.answer import answers_unheard, question_heard
from pipeline.session import FinalizedTurn, Session
from server.jobs.feedback import answers_of
from storage.types import PlannedQuestion
from tests.pipeline.test_session import (
    GOOD_ANSWER,
    Harness,
    interview,
    make_session,
    run_session,
)
from tests.records import a_turn
from voices.fakes import ScriptedRecognizer, ToneSynthesizer

HELLO = "Hi, nice to meet you, I am happy to be here today"
WORK = PlannedQuestion("Walk me through your recent work on payment systems.", "technical depth")
# Spoken before the question was heard, and an answer to it all the same.
ANTICIPATED = (
    "Sure, so my recent work has been on payment systems at Acme, where I walked the team "
    "through moving card payments to a new ledger, and our payment failures fell by a third "
    "in two months."
)


@pytest.fixture
def recognizer() -> ScriptedRecognizer:
    return ScriptedRecognizer()


def slow_session(recognizer: ScriptedRecognizer) -> tuple[Session, list[FinalizedTurn]]:
    """A session whose interviewer speaks slowly (its greeting lasts seconds, so the
    candidate can speak over its first words), and the turns it finalizes."""
    turns: list[FinalizedTurn] = []
    voice = ToneSynthesizer(seconds_per_char=0.03)
    return make_session(recognizer, turns=turns, synthesizer=voice), turns


async def _speak_over_the_start(h: Harness, recognizer: ScriptedRecognizer, number: int) -> None:
    await h.wait_for("agent_turn_start", number)
    await h.wait_for("agent_text", number)
    await asyncio.sleep(0.2)
    recognizer.stream.say(HELLO)


async def test_speech_over_the_greeting_is_kept_and_the_question_asked_again(
    recognizer: ScriptedRecognizer,
) -> None:
    session, turns = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await _speak_over_the_start(h, recognizer, 1)
        greeting = await h.wait_for("agent_turn_end", 1)
        assert greeting["interrupted"] is True
        assert "Question number 1" not in greeting["text"]
        await h.wait_for("user_turn_end", 1)
        again = await h.wait_for("agent_turn_end", 2)
        assert "Question number 1" in again["text"] and not again["interrupted"]
        assert turns == []  # nothing is filed under the greeting
        recognizer.stream.say(GOOD_ANSWER, start_s=5.0)
        nxt = await h.wait_for("agent_turn_end", 3)
        assert "Question number 2" in nxt["text"]
        h.send({"type": "stop"})

    await run_session(session, body)
    first = turns[0].record
    assert first.question_index == 0 and first.turn == 2
    assert first.question.startswith("Sure.") and "Question number 1" in first.question
    # Kept, first, then the answer to the question as it was asked again.
    assert first.answer == f"{HELLO} {GOOD_ANSWER}"
    assert [w.word for w in first.words] == (HELLO + " " + GOOD_ANSWER).split()
    assert first.answer_audio_s == pytest.approx(0.3 * len(first.words))


async def test_speech_over_an_acknowledgement_goes_to_the_next_question(
    recognizer: ScriptedRecognizer,
) -> None:
    session, turns = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        recognizer.stream.say(GOOD_ANSWER)
        await h.wait_for("user_turn_end", 1)
        await _speak_over_the_start(h, recognizer, 2)
        ack = await h.wait_for("agent_turn_end", 2)
        assert ack["interrupted"] is True and "Question number 2" not in ack["text"]
        again = await h.wait_for("agent_turn_end", 3)
        assert "Question number 2" in again["text"]
        recognizer.stream.say(GOOD_ANSWER, start_s=20.0)
        await h.wait_for("agent_turn_end", 4)
        h.send({"type": "stop"})

    await run_session(session, body)
    records = [t.record for t in turns]
    assert [r.question_index for r in records] == [0, 1]
    assert records[0].answer == GOOD_ANSWER  # the first answer keeps only its own words
    assert "Question number 1" in records[0].question
    assert records[1].answer == f"{HELLO} {GOOD_ANSWER}"
    assert "Question number 2" in records[1].question


async def test_speech_that_answers_the_unheard_question_counts_as_its_answer(
    recognizer: ScriptedRecognizer,
) -> None:
    session, turns = slow_session(recognizer)
    planned = (WORK, *session.interview.questions[1:])
    session.interview = dataclasses.replace(session.interview, questions=planned)
    session.plan = dataclasses.replace(session.plan, plan=planned)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_text", 1)
        await asyncio.sleep(0.2)
        recognizer.stream.say(ANTICIPATED)
        greeting = await h.wait_for("agent_turn_end", 1)
        assert greeting["interrupted"] is True and WORK.text not in greeting["text"]
        nxt = await h.wait_for("agent_turn_start", 2)
        # Marked as answered: followed up (or the next question), not asked again.
        assert nxt["action"] in ("follow_up", "next_question")
        assert WORK.text not in (await h.wait_for("agent_turn_end", 2))["text"]
        h.send({"type": "stop"})

    await run_session(session, body)
    first = turns[0].record
    assert first.question_index == 0 and first.turn == 1
    assert first.answer == ANTICIPATED


async def test_speech_kept_when_the_interview_stops_is_stored_under_its_question(
    recognizer: ScriptedRecognizer,
) -> None:
    session, turns = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await _speak_over_the_start(h, recognizer, 1)
        await h.wait_for("agent_turn_end", 2)  # the question, asked again
        h.send({"type": "stop"})

    await run_session(session, body)
    [kept] = [t.record for t in turns]
    assert kept.question_index == 0 and kept.answer == HELLO
    assert "Question number 1" in kept.question


async def test_speaking_over_the_question_asked_again_moves_on(
    recognizer: ScriptedRecognizer,
) -> None:
    # Asked again once only: a candidate who talks over it twice is not asked a third time.
    session, turns = slow_session(recognizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await _speak_over_the_start(h, recognizer, 1)
        await h.wait_for("user_turn_end", 1)
        await h.wait_for("agent_text", 2)
        await asyncio.sleep(0.2)
        recognizer.stream.say(GOOD_ANSWER, start_s=5.0)
        await h.wait_for("user_turn_end", 2)
        third = await h.wait_for("agent_turn_end", 3)
        assert "Question number 2" in third["text"]
        h.send({"type": "stop"})

    await run_session(session, body)
    first = turns[0].record
    assert first.question_index == 0 and first.answer == f"{HELLO} {GOOD_ANSWER}"


def test_a_question_is_heard_once_half_its_key_words_were() -> None:
    assert not question_heard("Hi Ada, thanks for joining. Let's begin.", WORK)
    assert not question_heard("Thank you. Walk me", WORK)
    assert question_heard("Thank you. Walk me through your recent work on", WORK)
    no_keywords = PlannedQuestion("Why?", "motivation")
    assert question_heard("Okay. Why?", no_keywords)
    assert not question_heard("Okay.", no_keywords)


def test_only_a_real_answer_on_its_subject_answers_an_unheard_question() -> None:
    assert answers_unheard(ANTICIPATED, WORK)
    assert not answers_unheard(HELLO, WORK)
    assert not answers_unheard("payment systems recent work", WORK)  # too short
    assert not answers_unheard(GOOD_ANSWER, WORK)  # long, on another subject


def test_feedback_judges_an_answer_against_its_planned_question() -> None:
    planned = interview(questions=2)
    greeting = dataclasses.replace(
        a_turn(planned.id, 1, GOOD_ANSWER),
        question=f"Hi Ada, thanks for joining. Let's begin. {planned.questions[0].text}",
    )
    follow_up = dataclasses.replace(
        a_turn(planned.id, 2, "We measured it weekly."), question="What was the result?"
    )
    second = dataclasses.replace(
        a_turn(planned.id, 3, GOOD_ANSWER),
        question=f"Thank you. {planned.questions[1].text}",
        question_index=1,
    )
    judged = answers_of(planned, [greeting, follow_up, second])
    # The greeting's and acknowledgement's words are not part of what was asked.
    assert [a.question for a in judged] == [
        planned.questions[0].text,
        "What was the result?",
        planned.questions[1].text,
    ]
