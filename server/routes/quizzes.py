"""Quizzes: generate one from a job, a resume and an interview's feedback; answer it; read
them. A quiz never shows its answers before it has been attempted."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from starlette.requests import Request

from pipeline.documents.types import JobData, ResumeData
from pipeline.quizzes import (
    MAX_QUESTIONS,
    QuizInput,
    QuizQuestion,
    generate_quiz,
    grade_choice,
    grade_text,
    public_view,
)
from server.api import ApiRouter
from server.context import audit, services
from server.errors import ApiError
from server.jobs.feedback import feedback_repository, job_context
from server.routes.models import FromRecord, Strict
from server.routes.owned import owned, referenced
from storage.quizzes import QuizRepository
from storage.types import Quiz, QuizAttempt, User

router = ApiRouter(tags=["quizzes"])


class CreateQuiz(Strict):
    job_id: str | None = Field(default=None, max_length=64)
    resume_id: str | None = Field(default=None, max_length=64)
    interview_id: str | None = Field(default=None, max_length=64)
    count: int = Field(default=5, ge=1, le=MAX_QUESTIONS)


class Answer(Strict):
    index: int = Field(ge=0, lt=MAX_QUESTIONS)
    choice: int | None = Field(default=None, ge=0, le=3)
    text: str | None = Field(default=None, max_length=4000)


class SubmitAnswers(Strict):
    answers: list[Answer] = Field(min_length=1, max_length=MAX_QUESTIONS)


class QuestionView(BaseModel):
    index: int
    kind: str
    prompt: str
    options: list[str]
    competency: str
    requirement: str | None


class ResultOut(BaseModel):
    index: int
    correct: bool
    score: float
    explanation: str
    grader: str  # "exact" | "heuristic" | "llm:<model>"
    correct_index: int | None
    key_points: list[str]
    matched_points: list[str]
    your_choice: int | None
    your_text: str | None


class AttemptOut(FromRecord):
    id: str
    score: float
    grader: str
    results: list[ResultOut]
    created_at: datetime


class QuizSummary(FromRecord):
    id: str
    source: str
    question_count: int
    job_id: str | None
    resume_id: str | None
    interview_id: str | None
    created_at: datetime


class QuizOut(QuizSummary):
    questions: list[QuestionView]
    attempts: list[AttemptOut]


class QuizList(BaseModel):
    quizzes: list[QuizSummary]


def _out(quiz: Quiz, attempts: list[QuizAttempt]) -> QuizOut:
    views = [
        QuestionView(index=i, **public_view(QuizQuestion.model_validate(q)))
        for i, q in enumerate(quiz.questions)
    ]
    return QuizOut.of(quiz, questions=views, attempts=attempts)


def _repository(request: Request) -> QuizRepository:
    svc = services(request)
    return QuizRepository(svc.db, svc.cipher)


async def owned_quiz(request: Request, user: User, quiz_id: str) -> Quiz:
    return await owned(_repository(request).get, user, quiz_id, "quiz")


@router.post("/v1/quizzes", body=CreateQuiz, response=QuizOut, status=201, errors=(404,))
async def create_quiz(request: Request, user: User, body: CreateQuiz) -> QuizOut:
    """Generate a quiz from a job's requirements, weighted toward an interview's weakest
    criteria and the requirements it missed."""
    svc = services(request)
    job = await referenced(
        svc.job_descriptions.get, user, body.job_id, "job description", code="job_not_found"
    )
    resume = await referenced(
        svc.resumes.get, user, body.resume_id, "resume", code="resume_not_found"
    )
    interview = await referenced(
        svc.interviews.get, user, body.interview_id, "interview", code="interview_not_found"
    )
    if job is None and interview is not None and interview.job_id:
        job = await svc.job_descriptions.get(user.id, interview.job_id)
    parsed_job = JobData.model_validate(job.parsed) if job and job.parsed else JobData()
    parsed_resume = (
        ResumeData.model_validate(resume.parsed) if resume and resume.parsed else ResumeData()
    )
    weak: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    if interview is not None:
        feedback = await feedback_repository(svc).get(user.id, interview.id)
        if feedback is not None and feedback.body:
            scores: dict[str, float] = feedback.body.get("scores", {})
            weak = tuple(name for name, value in sorted(scores.items(), key=lambda i: i[1]))
            coverage = feedback.body.get("coverage", [])
            uncovered = [
                str(c["requirement"])
                for status in ("missing", "partly")
                for c in coverage
                if c.get("status") == status
            ]
            # Then the requirements probed by the lowest-scored answers.
            answers = sorted(
                feedback.body.get("answers", []),
                key=lambda a: sum(s["score"] for s in a["scores"]) / max(1, len(a["scores"])),
            )
            weakest = [str(a["requirement"]) for a in answers if a.get("requirement")]
            missing = tuple(dict.fromkeys([*uncovered, *weakest]))
    data = QuizInput(
        job=job_context(parsed_job),
        resume_skills=tuple(parsed_resume.skills),
        weak_criteria=weak,
        missing_requirements=missing,
    )
    generated = await generate_quiz(data, body.count, svc.coaching)
    quiz = await _repository(request).create(
        user_id=user.id,
        source=generated.source,
        questions=[q.model_dump() for q in generated.questions],
        job_id=job.id if job else None,
        resume_id=body.resume_id,
        interview_id=body.interview_id,
    )
    await audit(request, "quiz.created", user_id=user.id, target_id=quiz.id)
    return _out(quiz, [])


@router.get("/v1/quizzes", response=QuizList)
async def list_quizzes(request: Request, user: User) -> QuizList:
    """The caller's quizzes, newest first."""
    found = await _repository(request).list_for_user(user.id)
    return QuizList(quizzes=[QuizSummary.of(q) for q in found])


