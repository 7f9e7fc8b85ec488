"""Quizzes: multiple-choice and short-text questions from a job's requirements, weighted
toward the weakest competencies of an interview's feedback, and their grading.

Generation is by the configured LLM (JSON schema, validated, one retry) or offline
templates; grading is exact for multiple choice, and for short text a rubric — the LLM's,
or a keyword heuristic that counts the answer's coverage of the key points. Every
question and grade says what produced it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from pipeline.feedback.heuristic import keywords, overlap
from pipeline.feedback.types import NO_JOB, JobContext
from pipeline.llm.redact import redact
from pipeline.llm.types import JsonChat, LlmParseError
from pipeline.llm.validated import ask_validated

log = logging.getLogger("intrvuer.quizzes")

OFFLINE: Final = "offline"
HEURISTIC: Final = "heuristic"
QUIZ_PROMPT_VERSION: Final = "quiz-1"
MAX_QUESTIONS: Final = 20
# Generation and grading happen while the candidate waits: a slow or hung provider gets
# this long for both attempts, then the offline path answers.
LLM_WAIT_S: Final = 20.0

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=600)]
Kind = Literal["multiple_choice", "short_text"]


class QuizQuestion(BaseModel):
    """A question with its answer key (``correct_index`` or ``key_points``)."""

    model_config = ConfigDict(extra="ignore")
    kind: Kind
    prompt: Text
    options: list[Text] = Field(max_length=4)
    correct_index: int | None
    key_points: list[Text] = Field(max_length=6)
    explanation: Text
    competency: Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]
    requirement: str | None


class _LlmQuiz(BaseModel):
    model_config = ConfigDict(extra="ignore")
    questions: list[QuizQuestion] = Field(max_length=MAX_QUESTIONS)


@dataclass(frozen=True, slots=True)
class QuizInput:
    job: JobContext = NO_JOB
    resume_skills: tuple[str, ...] = ()
    weak_criteria: tuple[str, ...] = ()  # weakest first
    missing_requirements: tuple[str, ...] = ()  # coverage "missing" first, then "partly"


@dataclass(frozen=True, slots=True)
class GeneratedQuiz:
    questions: list[QuizQuestion]
    source: str


@dataclass(frozen=True, slots=True)
class Grade:
    correct: bool
    score: float  # 0..1
    explanation: str
    grader: str
    matched_points: list[str] = field(default_factory=list)


# Offline templates ------------------------------------------------------------------------

# (prompt, options, correct, explanation) per rubric criterion.
_CRITERIA_TECHNIQUE: Final[dict[str, list[tuple[str, list[str], int, str]]]] = {
    "structure": [
        (
            "In a STAR answer, which part should take most of your time?",
            ["Situation", "Task", "Action", "Result"],
            2,
            "The interviewer is judging what you did: spend most of the answer on your actions.",
        ),
        (
            "What does the R in STAR stand for?",
            ["Reason", "Result", "Role", "Review"],
            1,
            "Result: end with the outcome, ideally in numbers, and what you learned.",
        ),
    ],
    "specificity": [
        (
            "Which sentence shows impact most concretely?",
            [
                "I helped make the system better.",
                "I worked hard on performance.",
                "I cut the p95 latency from 900 ms to 250 ms in six weeks.",
                "Everyone liked the changes we made.",
            ],
            2,
            "Figures, a time frame and your own action make impact believable.",
        ),
        (
            "An answer says 'we improved things'. What makes it stronger?",
            [
                "Saying 'we' more often",
                "Naming your own part and the measurable outcome",
                "Making it longer",
                "Mentioning the company's mission",
            ],
            1,
            "Interviewers score what you did and what it changed, so say both precisely.",
        ),
    ],
    "relevance": [
        (
            "Asked about a conflict with a colleague, which opening is most relevant?",
            [
                "I generally get along with everyone.",
                "Last year a teammate and I disagreed on a release date for our billing service.",
                "Conflict is a natural part of teamwork.",
                "My previous company had a great culture.",
            ],
            1,
            "Go straight to one real example that matches the question.",
        ),
    ],
    "communication": [
        (
            "Which speaking pace is comfortable for most interviewers?",
            [
                "80-100 words per minute",
                "130-160 words per minute",
                "200-220 words per minute",
                "As fast as possible",
            ],
            1,
            "Around 130-160 words per minute is easy to follow; pause instead of saying 'um'.",
        ),
    ],
}
# The dimensions of each kind's rubric (pipeline/kinds.py); the four above are those of
# feedback scored before rubrics had kinds. A role interview's own dimensions are its job's
# requirements, which the requirement questions below ask about.
_DIMENSION_TECHNIQUE: Final[dict[str, list[tuple[str, list[str], int, str]]]] = {
    "situation": [
        (
            "How much of a STAR answer should the situation take?",
            ["Most of it", "A sentence or two", "None: start with the result", "Half"],
            1,
            "Set the scene in a sentence or two: where, when and what was at stake.",
        )
    ],
    "task": [
        (
            "What does the task part of a STAR answer make clear?",
            [
                "What the whole team was doing",
                "What you personally were responsible for achieving",
                "The company's strategy",
                "How long the project lasted",
            ],
            1,
            "Say what you were asked or chose to achieve, so your actions have a goal.",
        )
    ],
    "action": [
        (
            "Which sentence describes an action best?",
            [
                "We handled the incident.",
                "The incident got resolved eventually.",
                "I rolled back the release, then wrote the fix and a test for it.",
                "It was a stressful week for everyone.",
            ],
            2,
            "Name what you did yourself, step by step, with 'I', not what happened.",
        )
    ],
    "result": [
        (
            "What makes the result of a STAR answer convincing?",
            [
                "Saying it went well",
                "A measurable outcome and what you learned",
                "Thanking the team",
                "Describing the situation again",
            ],
            1,
            "End with what changed, in numbers where you have them, and what you took from it.",
        )
    ],
    "correctness": [
        (
            "You are not sure a detail of your technical answer is right. What is best?",
            [
                "State it confidently anyway",
                "Say what you are sure of, flag the doubt and how you would check it",
                "Change the subject",
                "Say nothing about it",
            ],
            1,
            "Interviewers trust an accurate answer that marks its uncertainty over a guess.",
        )
    ],
    "depth": [
        (
            "How do you show depth in a technical answer?",
            [
                "List many technologies",
                "Explain why it works, its limits and what happens under failure",
                "Speak for longer",
                "Use more acronyms",
            ],
            1,
            "Depth is the why and the edge cases: mechanisms, limits and failure modes.",
        )
    ],
    "trade_offs": [
        (
            "Which sentence states a trade-off?",
            [
                "We used Postgres because it is good.",
                "A cache cut reads by 80 %, but stale data for up to 30 s was the price.",
                "We picked the best option.",
                "Everything was fast.",
            ],
            1,
            "Name what you gained, what it cost and why that cost was acceptable.",
        )
    ],
    "clarity": [
        (
            "What makes a technical explanation easy to follow aloud?",
            [
                "Starting with the details",
                "The answer first, then the reasoning in a few ordered steps",
                "Covering every alternative at once",
                "Reading code line by line",
            ],
            1,
            "Lead with the conclusion, then give the steps in order; check in as you go.",
        )
    ],
    "requirements": [
        (
            "What should come first in a system-design answer?",
            [
                "The database choice",
                "Questions about users, scale and what must never fail",
                "A list of microservices",
                "The programming language",
            ],
            1,
            "Clarify functional needs, scale and constraints before designing anything.",
        )
    ],
    "high_level_design": [
        (
            "What does a good high-level design describe?",
            [
                "Every class and method",
                "The main components and how a request flows between them",
                "Only the user interface",
                "The deployment scripts",
            ],
            1,
            "Draw the few big boxes and walk one request through them before any detail.",
        )
    ],
    "data_and_scaling": [
        (
            "Reads grow tenfold while writes stay flat. What helps first?",
            [
                "Sharding the writes",
                "Read replicas or a cache in front of the database",
                "A bigger logging cluster",
                "Rewriting in another language",
            ],
            1,
            "Match the fix to the load: read-heavy growth is served by replicas and caches.",
        )
    ],
    "domain_knowledge": [
        (
            "How do you show knowledge of the role's domain in an answer?",
            [
                "Say you are a quick learner",
                "Use one real case and the standard or practice of the field it followed",
                "Repeat the job description",
                "Keep it general to suit any employer",
            ],
            1,
            "A real case, named in the field's own terms, shows you know the work.",
        )
    ],
    "judgement": [
        (
            "Asked how you handled a hard call, what matters most?",
            [
                "That you were right",
                "The options you weighed, what you chose and why",
                "Who you escalated to",
                "How quickly you decided",
            ],
            1,
            "Judgement shows in the reasoning: the options, the risks and why you chose.",
        )
    ],
}
_TECHNIQUE: Final = {**_CRITERIA_TECHNIQUE, **_DIMENSION_TECHNIQUE}
_DISTRACTOR_REQUIREMENTS: Final = (
    "Fluency in Latin",
    "A commercial pilot licence",
    "Ten years of experience with COBOL mainframes",
    "Certified scuba diving instructor",
    "Experience managing a retail store",
)


def _requirement_mc(requirement: str, index: int, title: str | None) -> QuizQuestion:
    distractors = [_DISTRACTOR_REQUIREMENTS[(index + k) % 5] for k in range(3)]
    position = index % 4
    options = distractors[:position] + [requirement[:600]] + distractors[position:]
    role = f"the {title} role" if title else "this role"
    return QuizQuestion(
        kind="multiple_choice",
        prompt=f"Which of these is a requirement of {role}?",
        options=options,
        correct_index=position,
        key_points=[],
        explanation=f"The job description asks for: {requirement[:400]}",
        competency="job knowledge",
        requirement=requirement,
    )


def _requirement_text(requirement: str) -> QuizQuestion:
    points = sorted(keywords(requirement))[:5] or [requirement[:60]]
    return QuizQuestion(
        kind="short_text",
        prompt=(
            f"In two or three sentences, give a concrete example of how you meet this "
            f"requirement: {requirement[:400]}"
        ),
        options=[],
        correct_index=None,
        key_points=[*points, "a concrete example with a result or a figure"][:6],
        explanation=(
            "A strong answer names the requirement's key terms, one real example, and its "
            "result (ideally a figure)."
        ),
        competency="job requirement",
        requirement=requirement,
    )


def offline_quiz(data: QuizInput, count: int) -> list[QuizQuestion]:
    """``count`` questions from templates; deterministic. About a third are technique
    questions for the weakest criteria, the rest are about the job's requirements (the
    ones the interview missed first), alternating short text and multiple choice."""
    count = max(1, min(count, MAX_QUESTIONS))
    technique: list[QuizQuestion] = []
    for criterion in [
        *data.weak_criteria,
        "structure",
        "specificity",
        "communication",
        "relevance",
    ]:
        for prompt, options, correct, why in _TECHNIQUE.get(criterion, []):
            question = QuizQuestion(
                kind="multiple_choice",
                prompt=prompt,
                options=options,
                correct_index=correct,
                key_points=[],
                explanation=why,
                competency=criterion,
                requirement=None,
            )
            if question not in technique:
                technique.append(question)
    requirements = list(dict.fromkeys([*data.missing_requirements, *data.job.requirements]))
    if not requirements:
        requirements = [
            f"Experience with {skill}" for skill in data.job.skills or data.resume_skills
        ]
    job_questions: list[QuizQuestion] = []
    for index, requirement in enumerate(requirements):
        job_questions.append(
            _requirement_text(requirement)
            if index % 2 == 0
            else _requirement_mc(requirement, index, data.job.title)
        )
    weak_share = max(1, count // 3) if data.weak_criteria else count // 4
    chosen = technique[:weak_share] + job_questions[: count - weak_share]
    if len(chosen) < count:  # not enough requirements: more technique questions
        chosen += [q for q in technique if q not in chosen][: count - len(chosen)]
    return chosen[:count]


# The LLM ----------------------------------------------------------------------------------

SYSTEM_PROMPT: Final = """You write a short practice quiz for a job candidate.
Write the requested number of questions about the job's requirements and skills, mixing \
"multiple_choice" (exactly 4 distinct options, one correct, "correct_index" 0-3, \
"key_points" empty) and "short_text" (options empty, "correct_index" null, 2-5 \
"key_points" a good answer covers). Give more questions on the weak areas listed. Each \
question explains its answer, names a short "competency", and sets "requirement" to the \
requirement it is about, copied exactly, or null."""


