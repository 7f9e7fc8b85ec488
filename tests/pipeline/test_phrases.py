"""The phrase pre-planner: the offline interviewer's replies known before the session."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.interviewer.offline import spoken_chunks
from pipeline.interviewer.phrases import offline_phrases
from pipeline.kinds import KINDS
from pipeline.questions import BANKS
from pipeline.session import Session
from storage.types import PlannedQuestion
from tests.pipeline.test_session import (
    GOOD_ANSWER,
    Harness,
    interview,
    make_session,
    run_session,
)
from voices.fakes import ScriptedRecognizer, ToneSynthesizer

TWO_QUESTIONS = replace(
    interview(2),
    questions=(
        PlannedQuestion("Tell me about a time you led a team.", "leadership"),
        PlannedQuestion("How do you handle conflict?", "teamwork"),
    ),
)
# After the first answer, in the order they are likely needed (the planner as it was
# when it still re-played the session's turn order by hand gave exactly these).
AFTER_THE_GREETING = [
    "Got it, thanks.",
    "How do you handle conflict?",
    "Thank you. How do you handle conflict?",
    "Thanks for that.",
    "Understood. How do you handle conflict?",
    "That's all my questions.",
    "Thank you for your time today; your feedback will be ready shortly.",
    "Goodbye.",
    "Thank you. That's all my questions.",
    "Understood. That's all my questions.",
    "Could you walk me through one specific example of that?",
    "What was the result in the end?",
    "How did you measure that?",
    "Any numbers you can share?",
    "Could you tell me a bit more?",
]


def test_phrases_follow_the_plan_in_order() -> None:
    assert offline_phrases(TWO_QUESTIONS) == AFTER_THE_GREETING


def test_the_greeting_comes_first_with_the_name() -> None:
    named = offline_phrases(TWO_QUESTIONS, "Ada", greeting=True)
    assert named[:4] == [
        "Hi, Ada, thanks for joining.",
        "I'll ask you 2 questions; take your time with each.",
        "Let's begin.",
        "Tell me about a time you led a team.",
    ]
    thanks = "Thank you for your time today, Ada; your feedback will be ready shortly."
    assert named[4:] == [
        thanks if chunk.startswith("Thank you for your time") else chunk
        for chunk in AFTER_THE_GREETING
    ]


def test_an_interview_without_questions_only_closes() -> None:
    empty = replace(TWO_QUESTIONS, questions=())
    assert offline_phrases(empty, greeting=True) == [
        "Thank you. That's all my questions.",
        "Thank you for your time today; your feedback will be ready shortly.",
        "Goodbye.",
        "Got it, thanks.",
        "That's all my questions.",
        "Thanks for that.",
        "Understood. That's all my questions.",
        *AFTER_THE_GREETING[-5:],
    ]


@pytest.mark.parametrize("short_first_answer", [False, True])
async def test_prepared_phrases_are_what_the_session_speaks(short_first_answer: bool) -> None:
    """Cache hits need the exact chunks the session flushes: run the real session with the
    offline interviewer and check every chunk it spoke was prepared."""

    recognizer, synthesizer = ScriptedRecognizer(), ToneSynthesizer()
    session: Session = make_session(recognizer, questions=3, synthesizer=synthesizer)

    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        # A short first answer gets a follow-up, then the plan goes on.
        answers = ["I did it.", *[GOOD_ANSWER] * 3] if short_first_answer else [GOOD_ANSWER] * 3
        for number, answer in enumerate(answers, start=1):
            await h.wait_for("agent_turn_end", number)
            recognizer.stream.say(answer)
            await h.wait_for("user_turn_end", number)
        await h.wait_for("interview_end")

    await run_session(session, body)
    spoken = [text for stream in synthesizer.streams for text in stream.texts]
    greeting = spoken[0]
    assert "Ada" in greeting
    prepared = offline_phrases(session.interview, "Ada", greeting=True)
    assert greeting in prepared
    assert [chunk for chunk in spoken if chunk not in prepared] == []
    if short_first_answer:
        assert "Could you walk me through one specific example of that?" in spoken
    # Without the name (a live session does not know it), all but the greeting's first
    # chunk and the closing's thanks are still prepared.
    unnamed = offline_phrases(session.interview)
    missing = [chunk for chunk in spoken if chunk not in unnamed]
    assert all("Ada" in chunk or chunk in prepared[:4] for chunk in missing), missing


def test_the_follow_ups_prepared_are_those_of_the_first_questions_kind() -> None:
    design = replace(
        TWO_QUESTIONS,
        kind="mixed",
        questions=(BANKS["system_design"][0], BANKS["behavioral"][0]),
    )
    phrases = offline_phrases(design)
    for follow_up in KINDS["system_design"].follow_ups:
        assert all(chunk in phrases for chunk in spoken_chunks(follow_up.question))
    assert "What was the result in the end?" not in phrases  # a behavioural follow-up
    # Questions stored without a kind are followed up as the interview's kind.
    technical = offline_phrases(replace(TWO_QUESTIONS, kind="technical"))
    assert "Why did you choose that approach over the others?" in technical
