"""Offline quizzes are weighted toward weak criteria and missed requirements; grading is
exact for multiple choice and a keyword rubric for short text."""

from __future__ import annotations

from pipeline.feedback.types import JobContext
from pipeline.llm.sdk import SdkChat as SdkJsonChat
from pipeline.quizzes import (
    QuizInput,
    generate_quiz,
    grade_choice,
    grade_text,
    grade_text_heuristic,
    offline_quiz,
    public_view,
)
from tests.fakes.openai_compat import run_fake_openai

DATA = QuizInput(
    job=JobContext(
        title="Backend Engineer",
        requirements=("Experience with Redis and PostgreSQL", "Mentoring junior engineers"),
        skills=("Redis",),
    ),
    weak_criteria=("specificity", "structure", "relevance", "communication"),
    missing_requirements=("Mentoring junior engineers",),
)


def test_weak_criteria_and_missed_requirements_come_first() -> None:
    quiz = offline_quiz(DATA, 6)
    assert len(quiz) == 6
    assert [q.competency for q in quiz[:2]] == ["specificity", "specificity"]
    requirements = [q.requirement for q in quiz if q.requirement]
    assert requirements[0] == "Mentoring junior engineers"
    assert "Experience with Redis and PostgreSQL" in requirements
    assert quiz == offline_quiz(DATA, 6)  # deterministic
    for question in quiz:
        if question.kind == "multiple_choice":
            assert len(question.options) == 4 and len(set(question.options)) == 4
            assert question.correct_index is not None
        else:
            assert question.key_points and not question.options


def test_a_quiz_without_a_job_practises_technique() -> None:
    quiz = offline_quiz(QuizInput(), 3)
    assert len(quiz) == 3 and all(q.kind == "multiple_choice" for q in quiz)


def test_grading() -> None:
    quiz = offline_quiz(DATA, 6)
    choice = next(q for q in quiz if q.kind == "multiple_choice")
    assert grade_choice(choice, choice.correct_index).correct
    assert not grade_choice(choice, None).correct
    text = next(q for q in quiz if q.kind == "short_text")
    good = grade_text_heuristic(
        text, "I was mentoring two junior engineers for 8 months; both now lead projects."
    )
    assert good.correct and good.grader == "heuristic" and good.score >= 0.6
    poor = grade_text_heuristic(text, "I like teamwork.")
    assert not poor.correct and "Not covered" in poor.explanation
    assert "correct_index" not in public_view(choice)


async def test_a_failing_or_hung_llm_gives_offline_questions_and_heuristic_grades() -> None:
    async with run_fake_openai() as fake:
        chat = SdkJsonChat.openai(
            api_key=fake.api_key, base_url=fake.openai_base_url, model="gpt-4o-mini", timeout_s=5
        )
        try:
            fake.fail_next = 2
            generated = await generate_quiz(DATA, 4, chat)
            assert generated.source == "offline"
            assert generated.questions == offline_quiz(DATA, 4)
            fake.hang_next = 2
            text = next(q for q in generated.questions if q.kind == "short_text")
            grade = await grade_text(text, "I mentored 2 engineers.", chat, timeout_s=0.5)
            assert grade.grader == "heuristic"
        finally:
            await chat.aclose()