def check_quiz(quiz: _LlmQuiz, count: int) -> list[str]:
    problems: list[str] = []
    if len(quiz.questions) < count:
        problems.append(f"write {count} questions, not {len(quiz.questions)}")
    for index, q in enumerate(quiz.questions):
        if q.kind == "multiple_choice":
            if len(q.options) != 4 or len({o.lower() for o in q.options}) != 4:
                problems.append(f"questions[{index}] needs 4 distinct options")
            if q.correct_index is None or not 0 <= q.correct_index < 4:
                problems.append(f"questions[{index}].correct_index must be 0-3")
        elif not q.key_points or q.options:
            problems.append(f"questions[{index}] (short_text) needs key_points and no options")
    return problems


async def generate_quiz(
    data: QuizInput, count: int, chat: JsonChat | None, *, timeout_s: float = LLM_WAIT_S
) -> GeneratedQuiz:
    """The LLM's quiz when it gives a valid one, else the offline templates' (labelled)."""
    count = max(1, min(count, MAX_QUESTIONS))
    if chat is not None:
        user = (
            f"Questions: {count}. Job: {data.job.title or 'unknown'}.\n"
            "Requirements:\n" + "\n".join(f"- {r}" for r in data.job.requirements) + "\n"
            f"Skills: {', '.join(data.job.skills)}\n"
            f"Weak areas (weakest first): {', '.join(data.weak_criteria) or 'none known'}\n"
            "Requirements the candidate did not cover: "
            + ("; ".join(data.missing_requirements) or "none known")
        )
        try:
            async with asyncio.timeout(timeout_s):
                quiz = await ask_validated(
                    chat,
                    system=SYSTEM_PROMPT,
                    user=redact(user),
                    model=_LlmQuiz,
                    schema_name="quiz",
                    check=lambda answer: check_quiz(answer, count),
                )
            return GeneratedQuiz(quiz.questions[:count], f"llm:{chat.model}")
        except (LlmParseError, TimeoutError) as error:
            log.warning(
                "LLM quiz generation failed; offline templates are used",
                extra={"llm": chat.name, "error_type": type(error).__name__},
            )
    return GeneratedQuiz(offline_quiz(data, count), OFFLINE)


