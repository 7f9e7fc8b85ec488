"""Reports through a real server on every backend: progress over time, an interview's
report as JSON, and the printable HTML report (escaped, without any script)."""

from __future__ import annotations

import httpx

from tests.server.test_feedback import (
    answered_interview,
    feedback_when_done,
    ready_job,
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
    assert set(body["criteria"]) == {"relevance", "structure", "specificity", "communication"}
    assert all(len(series) == 2 for series in body["criteria"].values())
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
