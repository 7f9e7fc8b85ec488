"""Reports: progress over time, and one interview's full report as JSON or printable HTML.

The HTML report is built from escaped text only, has no script at all, and is served
with a content security policy that allows nothing but its own inline style.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any, Literal

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse

from pipeline.feedback.types import LEGACY_LABELS
from pipeline.kinds import KINDS
from server.api import ApiRouter
from server.context import services
from server.jobs.feedback import feedback_repository
from server.routes.feedback import FeedbackOut
from server.routes.interviews import InterviewOut, TurnOut, owned_interview
from server.services import Services
from storage.quizzes import QuizRepository
from storage.types import Interview, User

router = ApiRouter(tags=["reports"])


class ProgressPoint(BaseModel):
    interview_id: str
    at: datetime
    kind: str
    source: str | None
    scores: dict[str, float]  # mean per rubric dimension
    overall: float | None  # the answers' scores weighted by their rubric, averaged
    competencies: dict[str, float]
    delivery: dict[str, Any]
    coverage: dict[str, int]


class QuizPoint(BaseModel):
    quiz_id: str
    at: datetime
    score: float
    grader: str


class ProgressOut(BaseModel):
    interviews: list[ProgressPoint]  # oldest first
    # criterion or competency -> [(when, mean score)], oldest first
    criteria: dict[str, list[tuple[datetime, float]]]
    labels: dict[str, str]  # dimension name -> what the report calls it
    # kind -> dimension -> [(when, mean score)]: each kind's rubric over time (a mixed
    # interview's answers count under their own questions' kinds)
    kinds: dict[str, dict[str, list[tuple[datetime, float]]]]
    competencies: dict[str, list[tuple[datetime, float]]]
    delivery: dict[str, list[tuple[datetime, float]]]
    quizzes: list[QuizPoint]


class ReportOut(BaseModel):
    interview: InterviewOut
    turns: list[TurnOut]
    feedback: FeedbackOut


class ReportQuery(BaseModel):
    format: Literal["json", "html"] = "json"


@router.get("/v1/reports/progress", response=ProgressOut)
async def progress(request: Request, user: User) -> ProgressOut:
    """Rubric scores per criterion and competency, and delivery metrics, over time."""
    svc = services(request)
    interviews = {i.id: i for i in await svc.interviews.list_for_user(user.id, limit=200)}
    points: list[ProgressPoint] = []
    criteria: dict[str, list[tuple[datetime, float]]] = {}
    labels: dict[str, str] = {}
    kinds: dict[str, dict[str, list[tuple[datetime, float]]]] = {}
    competencies: dict[str, list[tuple[datetime, float]]] = {}
    delivery: dict[str, list[tuple[datetime, float]]] = {}
    for feedback in await feedback_repository(svc).list_ready(user.id):
        interview = interviews.get(feedback.interview_id)
        if interview is None:
            continue
        at = interview.ended_at or interview.created_at
        summary = feedback.summary
        point = ProgressPoint(
            interview_id=interview.id,
            at=at,
            kind=interview.kind,
            source=feedback.source,
            scores=summary.get("scores", {}),
            overall=summary.get("overall"),
            competencies=summary.get("competencies", {}),
            delivery=summary.get("delivery", {}),
            coverage=summary.get("coverage", {}),
        )
        points.append(point)
        for name, value in point.scores.items():
            criteria.setdefault(name, []).append((at, value))
            labels.setdefault(name, label_of(name, summary.get("labels")))
        # Feedback stored before kinds had rubrics has no breakdown: its interview's kind.
        for kind, scores in (summary.get("by_kind") or {interview.kind: point.scores}).items():
            for name, value in scores.items():
                kinds.setdefault(kind, {}).setdefault(name, []).append((at, value))
        for name, value in point.competencies.items():
            competencies.setdefault(name, []).append((at, value))
        for name, value in point.delivery.items():
            if isinstance(value, int | float):
                delivery.setdefault(name, []).append((at, float(value)))
    points.sort(key=lambda p: p.at)
    per_kind = [series for dimensions in kinds.values() for series in dimensions.values()]
    for series in (*criteria.values(), *competencies.values(), *delivery.values(), *per_kind):
        series.sort(key=lambda item: item[0])
    quizzes = QuizRepository(svc.db, svc.cipher)
    quiz_points = [
        QuizPoint(
            quiz_id=quiz.id, at=attempt.created_at, score=attempt.score, grader=attempt.grader
        )
        for quiz in await quizzes.list_for_user(user.id, limit=200)
        for attempt in await quizzes.attempts(user.id, quiz.id)
    ]
    quiz_points.sort(key=lambda p: p.at)
    return ProgressOut(
        interviews=points,
        criteria=criteria,
        labels=labels,
        kinds=kinds,
        competencies=competencies,
        delivery=delivery,
        quizzes=quiz_points,
    )


async def _report(request: Request, user: User, interview_id: str) -> ReportOut:
    svc = services(request)
    interview = await owned_interview(request, user, interview_id)
    turns = await svc.turns.list(interview.id)
    feedback = await feedback_repository(svc).get(user.id, interview.id)
    return ReportOut(
        interview=InterviewOut.of(interview),
        turns=[TurnOut.of(t) for t in turns],
        feedback=FeedbackOut.of_interview(interview.id, feedback),
    )


@router.get(
    "/v1/interviews/{interview_id}/report",
    response=ReportOut,
    query=ReportQuery,
    errors=(404,),
    summary="The interview's plan, turns, feedback, delivery and coverage (JSON, or HTML "
    "with ?format=html).",
)
async def report(
    request: Request, user: User, interview_id: str, query: ReportQuery
) -> ReportOut | HTMLResponse:
    found = await _report(request, user, interview_id)
    return _html(found) if query.format == "html" else found


@router.get(
    "/v1/interviews/{interview_id}/report.html",
    response_media="text/html",
    errors=(404,),
)
async def report_html(request: Request, user: User, interview_id: str) -> HTMLResponse:
    """The interview's report as a printable HTML page."""
    return _html(await _report(request, user, interview_id))


