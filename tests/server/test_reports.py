"""Reports through a real server on every backend: progress over time, an interview's
report as JSON, and the printable HTML report (escaped, without any script) with each
kind's dimension labels and a stronger answer per question; feedback stored before
rubrics had kinds still loads and renders."""

from __future__ import annotations

from typing import Any

import httpx

from server.jobs.feedback import feedback_repository
from tests.server.test_feedback import (
    KIND_ANSWERS,
    answered_interview,
    feedback_when_done,
    ready_job,
    ready_resume,
    services_of,
    signed_in,
)
from tests.serving import RunningServer

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


async def test_progress_lists_scores_and_delivery_over_time(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    empty = (await client.get("/v1/reports/progress", headers=auth)).json()
    assert empty["interviews"] == [] and empty["criteria"] == {}
    ids = []
    for _ in range(2):
        interview_id = await answered_interview(client, server, auth)
        await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
        await feedback_when_done(client, auth, interview_id)
        ids.append(interview_id)
    body = (await client.get("/v1/reports/progress", headers=auth)).json()
    assert [p["interview_id"] for p in body["interviews"]] == ids
    # A mixed interview's questions each have their kind's rubric; the two interviews
    # ask different questions, so a dimension has a point per interview that scored it.
    scored_in: dict[str, int] = {}
    in_kind: dict[tuple[str, str], int] = {}
    for interview_id in ids:
        scored = (await client.get(f"/v1/interviews/{interview_id}/feedback", headers=auth)).json()
        answers = scored["feedback"]["answers"]
        for name in {s["criterion"] for a in answers for s in a["scores"]}:
            scored_in[name] = scored_in.get(name, 0) + 1
        for pair in {(a["kind"], s["criterion"]) for a in answers for s in a["scores"]}:
            in_kind[pair] = in_kind.get(pair, 0) + 1
    assert {name: len(series) for name, series in body["criteria"].items()} == scored_in
    assert set(body["labels"]) == set(scored_in) and all(body["labels"].values())
    # Each kind's dimensions over time, a mixed interview's answers under their own kinds.
    assert {
        (kind, name): len(series)
        for kind, dimensions in body["kinds"].items()
        for name, series in dimensions.items()
    } == in_kind
    assert len(body["delivery"]["words_per_minute"]) == 2
    assert body["interviews"][0]["source"] == "heuristic"
    assert "prioritisation" in body["competencies"]  # the bank question's competency

    other = await signed_in(client, "grace@example.org")
    assert (await client.get("/v1/reports/progress", headers=other)).json()["interviews"] == []


async def test_an_interview_report_as_json_and_as_escaped_html(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    job_id = await ready_job(client, auth)
    answers = [("Tell me about Redis.", f"I used Redis and PostgreSQL daily. {HOSTILE} done.")]
    interview_id = await answered_interview(client, server, auth, job_id=job_id, answers=answers)
    pending = (await client.get(f"/v1/interviews/{interview_id}/report", headers=auth)).json()
    assert pending["feedback"]["status"] == "none"

    await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    await feedback_when_done(client, auth, interview_id)
    report = (await client.get(f"/v1/interviews/{interview_id}/report", headers=auth)).json()
    assert set(report) == {"interview", "turns", "feedback"}
    assert report["interview"]["plan_source"] == "offline"
    assert report["turns"][0]["answer"].startswith("I used Redis")
    feedback = report["feedback"]["feedback"]
    assert {c["requirement"] for c in feedback["coverage"]} == {
        "Experience with Redis and PostgreSQL",
        "Mentoring junior engineers",
    }
    assert feedback["delivery"]["job_terms_used"] == ["Redis", "PostgreSQL"]

    for url in (
        f"/v1/interviews/{interview_id}/report.html",
        f"/v1/interviews/{interview_id}/report?format=html",
    ):
        page = await client.get(url, headers=auth)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src" not in page.headers["content-security-policy"]
        assert page.headers["content-security-policy"].startswith("default-src 'none'")
        html = page.text
        assert "<script" not in html.lower() and "<img" not in html.lower()
        assert "&lt;script&gt;" in html and "&amp;" in html
        assert "Mentoring junior engineers" in html and "heuristic" in html

    bad = await client.get(f"/v1/interviews/{interview_id}/report?format=pdf", headers=auth)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


async def test_the_report_shows_the_kinds_dimensions_and_a_stronger_answer(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    resume_id = await ready_resume(client, auth)
    interview_id = await answered_interview(
        client,
        server,
        auth,
        kind="system_design",
        resume_id=resume_id,
        answers=KIND_ANSWERS["system_design"],
    )
    await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    await feedback_when_done(client, auth, interview_id)
    html = (await client.get(f"/v1/interviews/{interview_id}/report.html", headers=auth)).text
    for label in ("Requirements", "High-level design", "Data and scaling", "Trade-offs"):
        assert f"<td>{label} <small>" in html
    assert "System design rubric" in html
    assert "A stronger answer would…" in html and "Analytical Engines Ltd" in html
    assert "Overall (weighted by each rubric)" in html


# Feedback as stored before rubrics had kinds (prompt feedback-1, heuristic-1).
LEGACY_BODY: dict[str, Any] = {
    "source": "heuristic",
    "model": None,
    "prompt_version": "heuristic-1",
    "scores": {"relevance": 3.0, "structure": 4.0, "specificity": 2.0, "communication": 3.0},
    "competencies": {"performance": 3.0},
    "answers": [
        {
            "turn": 1,
            "question": "Tell me about a time you improved the performance of a service.",
            "competency": "performance",
            "requirement": None,
            "scores": [
                {"criterion": c, "score": 3, "quotes": ["I added a Redis cache"], "reason": "R."}
                for c in ("relevance", "structure", "specificity", "communication")
            ],
            "suggestions": ["Add the missing STAR parts: result."],
            "stronger_answer_outline": ["Situation: ...", "Result: ..."],
            "delivery": None,
            "source": "heuristic",
            "model": None,
            "prompt_version": "heuristic-1",
        }
    ],
    "coverage": [],
    "suggestions": ["Add the missing STAR parts: result."],
    "delivery": {},
}


async def test_feedback_stored_before_kinds_still_loads_and_renders(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    interview_id = await answered_interview(client, server, auth)
    me = (await client.get("/v1/me", headers=auth)).json()
    repository = feedback_repository(services_of(server))
    pending = await repository.request(user_id=me["id"], interview_id=interview_id)
    assert await repository.claim(me["id"], interview_id, pending.generation)
    summary = {"scores": LEGACY_BODY["scores"], "competencies": {}, "delivery": {}, "coverage": {}}
    await repository.save(
        me["id"],
        interview_id,
        pending.generation,
        source="heuristic",
        model=None,
        prompt_version="heuristic-1",
        summary=summary,
        body=LEGACY_BODY,
    )
    body = (await client.get(f"/v1/interviews/{interview_id}/feedback", headers=auth)).json()
    assert body["status"] == "ready" and body["feedback"] == LEGACY_BODY
    html = (await client.get(f"/v1/interviews/{interview_id}/report.html", headers=auth)).text
    for label in ("Relevance", "Structure (STAR)", "Specificity and impact", "Communication"):
        assert f"<td>{label}</td>" in html
    assert "A stronger answer, step by step" in html
    progress = (await client.get("/v1/reports/progress", headers=auth)).json()
    assert progress["labels"]["structure"] == "Structure (STAR)"
    assert set(progress["kinds"]["mixed"]) == set(LEGACY_BODY["scores"])
    assert progress["interviews"][0]["overall"] is None
