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

from pipeline.feedback.types import CRITERION_LABELS
from server.api import ApiRouter
from server.context import services
from server.feedback_jobs import feedback_repository
from server.routes.feedback import FeedbackOut
from server.routes.interviews import InterviewOut, TurnOut, owned_interview
from storage.quizzes import QuizRepository
from storage.types import User

router = ApiRouter(tags=["reports"])


class ProgressPoint(BaseModel):
    interview_id: str
    at: datetime
    kind: str
    source: str | None
    scores: dict[str, float]
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
            competencies=summary.get("competencies", {}),
            delivery=summary.get("delivery", {}),
            coverage=summary.get("coverage", {}),
        )
        points.append(point)
        for name, value in point.scores.items():
            criteria.setdefault(name, []).append((at, value))
        for name, value in point.competencies.items():
            competencies.setdefault(name, []).append((at, value))
        for name, value in point.delivery.items():
            if isinstance(value, int | float):
                delivery.setdefault(name, []).append((at, float(value)))
    points.sort(key=lambda p: p.at)
    for series in (*criteria.values(), *competencies.values(), *delivery.values()):
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
        feedback=FeedbackOut.of(interview.id, feedback),
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


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _scores_table(scores: list[dict[str, Any]]) -> str:
    rows = []
    for score in scores:
        quotes = "".join(f"<blockquote>“{_e(q)}”</blockquote>" for q in score.get("quotes", []))
        label = CRITERION_LABELS.get(str(score.get("criterion")), str(score.get("criterion")))
        rows.append(
            f"<tr><td>{_e(label)}</td><td>{_e(score.get('score'))}/5</td>"
            f"<td>{_e(score.get('reason'))}{quotes}</td></tr>"
        )
    return (
        "<table><tr><th>Criterion</th><th>Score</th><th>Why, in your words</th></tr>"
        + "".join(rows)
        + "</table>"
    )


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
        overall = feedback.get("scores", {})
        if overall:
            parts.append(
                "<table><tr><th>Criterion</th><th>Mean score</th></tr>"
                + "".join(
                    f"<tr><td>{_e(CRITERION_LABELS.get(k, k))}</td><td>{_e(v)}</td></tr>"
                    for k, v in overall.items()
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
            parts.append(
                f"<section><h3>Question {_e(answer.get('turn'))}: {_e(answer.get('question'))}"
                f"</h3>{_scores_table(answer.get('scores', []))}"
                f"<p>Suggestions:</p>{_list(answer.get('suggestions', []))}"
                f"<p>A stronger answer:</p>{_list(answer.get('stronger_answer_outline', []), 'ol')}"
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