# HTML -------------------------------------------------------------------------------------

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; frame-ancestors 'none'"
_STYLE = """body{font:14px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;color:#222}
h1,h2,h3{line-height:1.2}table{border-collapse:collapse;width:100%;margin:.5rem 0}
td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
blockquote{margin:.2rem 0 .2rem 1rem;color:#444;font-style:italic}
.label{display:inline-block;padding:0 .4rem;border:1px solid #888;border-radius:.3rem}
@media print{body{margin:0}section{break-inside:avoid}}"""


def label_of(name: str, labels: object = None, score: object = None) -> str:
    """What the report calls a rubric dimension: the label stored with the score or the
    feedback, else the old four criteria's (feedback stored before kinds), else its name."""
    for source in (score, labels):
        if isinstance(source, dict):
            found = source.get("label") if source is score else source.get(name)
            if isinstance(found, str) and found:
                return found
    return LEGACY_LABELS.get(name, name.replace("_", " ").capitalize())


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _scores_table(scores: list[dict[str, Any]], labels: object) -> str:
    rows = []
    for score in scores:
        quotes = "".join(f"<blockquote>“{_e(q)}”</blockquote>" for q in score.get("quotes", []))
        label = label_of(str(score.get("criterion")), labels, score)
        weight = score.get("weight")
        weighed = (
            f" <small>(weight {_e(round(weight * 100))} %)</small>"
            if isinstance(weight, int | float)
            else ""
        )
        rows.append(
            f"<tr><td>{_e(label)}{weighed}</td><td>{_e(score.get('score'))}/5</td>"
            f"<td>{_e(score.get('reason'))}{quotes}</td></tr>"
        )
    return (
        "<table><tr><th>Dimension</th><th>Score</th><th>Why, in your words</th></tr>"
        + "".join(rows)
        + "</table>"
    )


def _stronger(stronger: object) -> str:
    if not isinstance(stronger, dict) or not stronger.get("advice"):
        return ""
    example = stronger.get("example")
    return (
        "<div class='stronger'><h4>A stronger answer would…</h4>"
        f"<p>{_e(stronger.get('advice'))}</p>"
        + (f"<p>{_e(example)}</p>" if example else "")
        + "</div>"
    )


def _kind_label(kind: object) -> str | None:
    return next((k.label for name, k in KINDS.items() if name == kind), None)


def _list(items: list[Any], tag: str = "ul") -> str:
    if not items:
        return ""
    return f"<{tag}>" + "".join(f"<li>{_e(item)}</li>" for item in items) + f"</{tag}>"


