"""The account export through a real server on every backend: the JSON validates against
the documented schema, the ZIP holds the original file byte for byte, and nothing of
another user's appears."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest

from storage._util import utcnow
from storage.interviews import TurnRepository
from storage.types import InterviewTurn, TurnWord
from tests.documents import RESUME_LINES, pdf
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.serving import RunningServer

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[2] / "docs" / "export-schema.json").read_text()
)
ANSWER = "I led the migration of the billing ledger to event sourcing."
OTHER_LINES = ["Zanzibar Quokka", "Lighthouse keeper at Quokkaland Ltd", "SKILLS", "Knots"]


async def _account(
    http: httpx.AsyncClient, server: RunningServer, email: str, lines: list[str], job: str
) -> dict[str, Any]:
    tokens = await register(http, email)
    auth = bearer(tokens["access_token"])
    original = pdf(lines)
    upload = await http.post(
        "/v1/resumes", headers=auth, files={"file": ("my cv.pdf", original, "application/pdf")}
    )
    assert upload.status_code == 201, upload.text
    resume_id = upload.json()["id"]

    async def resume() -> dict[str, Any]:
        return dict((await http.get(f"/v1/resumes/{resume_id}", headers=auth)).json())

    await eventually(resume, lambda body: body["status"] == "ready")
    job_response = await http.post("/v1/jobs", headers=auth, json={"text": job})
    assert job_response.status_code == 201
    quiz = await http.post(
        "/v1/quizzes", headers=auth, json={"job_id": job_response.json()["id"], "count": 2}
    )
    assert quiz.status_code == 201, quiz.text
    attempt = await http.post(
        f"/v1/quizzes/{quiz.json()['id']}/answers",
        headers=auth,
        json={
            "answers": [
                {"index": q["index"], "choice": 0}
                if q["options"]
                else {"index": q["index"], "text": f"quiz answer of {email}"}
                for q in quiz.json()["questions"]
            ]
        },
    )
    assert attempt.status_code == 201, attempt.text
    created = await http.post(
        "/v1/interviews", headers=auth, json={"type": "behavioral", "question_count": 1}
    )
    assert created.status_code == 201, created.text
    svc = server.app.state.services
    await TurnRepository(svc.db, svc.cipher).save(
        InterviewTurn(
            interview_id=created.json()["id"],
            turn=1,
            question="Tell me about a migration you led.",
            question_index=0,
            interrupted=False,
            answer=f"{ANSWER} ({email})",
            words=(TurnWord("I", 0.0, 0.1),),
            answer_audio_s=3.0,
            metrics={"voice_to_voice_ms": 512.0},
            interviewer_source="offline",
            created_at=utcnow(),
        )
    )
    return {"auth": auth, "resume_id": resume_id, "original": original, "email": email}


@pytest.fixture
async def two_accounts(
    client: httpx.AsyncClient, server: RunningServer
) -> tuple[dict[str, Any], dict[str, Any]]:
    mine = await _account(client, server, "ada@example.org", RESUME_LINES, "Build Babbage tools")
    theirs = await _account(client, server, "zed@example.org", OTHER_LINES, "Quokka wrangler")
    return mine, theirs


def _assert_only_mine(document: dict[str, Any], theirs: dict[str, Any]) -> None:
    text = json.dumps(document)
    for foreign in ("Zanzibar", "Quokka", theirs["email"], theirs["resume_id"]):
        assert foreign not in text, f"another user's {foreign!r} is in the export"


async def test_json_export_validates_and_holds_only_the_callers_data(
    client: httpx.AsyncClient, two_accounts: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    mine, theirs = two_accounts
    response = await client.get("/v1/account/export?format=json", headers=mine["auth"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert "attachment" in response.headers["content-disposition"]
    document = response.json()
    jsonschema_rs.validator_for(SCHEMA).validate(document)
    assert document["profile"]["email"] == mine["email"]
    assert "password_hash" not in json.dumps(document)
    [resume] = document["resumes"]
    assert resume["id"] == mine["resume_id"] and "Babbage" in resume["text"]
    assert resume["parsed"] is not None
    assert document["job_descriptions"][0]["text"] == "Build Babbage tools"
    [turn] = document["interview_turns"]
    assert turn["answer"].startswith(ANSWER) and turn["metrics"]["voice_to_voice_ms"] == 512.0
    [quiz] = document["quizzes"]
    [attempt] = document["quiz_attempts"]
    assert attempt["quiz_id"] == quiz["id"] and attempt["answers"]
    actions = [event["action"] for event in document["audit_events"]]
    assert "resume.uploaded" in actions and "account.exported" in actions
    _assert_only_mine(document, theirs)


async def test_zip_export_holds_the_original_file_byte_for_byte(
    client: httpx.AsyncClient, two_accounts: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    mine, theirs = two_accounts
    response = await client.get("/v1/account/export?format=zip", headers=mine["auth"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        document = json.loads(archive.read("export.json"))
        jsonschema_rs.validator_for(SCHEMA).validate(document)
        [resume] = document["resumes"]
        assert resume["file"] in archive.namelist()
        assert archive.read(resume["file"]) == mine["original"]
        assert len(archive.namelist()) == 2
    _assert_only_mine(document, theirs)
    audit = await client.get("/v1/account/audit", headers=mine["auth"])
    exported = [e for e in audit.json()["events"] if e["action"] == "account.exported"]
    assert exported and exported[0]["user_agent"] is not None


async def test_export_refuses_an_unknown_format_and_anonymous_callers(
    client: httpx.AsyncClient,
) -> None:
    tokens = await register(client, "fmt@example.org")
    response = await client.get(
        "/v1/account/export?format=xml", headers=bearer(tokens["access_token"])
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
    assert (await client.get("/v1/account/export")).status_code == 401