# Grading ----------------------------------------------------------------------------------


def grade_choice(question: QuizQuestion, choice: int | None) -> Grade:
    correct = choice is not None and choice == question.correct_index
    return Grade(correct, 1.0 if correct else 0.0, question.explanation, "exact")


def grade_text_heuristic(question: QuizQuestion, answer: str) -> Grade:
    """Share of key points the answer touches (by their key words), plus whether it gives
    a figure; 0.6 or more counts as correct."""
    matched: list[str] = []
    for point in question.key_points:
        if point.startswith("a concrete example"):
            if any(ch.isdigit() for ch in answer) and len(answer.split()) >= 15:
                matched.append(point)
        elif overlap(keywords(point) or {point.lower()}, answer) >= 0.5:
            matched.append(point)
    share = len(matched) / len(question.key_points) if question.key_points else 0.0
    missing = [p for p in question.key_points if p not in matched]
    explanation = question.explanation + (
        " Not covered: " + "; ".join(missing) + "." if missing else " Every key point covered."
    )
    return Grade(share >= 0.6, round(share, 2), explanation, HEURISTIC, matched)


class _LlmGrade(BaseModel):
    model_config = ConfigDict(extra="ignore")
    score: float = Field(ge=0, le=1)
    matched_points: list[str] = Field(max_length=6)
    explanation: Text


