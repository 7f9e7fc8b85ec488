"""Drills through a real server on every backend: one question of an earlier interview
practised again as a one-question interview, every attempt grouped under the interview it
was first asked in, and the attempts compared side by side (scores per dimension,
delivery, what changed)."""

from __future__ import annotations

from typing import Any

import httpx

from tests.server.test_feedback import (
    answered_interview,
    feedback_when_done,
    services_of,
    signed_in,
    spoken_turn,
)
from tests.serving import RunningServer

WEAK = [
    ("Tell me about a deadline.", "I worked on it and it was fine."),
    ("Describe a disagreement with a colleague.", "We talked and it was okay in the end."),
]
STRONGER = (
    "Last spring our billing team had two weeks to ship invoicing for a new market. "
    "My task was to deliver the tax rules. I split the work into daily milestones, "
    "paired with the finance lead on each rule and wrote tests for every rule. "
    "As a result we shipped three days early and the first month's invoices had no errors, "
    "and I learned to agree on acceptance tests before writing code."
)


async def drill(
    client: httpx.AsyncClient, auth: dict[str, str], of: str, question: int, kind: str
) -> httpx.Response:
    return await client.post(
        "/v1/interviews",
        headers=auth,
        json={"type": kind, "drill_of": {"interview_id": of, "question": question}},
    )


async def answer_drill(server: RunningServer, interview_id: str, text: str) -> None:
    svc = services_of(server)
    await svc.turns.save(spoken_turn(interview_id, 1, WEAK[1][0], text, start_s=3.0))
    await svc.interviews.mark_ended(interview_id, status="completed", reason="completed")


async def scored(client: httpx.AsyncClient, auth: dict[str, str], interview_id: str) -> None:
    await client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
    assert (await feedback_when_done(client, auth, interview_id))["status"] == "ready"


async def test_a_question_is_drilled_and_its_attempts_compared(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    first_id = await answered_interview(client, server, auth, answers=WEAK, kind="behavioral")
    await scored(client, auth, first_id)
    first = (await client.get(f"/v1/interviews/{first_id}", headers=auth)).json()

    created = await drill(client, auth, first_id, 1, "behavioral")
    assert created.status_code == 201, created.text
    practice = created.json()
    assert practice["question_count"] == 1 and practice["plan_source"] == "drill"
    assert practice["questions"] == [first["questions"][1]]
    assert (practice["drill_of"], practice["drill_question"]) == (first_id, 1)
    assert practice["type"] == "behavioral" and practice["status"] == "created"

    # Before the drill is answered it is listed, with nothing to compare yet.
    pending = (await client.get(f"/v1/interviews/{practice['id']}/attempts", headers=auth)).json()
    [question] = pending["questions"]
    assert [a["first"] for a in question["attempts"]] == [True, False]
    assert question["attempts"][1]["answer"] is None and question["changes"] == []

    await answer_drill(server, practice["id"], STRONGER)
    await scored(client, auth, practice["id"])
    for seen_from in (first_id, practice["id"]):
        response = await client.get(f"/v1/interviews/{seen_from}/attempts", headers=auth)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert body["first_interview_id"] == first_id
        [question] = body["questions"]
        assert question["question_index"] == 1
        assert question["question"] == first["questions"][1]["text"]
        before, after = question["attempts"]
        assert before["answer"] == WEAK[1][1] and after["answer"] == STRONGER
        assert (
            set(before["scores"])
            == set(after["scores"])
            == {
                "situation",
                "task",
                "action",
                "result",
            }
        )
        assert set(question["labels"].values()) == {"Situation", "Task", "Action", "Result"}
        assert after["overall"] > before["overall"]
        assert after["delivery"]["words"] > before["delivery"]["words"]
        # What changed is said in the dimensions' own names.
        assert any(line.startswith("Result: ") for line in question["changes"])

    # A drill of the drill is one more attempt at the same question.
    again = await drill(client, auth, practice["id"], 0, "behavioral")
    assert again.status_code == 201, again.text
    assert (again.json()["drill_of"], again.json()["drill_question"]) == (first_id, 1)
    body = (await client.get(f"/v1/interviews/{first_id}/attempts", headers=auth)).json()
    assert len(body["questions"][0]["attempts"]) == 3
    # An interview without drills has nothing to compare.
    other = await answered_interview(client, server, auth, answers=WEAK[:1], kind="behavioral")
    assert (await client.get(f"/v1/interviews/{other}/attempts", headers=auth)).json()[
        "questions"
    ] == []


async def test_a_drill_of_what_does_not_exist_or_is_not_yours_is_refused(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    auth = await signed_in(client)
    first_id = await answered_interview(client, server, auth, answers=WEAK, kind="behavioral")
    cases = [
        (first_id, 2, "behavioral", 422, "question_not_found"),  # it has two questions
        (first_id, 0, "technical", 422, "drill_type_mismatch"),
        ("no-such-interview", 0, "behavioral", 404, "interview_not_found"),
    ]
    for of, question, kind, status, code in cases:
        response = await drill(client, auth, of, question, kind)
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code and response.json()["error"]["message"]
    practice = (await drill(client, auth, first_id, 0, "behavioral")).json()
    refused = await drill(client, auth, practice["id"], 1, "behavioral")
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "question_not_found"
    bad = await client.post(
        "/v1/interviews",
        headers=auth,
        json={"type": "behavioral", "drill_of": {"interview_id": first_id, "question": -1}},
    )
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"

    intruder = await signed_in(client, "eve@example.org")
    response = await drill(client, intruder, first_id, 0, "behavioral")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "interview_not_found"
    seen = await client.get(f"/v1/interviews/{practice['id']}/attempts", headers=intruder)
    assert seen.status_code == 404