def _html(found: ReportOut) -> HTMLResponse:
    interview = found.interview
    feedback = found.feedback.feedback or {}
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Interview report {_e(interview.id)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Interview report</h1><p>{_e(interview.type.capitalize())} interview, "
        f"{_e(interview.created_at.date().isoformat())}, status {_e(interview.status)}. "
        f"Questions: <span class='label'>{_e(interview.plan_source)}</span>.</p>",
        "<section><h2>Plan</h2><ol>",
        *(
            f"<li>{_e(q.text)} <small>({_e(q.requirement or q.competency)})</small></li>"
            for q in interview.questions
        ),
        "</ol></section>",
    ]
    status = found.feedback.status
    if status != "ready" and not feedback:
        parts.append(f"<section><h2>Feedback</h2><p>Feedback is {_e(status)}.</p></section>")
    else:
        parts.append(
            "<section><h2>Feedback</h2><p>Scored by "
            f"<span class='label'>{_e(feedback.get('source'))}</span>"
            f" (prompt {_e(feedback.get('prompt_version'))}).</p>"
        )
        labels = feedback.get("labels")
        means = feedback.get("scores", {})
        if isinstance(feedback.get("overall"), int | float):
            parts.append(
                f"<p>Overall (weighted by each rubric): <strong>{_e(feedback['overall'])}"
                "</strong>/5</p>"
            )
        if means:
            parts.append(
                "<table><tr><th>Dimension</th><th>Mean score</th></tr>"
                + "".join(
                    f"<tr><td>{_e(label_of(k, labels))}</td><td>{_e(v)}</td></tr>"
                    for k, v in means.items()
                )
                + "</table>"
            )
        parts.append(_list(feedback.get("suggestions", [])) + "</section>")
        coverage = feedback.get("coverage", [])
        if coverage:
            parts.append(
                "<section><h2>Job requirements</h2><table><tr><th>Requirement</th>"
                "<th>Coverage</th><th>Evidence</th></tr>"
                + "".join(
                    f"<tr><td>{_e(c.get('requirement'))}</td><td>{_e(c.get('status'))}</td>"
                    f"<td>{_e(c.get('quote') or '')}</td></tr>"
                    for c in coverage
                )
                + "</table></section>"
            )
        delivery = feedback.get("delivery", {})
        if delivery:
            words = ", ".join(
                f"{w.get('word')} ({w.get('count')})" for w in delivery.get("most_used_words", [])
            )
            parts.append(
                "<section><h2>Delivery</h2><table>"
                f"<tr><td>Words per minute</td><td>{_e(delivery.get('words_per_minute'))}"
                f" ({_e(delivery.get('pace'))})</td></tr>"
                f"<tr><td>Fillers per minute</td><td>{_e(delivery.get('fillers_per_minute'))}"
                f"</td></tr><tr><td>Pauses over 2 s</td>"
                f"<td>{_e(delivery.get('long_pause_count'))}</td></tr>"
                f"<tr><td>Talk ratio</td><td>{_e(delivery.get('talk_ratio'))}</td></tr>"
                f"<tr><td>Most-used words</td><td>{_e(words)}</td></tr>"
                f"<tr><td>Job terms used</td>"
                f"<td>{_e(', '.join(delivery.get('job_terms_used', [])))}</td></tr>"
                "</table></section>"
            )
        for answer in feedback.get("answers", []):
            kind = _kind_label(answer.get("kind"))
            overall = answer.get("overall")
            about = " · ".join(
                part
                for part in (
                    f"{_e(kind)} rubric" if kind else "",
                    f"overall {_e(overall)}/5" if isinstance(overall, int | float) else "",
                )
                if part
            )
            parts.append(
                f"<section><h3>Question {_e(answer.get('turn'))}: {_e(answer.get('question'))}"
                f"</h3>{f'<p><small>{about}</small></p>' if about else ''}"
                f"{_scores_table(answer.get('scores', []), labels)}"
                f"{_stronger(answer.get('stronger_answer'))}"
                f"<p>Suggestions:</p>{_list(answer.get('suggestions', []))}"
                f"<p>A stronger answer, step by step:</p>"
                f"{_list(answer.get('stronger_answer_outline', []), 'ol')}"
                "</section>"
            )
    parts.append("<section><h2>Transcript</h2>")
    for turn in found.turns:
        parts.append(
            f"<p><strong>Interviewer:</strong> {_e(turn.question)}</p>"
            f"<p><strong>You:</strong> {_e(turn.answer)}</p>"
        )
    parts.append("</section></body></html>")
    return HTMLResponse(
        "".join(parts),
        headers={
            "content-security-policy": _CSP,
            "cache-control": "private, no-store",
            "x-content-type-options": "nosniff",
        },
    )


# Drills: every attempt at one question, side by side ------------------------------------

DELIVERY_KEYS = ("words_per_minute", "fillers_per_minute", "long_pause_count", "words")


