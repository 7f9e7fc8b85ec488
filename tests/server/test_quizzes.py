"""Quizzes through a real server on every backend: generated from a job and weighted by an
interview's feedback, answers hidden until attempted, graded and kept."""

from __future__ import annotations

import json
from typing import Any

import httpx

from server.services import Services
from tests.fakes.openai_compat import FakeOpenAI
from tests.server.test_feedback import (
    answered_interview,
    fake_llm,  # noqa: F401 - fixtures
    feedback_when_done,
    llm_client,  # noqa: F401
    llm_server,  # noqa: F401
    ready_job,
    services_of,
    signed_in,
)
from tests.serving import RunningServer


async def test_a_quiz_from_a_job_and_an_interview_is_graded_and_kept(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    job_id = await ready_job(client, auth)
    interview_id = await answered_interview(client, server, auth, job_id=job_id)
    await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    feedback = (await feedback_when_done(client, auth, interview_id))["feedback"]
    weakest = min(feedback["scores"], key=feedback["scores"].get)

    created = await client.post(
        "/v1/quizzes",
        headers=auth,
        json={"job_id": job_id, "interview_id": interview_id, "count": 6},
    )
    assert created.status_code == 201, created.text
    quiz = created.json()
    assert quiz["source"] == "offline" and quiz["question_count"] == 6
    questions = quiz["questions"]
    kinds = {q["kind"] for q in questions}
    assert kinds == {"multiple_choice", "short_text"}
    # Weighted toward the weakest criterion, and the job's requirements are asked about.
    assert questions[0]["competency"] == weakest
    assert any(q["requirement"] == "Mentoring junior engineers" for q in questions)
    for question in questions:
        assert set(question) == {"index", "kind", "prompt", "options", "competency", "requirement"}
        if question["kind"] == "multiple_choice":
            assert len(question["options"]) == 4 and len(set(question["options"])) == 4
    hidden = json.dumps((await client.get(f"/v1/quizzes/{quiz['id']}", headers=auth)).json())
    assert "correct_index" not in hidden and "key_points" not in hidden

    answers = []
    for question in questions:
        if question["kind"] == "multiple_choice":
            answers.append({"index": question["index"], "choice": 0})
        else:
            answers.append(
                {
                    "index": question["index"],
                    "text": "I mentored three junior engineers on Redis and PostgreSQL "
                    "for 6 months and two of them were promoted in a year.",
                }
            )
    graded = await client.post(
        f"/v1/quizzes/{quiz['id']}/answers", headers=auth, json={"answers": answers}
    )
    assert graded.status_code == 201, graded.text
    attempt = graded.json()
    assert attempt["grader"] == "exact+heuristic"
    assert 0 <= attempt["score"] <= 1
    for result in attempt["results"]:
        assert result["explanation"]
        if questions[result["index"]]["kind"] == "multiple_choice":
            assert result["grader"] == "exact"
            assert result["correct"] == (result["correct_index"] == 0)
        else:
            assert result["grader"] == "heuristic" and result["key_points"]
    text_results = [r for r in attempt["results"] if r["grader"] == "heuristic"]
    assert any(r["correct"] for r in text_results)

    read = (await client.get(f"/v1/quizzes/{quiz['id']}", headers=auth)).json()
    assert [a["id"] for a in read["attempts"]] == [attempt["id"]]
    listed = (await client.get("/v1/quizzes", headers=auth)).json()["quizzes"]
    assert [q["id"] for q in listed] == [quiz["id"]]

    # Typed answers are encrypted at rest.
    svc: Services = services_of(server)
    row = await svc.db.fetchrow("SELECT answers, results FROM quiz_attempts")
    assert row is not None and "mentored" not in row["answers"] + row["results"]

    assert (await client.delete(f"/v1/quizzes/{quiz['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/v1/quizzes/{quiz['id']}", headers=auth)).status_code == 404


async def test_bad_quiz_requests_get_a_clear_4xx(client: httpx.AsyncClient) -> None:
    auth = await signed_in(client)
    missing = await client.post("/v1/quizzes", headers=auth, json={"job_id": "nope"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "job_not_found"
    too_many = await client.post("/v1/quizzes", headers=auth, json={"count": 500})
    assert too_many.status_code == 422
    quiz = (await client.post("/v1/quizzes", headers=auth, json={"count": 2})).json()
    bodies: tuple[dict[str, Any], ...] = (
        {"answers": [{"index": 9, "choice": 1}]},
        {"answers": [{"index": 0, "choice": 1}, {"index": 0, "choice": 2}]},
        {"answers": [{"index": 0, "choice": 7}]},
        {"answers": []},
        {"answers": "x"},
    )
    for body in bodies:
        response = await client.post(f"/v1/quizzes/{quiz['id']}/answers", headers=auth, json=body)
        assert response.status_code == 422, body
        assert set(response.json()["error"]) >= {"code", "message"}


async def test_with_an_llm_the_quiz_and_the_text_grades_are_its_own(
    llm_client: httpx.AsyncClient,  # noqa: F811
    fake_llm: FakeOpenAI,  # noqa: F811
) -> None:
    auth = await signed_in(llm_client)
    fake_llm.script(
        json.dumps(
            {
                "questions": [
                    {
                        "kind": "multiple_choice",
                        "prompt": "Which index speeds up equality lookups in PostgreSQL?",
                        "options": ["B-tree", "None", "A view", "A trigger"],
                        "correct_index": 0,
                        "key_points": [],
                        "explanation": "B-tree is the default and serves equality.",
                        "competency": "PostgreSQL",
                        "requirement": None,
                    },
                    {
                        "kind": "short_text",
                        "prompt": "How would you cache pricing queries?",
                        "options": [],
                        "correct_index": None,
                        "key_points": ["cache invalidation", "TTL"],
                        "explanation": "Say how entries expire and are invalidated.",
                        "competency": "Redis",
                        "requirement": None,
                    },
                ]
            }
        ),
        json.dumps({"score": 0.5, "matched_points": ["TTL"], "explanation": "Half."}),
    )
    quiz = (await llm_client.post("/v1/quizzes", headers=auth, json={"count": 2})).json()
    assert quiz["source"] == "llm:gpt-4o-mini"
    graded = await llm_client.post(
        f"/v1/quizzes/{quiz['id']}/answers",
        headers=auth,
        json={"answers": [{"index": 0, "choice": 0}, {"index": 1, "text": "A short TTL."}]},
    )
    attempt = graded.json()
    assert attempt["grader"] == "exact+llm:gpt-4o-mini"
    assert attempt["score"] == 0.75
    assert attempt["results"][1]["matched_points"] == ["TTL"]