GRADE_PROMPT: Final = """You grade a candidate's short written answer against key points.
Score from 0 to 1 the share of key points the answer really covers, list the key points it \
covers (copied exactly from the list), and explain in two sentences what was good and what \
is missing."""


async def grade_text(
    question: QuizQuestion, answer: str, chat: JsonChat | None, *, timeout_s: float = LLM_WAIT_S
) -> Grade:
    if chat is not None and answer.strip():
        user = redact(
            f"Question: {question.prompt}\nKey points:\n"
            + "\n".join(f"- {p}" for p in question.key_points)
            + f"\nAnswer: {answer[:4000]}"
        )
        points = {p.lower() for p in question.key_points}
        try:
            async with asyncio.timeout(timeout_s):
                graded = await ask_validated(
                    chat,
                    system=GRADE_PROMPT,
                    user=user,
                    model=_LlmGrade,
                    schema_name="quiz_grade",
                    check=lambda g: (
                        []
                        if all(p.lower() in points for p in g.matched_points)
                        else ["matched_points must be copied from the key points"]
                    ),
                )
            return Grade(
                graded.score >= 0.6,
                round(graded.score, 2),
                graded.explanation,
                f"llm:{chat.model}",
                graded.matched_points,
            )
        except (LlmParseError, TimeoutError) as error:
            log.warning(
                "LLM grading failed; the keyword heuristic grades",
                extra={"llm": chat.name, "error_type": type(error).__name__},
            )
    return grade_text_heuristic(question, answer)


def public_view(question: QuizQuestion) -> dict[str, Any]:
    """A question as shown before an attempt: no correct answer, key points or
    explanation."""
    return {
        "kind": question.kind,
        "prompt": question.prompt,
        "options": question.options,
        "competency": question.competency,
        "requirement": question.requirement,
    }