class AttemptOut(BaseModel):
    interview_id: str
    at: datetime
    status: str
    first: bool  # the interview the question was first asked in (the others are drills)
    answer: str | None  # what the candidate said, None before it was answered
    overall: float | None  # the answer's scores weighted by its rubric
    scores: dict[str, float]  # rubric dimension -> score (1-5); empty until scored
    delivery: dict[str, float | int | None]  # of this answer: DELIVERY_KEYS


class DrilledQuestionOut(BaseModel):
    question_index: int  # in the plan of the interview it was first asked in
    question: str
    labels: dict[str, str]  # dimension -> what the report calls it
    attempts: list[AttemptOut]  # oldest first
    changes: list[str]  # from the last attempt but one to the last, in words


class AttemptsOut(BaseModel):
    first_interview_id: str  # the interview the questions were first asked in
    questions: list[DrilledQuestionOut]  # those with at least one drill


async def _attempt(
    svc: Services, user: User, interview: Interview, index: int, first: bool
) -> tuple[AttemptOut, dict[str, str]]:
    turns = [t for t in await svc.turns.list(interview.id) if t.question_index == index]
    feedback = await feedback_repository(svc).get(user.id, interview.id)
    scored: dict[str, Any] = {}
    if turns and feedback is not None and feedback.body:
        scored = next(
            (a for a in feedback.body.get("answers", []) if a.get("turn") == turns[0].turn), {}
        )
    scores = {str(s["criterion"]): float(s["score"]) for s in scored.get("scores", [])}
    labels = {
        str(s["criterion"]): label_of(
            str(s["criterion"]),
            feedback.body.get("labels") if feedback and feedback.body else None,
            s,
        )
        for s in scored.get("scores", [])
    }
    delivery = scored.get("delivery") or {}
    attempt = AttemptOut(
        interview_id=interview.id,
        at=interview.created_at,
        status=interview.status,
        first=first,
        answer=turns[0].answer if turns else None,
        overall=scored.get("overall"),
        scores=scores,
        delivery={key: delivery.get(key) for key in DELIVERY_KEYS},
    )
    return attempt, labels


def changes(before: AttemptOut, after: AttemptOut, labels: dict[str, str]) -> list[str]:
    """What changed from one attempt to the next: each dimension's score, then delivery."""
    said: list[str] = []
    for name, score in after.scores.items():
        earlier = before.scores.get(name)
        if earlier is not None and earlier != score:
            said.append(f"{labels.get(name, name)}: {earlier:g} → {score:g}")
    for key, words in (
        ("words_per_minute", "pace {0:g} → {1:g} words per minute"),
        ("fillers_per_minute", "fillers {0:g} → {1:g} per minute"),
        ("long_pause_count", "long pauses {0:g} → {1:g}"),
    ):
        a, b = before.delivery.get(key), after.delivery.get(key)
        if isinstance(a, int | float) and isinstance(b, int | float) and round(a, 1) != round(b, 1):
            said.append(words.format(round(a, 1), round(b, 1)))
    return said


@router.get(
    "/v1/interviews/{interview_id}/attempts",
    response=AttemptsOut,
    errors=(404,),
    summary="Every attempt at the interview's drilled questions, side by side.",
)
async def attempts(request: Request, user: User, interview_id: str) -> AttemptsOut:
    """For a drill, the attempts at its question; for an interview, at each of its
    questions that has been drilled. A deleted attempt is left out."""
    svc = services(request)
    interview = await owned_interview(request, user, interview_id)
    if interview.drill_of is not None and interview.drill_question is not None:
        first_id, indices = interview.drill_of, [interview.drill_question]
    else:
        first_id = interview.id
        indices = await svc.interviews.drilled_questions(user.id, interview.id)
    first = await svc.interviews.get(user.id, first_id)
    questions: list[DrilledQuestionOut] = []
    for index in indices:
        found: list[AttemptOut] = []
        labels: dict[str, str] = {}
        drills = await svc.interviews.drills(user.id, first_id, index)
        text = drills[0].questions[0].text if drills else ""
        if first is not None and index < len(first.questions):
            attempt, named = await _attempt(svc, user, first, index, True)
            found.append(attempt)
            labels |= named
            text = first.questions[index].text
        for drill in drills:
            attempt, named = await _attempt(svc, user, drill, 0, False)
            found.append(attempt)
            labels |= named
        scored = [a for a in found if a.scores]
        said = changes(scored[-2], scored[-1], labels) if len(scored) >= 2 else []
        questions.append(
            DrilledQuestionOut(
                question_index=index, question=text, labels=labels, attempts=found, changes=said
            )
        )
    return AttemptsOut(first_interview_id=first_id, questions=questions)
