"""Interviews of every kind through a real server on every backend: each kind is planned,
an unknown one is refused, role questions fit the job's profession, and a candidate's new
interview repeats no question of their last three of that kind until the bank runs out
(then the least recently asked come back)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pipeline.kinds import KINDS as DEFINITIONS
from pipeline.questions import BANKS
from storage.crypto import FieldCipher
from storage.database import Database
from storage.interviews import InterviewRepository
from storage.types import InterviewKind, PlannedQuestion
from storage.users import UserRepository
from tests.server.test_jobs import parsed, signed_in

KINDS = ("behavioral", "technical", "system_design", "role", "mixed")

NURSE_JOB = """Registered Nurse – St Mary's Hospital

What you'll do
• Deliver safe patient care on a busy medical ward
• Coordinate discharge with the wider clinical team

Requirements
• Registered nursing license
• Experience with Epic EHR
• Knowledge of clinical workflows
"""


async def create(
    client: httpx.AsyncClient, auth: dict[str, str], kind: str, count: int, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        "/v1/interviews", json={"type": kind, "question_count": count, **extra}, headers=auth
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def texts(interview: dict[str, Any]) -> set[str]:
    return {q["text"] for q in interview["questions"]}


async def test_the_kinds_are_listed_as_defined_with_their_rubrics(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/v1/interview-kinds")).status_code == 401
    auth = await signed_in(client)
    response = await client.get("/v1/interview-kinds", headers=auth)
    assert response.status_code == 200
    listed = response.json()["kinds"]
    assert [kind["name"] for kind in listed] == list(DEFINITIONS) == list(KINDS)
    for kind in listed:
        defined = DEFINITIONS[kind["name"]]
        assert (kind["label"], kind["explanation"]) == (defined.label, defined.explanation)
        assert [d["name"] for d in kind["dimensions"]] == [d.name for d in defined.dimensions]
    created = await create(client, auth, "system_design", 1)
    assert created["type_label"] == "System design"


async def test_every_kind_is_planned_and_an_unknown_kind_is_refused(
    client: httpx.AsyncClient,
) -> None:
    auth = await signed_in(client)
    for kind in KINDS:
        interview = await create(client, auth, kind, 4)
        assert interview["type"] == kind and interview["plan_source"] == "bank"
        assert len(interview["questions"]) == 4
        own = [q["kind"] for q in interview["questions"]]
        if kind == "mixed":
            # Each question keeps its own kind, whose rubric scores it.
            assert own == ["behavioral", "technical", "system_design", "role"]
        else:
            assert set(own) == {kind}
        assert all(q["tags"] and q["requirement_type"] for q in interview["questions"])
    refused = await client.post(
        "/v1/interviews", json={"type": "whiteboard", "question_count": 3}, headers=auth
    )
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "validation_error" and error["message"]
    listed = (await client.get("/v1/interviews", headers=auth)).json()["interviews"]
    assert sorted(i["type"] for i in listed) == sorted(KINDS)


async def test_a_role_interview_for_a_nursing_job_asks_about_its_clinical_work(
    client: httpx.AsyncClient,
) -> None:
    auth = await signed_in(client)
    job = (await client.post("/v1/jobs", json={"text": NURSE_JOB}, headers=auth)).json()
    assert (await parsed(client, auth, job["id"]))["status"] == "ready"
    interview = await create(client, auth, "role", 5, job_id=job["id"])
    assert interview["plan_source"] == "offline"
    asked = " ".join(texts(interview)).lower()
    assert "patient" in asked and "clinical workflow" in asked
    # Every question is tied to one of the job's own requirements or duties.
    assert all(q["requirement"] for q in interview["questions"])
    assert all(q["kind"] == "role" for q in interview["questions"])


async def test_four_interviews_of_a_kind_ask_no_question_twice(client: httpx.AsyncClient) -> None:
    auth = await signed_in(client)
    plans = [texts(await create(client, auth, "behavioral", 10)) for _ in range(4)]
    assert all(len(plan) == 10 for plan in plans)
    assert len(set().union(*plans)) == 40  # no question of the last three came back
    # Other kinds and other candidates keep their own histories.
    technical = texts(await create(client, auth, "technical", 10))
    assert technical == {q.text for q in BANKS["technical"][:10]}
    other = await signed_in(client, "grace@example.org")
    assert texts(await create(client, other, "behavioral", 10)) == plans[0]


async def test_when_the_bank_runs_out_the_least_recently_asked_come_back(
    client: httpx.AsyncClient,
) -> None:
    auth = await signed_in(client)
    bank = [q.text for q in BANKS["behavioral"]]  # 42 questions
    first, second, third = [texts(await create(client, auth, "behavioral", 12)) for _ in range(3)]
    fourth = texts(await create(client, auth, "behavioral", 12))
    never_asked = set(bank) - first - second - third
    assert len(never_asked) == 6 and never_asked <= fourth
    # The other six are the oldest interview's, none of the two after it.
    assert fourth - never_asked <= first
    assert not fourth & (second | third)


@pytest.mark.parametrize("kind", ["system_design", "role"])
async def test_plans_stored_before_questions_had_a_kind_still_load(
    db: Database, kind: InterviewKind
) -> None:
    cipher = FieldCipher([FieldCipher.generate_key()])
    user = await UserRepository(db).create(email="o@example.org", name="O", password_hash=None)
    interviews = InterviewRepository(db, cipher)
    made = await interviews.create(
        user_id=user.id, kind=kind, questions=[], voice="v", plan_source="bank"
    )
    # A plan as older versions wrote it (no kind, tags or requirement type), and one
    # with a field this version does not know.
    old = [
        {"text": "Tell me about a project.", "competency": "impact", "requirement": None},
        {"text": "Q2", "competency": "c", "source": "bank", "future_field": 1},
    ]
    await db.execute(
        "UPDATE interviews SET questions = $2 WHERE id = $1", made.id, cipher.encrypt_json(old)
    )
    loaded = await interviews.get(user.id, made.id)
    assert loaded is not None and loaded.kind == kind
    assert loaded.questions == (
        PlannedQuestion("Tell me about a project.", "impact"),
        PlannedQuestion("Q2", "c"),
    )
    assert await interviews.recent_questions(user.id, kind) == [
        frozenset({"Tell me about a project.", "Q2"})
    ]
    assert await interviews.recent_questions(user.id, "behavioral") == []