@router.get("/v1/quizzes/{quiz_id}", response=QuizOut, errors=(404,))
async def get_quiz(request: Request, user: User, quiz_id: str) -> QuizOut:
    """A quiz's questions (without answers) and its graded attempts."""
    quiz = await owned_quiz(request, user, quiz_id)
    return _out(quiz, await _repository(request).attempts(user.id, quiz.id))


@router.post(
    "/v1/quizzes/{quiz_id}/answers",
    body=SubmitAnswers,
    response=AttemptOut,
    status=201,
    errors=(404,),
)
async def answer_quiz(
    request: Request, user: User, quiz_id: str, body: SubmitAnswers
) -> AttemptOut:
    """Grade answers: exact for multiple choice, a rubric for short text (the LLM's or a
    keyword heuristic, as ``grader`` says). Every attempt is kept."""
    svc = services(request)
    quiz = await owned_quiz(request, user, quiz_id)
    questions = [QuizQuestion.model_validate(q) for q in quiz.questions]
    given = {a.index: a for a in body.answers}
    if len(given) != len(body.answers) or any(i >= len(questions) for i in given):
        raise ApiError(
            422,
            "invalid_answers",
            f"Answer each question at most once, with an index from 0 to {len(questions) - 1}.",
        )
    for index, submitted in given.items():
        kind = questions[index].kind
        if kind == "multiple_choice" and submitted.text is not None:
            raise ApiError(422, "invalid_answers", f"Question {index} takes a choice (0-3).")
        if kind == "short_text" and submitted.choice is not None:
            raise ApiError(422, "invalid_answers", f"Question {index} takes a text answer.")
    results: list[dict[str, Any]] = []
    graders: set[str] = set()
    chat = svc.coaching
    for index, question in enumerate(questions):
        answer = given.get(index)
        if question.kind == "multiple_choice":
            grade = grade_choice(question, answer.choice if answer else None)
        else:
            grade = await grade_text(question, (answer.text or "") if answer else "", chat)
        graders.add(grade.grader)
        results.append(
            {
                "index": index,
                "correct": grade.correct,
                "score": grade.score,
                "explanation": grade.explanation,
                "grader": grade.grader,
                "correct_index": question.correct_index,
                "key_points": question.key_points,
                "matched_points": grade.matched_points,
                "your_choice": answer.choice if answer else None,
                "your_text": answer.text if answer else None,
            }
        )
    score = round(sum(r["score"] for r in results) / len(results), 3) if results else 0.0
    attempt = await _repository(request).add_attempt(
        user_id=user.id,
        quiz_id=quiz.id,
        grader="+".join(sorted(graders)),
        score=score,
        answers=[a.model_dump() for a in body.answers],
        results=results,
    )
    await audit(request, "quiz.answered", user_id=user.id, target_id=quiz.id)
    return AttemptOut.of(attempt)


@router.delete("/v1/quizzes/{quiz_id}", status=204, errors=(404,))
async def delete_quiz(request: Request, user: User, quiz_id: str) -> None:
    """Delete a quiz and its attempts."""
    if not await _repository(request).delete(user.id, quiz_id):
        raise ApiError(404, "not_found", "No such quiz.")
    await audit(request, "quiz.deleted", user_id=user.id, target_id=quiz_id)
