"""Resumes through a real server on every backend: real PDF and DOCX uploads parsed on the
queue, downloads, archive, delete, refused files, and other users' resumes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from pipeline.documents.extract import DOCX_TYPE
from pipeline.documents.types import ResumeData
from server.settings import Settings
from storage import connect
from storage.audit import AuditRepository
from tests.documents import (
    corrupt_docx,
    encrypted_pdf,
    image_only_pdf,
    make_docx,
    pdf,
    zip_bomb_docx,
)
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.serving import run_server

MB = 1024 * 1024


async def signed_in(client: httpx.AsyncClient, email: str = "ada@example.org") -> dict[str, str]:
    tokens = await register(client, email)
    return bearer(tokens["access_token"])


async def upload(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    data: bytes,
    filename: str = "resume.pdf",
    content_type: str = "application/pdf",
) -> httpx.Response:
    return await client.post(
        "/v1/resumes", headers=auth, files={"file": (filename, data, content_type)}
    )


async def ready(client: httpx.AsyncClient, auth: dict[str, str], resume_id: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        response = await client.get(f"/v1/resumes/{resume_id}", headers=auth)
        assert response.status_code == 200, response.text
        return dict(response.json())

    return await eventually(read, lambda body: body["status"] in ("ready", "failed"))


@pytest.mark.parametrize(
    ("make", "filename", "content_type"),
    [
        (pdf, "Ada Lovelace – CV.pdf", "application/pdf"),
        # The type is read from the bytes: a DOCX sent with a wrong name and type is a DOCX.
        (make_docx, "resume.pdf", "application/octet-stream"),
    ],
    ids=["pdf", "docx"],
)
async def test_an_uploaded_resume_is_parsed_on_the_queue(
    client: httpx.AsyncClient,
    make,
    filename: str,
    content_type: str,  # type: ignore[no-untyped-def]
) -> None:
    auth = await signed_in(client)
    data = make()
    response = await upload(client, auth, data, filename, content_type)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "pending" and created["parsed"] is None
    assert created["filename"] == filename and created["size"] == len(data)
    assert set(created) >= {"id", "filename", "size", "uploaded_at", "status", "parsed"}

    body = await ready(client, auth, created["id"])
    assert body["status"] == "ready" and body["parser"] == "heuristic"
    parsed = ResumeData.model_validate(body["parsed"])
    assert parsed.personal.name == "Ada Lovelace"
    assert parsed.personal.email == "ada.lovelace@example.org"
    assert [e.company for e in parsed.experience] == ["Analytical Engines Ltd", "Babbage & Co"]
    assert parsed.skills == ["Python", "Go", "PostgreSQL", "Kubernetes"]
    expected_type = "application/pdf" if make is pdf else DOCX_TYPE
    assert body["content_type"] == expected_type

    file = await client.get(f"/v1/resumes/{created['id']}/file", headers=auth)
    assert file.status_code == 200
    assert file.content == data
    assert file.headers["content-type"] == expected_type
    assert file.headers["content-disposition"].startswith("attachment; filename=")
    assert "filename*=UTF-8''" in file.headers["content-disposition"]
    assert file.headers["cache-control"] == "private, no-store"


async def test_list_archive_unarchive_delete_and_the_audit_trail(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    auth = await signed_in(client)
    first = (await upload(client, auth, pdf())).json()
    second = (await upload(client, auth, make_docx(), "cv.docx", DOCX_TYPE)).json()
    await ready(client, auth, first["id"])

    listed = (await client.get("/v1/resumes", headers=auth)).json()["resumes"]
    assert [r["id"] for r in listed] == [second["id"], first["id"]]
    assert "parsed" not in listed[0]

    archived = await client.post(f"/v1/resumes/{first['id']}/archive", headers=auth)
    assert archived.status_code == 200 and archived.json()["archived"] is True
    listed = (await client.get("/v1/resumes", headers=auth)).json()["resumes"]
    assert [r["id"] for r in listed] == [second["id"]]
    everything = await client.get("/v1/resumes?include_archived=true", headers=auth)
    assert len(everything.json()["resumes"]) == 2
    unarchived = await client.post(f"/v1/resumes/{first['id']}/unarchive", headers=auth)
    assert unarchived.json()["archived"] is False and unarchived.json()["archived_at"] is None

    assert (await client.delete(f"/v1/resumes/{first['id']}", headers=auth)).status_code == 204
    assert (await client.get(f"/v1/resumes/{first['id']}", headers=auth)).status_code == 404
    assert (await client.delete(f"/v1/resumes/{first['id']}", headers=auth)).status_code == 404

    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        audit = AuditRepository(db)
        actions = [e.action for e in await audit.list_for_user(await _user_id(db))]
    finally:
        await db.close()
    for action in (
        "resume.uploaded",
        "resume.parsed",
        "resume.archived",
        "resume.unarchived",
        "resume.deleted",
    ):
        assert action in actions


async def _user_id(db: Any) -> str:
    return str(await db.fetchval("SELECT id FROM users WHERE email = 'ada@example.org'"))


async def test_audit_records_say_what_happened_never_what_the_resume_says(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    auth = await signed_in(client)
    resume = (await upload(client, auth, pdf())).json()
    await ready(client, auth, resume["id"])
    db = await connect(settings.resolved_database_url, ssl_mode="disable")
    try:
        events = await AuditRepository(db).list_for_user(await _user_id(db))
    finally:
        await db.close()
    recorded = repr(events)
    assert "Lovelace" not in recorded and "Babbage" not in recorded
    parsed = next(e for e in events if e.action == "resume.parsed")
    assert parsed.target_id == resume["id"]
    assert parsed.details == {"parser": "heuristic", "status": "ready"}


BAD_UPLOADS = [
    pytest.param(lambda: b"", 422, "empty_file", id="empty"),
    pytest.param(
        lambda: b"Not a PDF at all, just text.", 415, "unsupported_file_type", id="fake-pdf"
    ),
    pytest.param(encrypted_pdf, 422, "encrypted_pdf", id="encrypted"),
    pytest.param(corrupt_docx, 422, "unreadable_document", id="corrupt-docx"),
    pytest.param(zip_bomb_docx, 422, "unsafe_docx", id="zip-bomb"),
    pytest.param(
        lambda: pdf(["one page of many"], pages=500), 422, "too_many_pages", id="500-pages"
    ),
    pytest.param(image_only_pdf, 422, "no_text", id="no-text"),
    # Past 10 MB but within the body limit: the route itself refuses it.
    pytest.param(lambda: b"%PDF-1.7\n" + b"0" * (10 * MB), 413, "file_too_large", id="over-10-mb"),
    # Past the body limit: the middleware refuses it before the route reads it.
    pytest.param(
        lambda: b"%PDF-1.7\n" + b"0" * (11 * MB), 413, "payload_too_large", id="over-body-limit"
    ),
]


@pytest.mark.parametrize(("make", "status", "code"), BAD_UPLOADS)
async def test_bad_uploads_get_a_clear_4xx_and_nothing_is_stored(
    client: httpx.AsyncClient,
    make,
    status: int,
    code: str,  # type: ignore[no-untyped-def]
) -> None:
    auth = await signed_in(client)
    response = await upload(client, auth, make())
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    listed = await client.get("/v1/resumes?include_archived=true", headers=auth)
    assert listed.json()["resumes"] == []


async def test_malformed_requests_are_refused(client: httpx.AsyncClient) -> None:
    auth = await signed_in(client)
    as_json = await client.post("/v1/resumes", headers=auth, json={"file": "x"})
    assert as_json.status_code == 415
    no_file = await client.post(
        "/v1/resumes", headers=auth, data={"note": "hello"}, files={"other": ("a.pdf", pdf())}
    )
    assert no_file.status_code == 422 and no_file.json()["error"]["code"] == "missing_file"
    two_files = await client.post(
        "/v1/resumes",
        headers=auth,
        files=[
            ("file", ("a.pdf", pdf(), "application/pdf")),
            ("file", ("b.pdf", pdf(), "application/pdf")),
        ],
    )
    assert two_files.status_code == 400
    bad_multipart = await client.post(
        "/v1/resumes",
        headers={**auth, "content-type": "multipart/form-data"},
        content=b"--x\r\n",
    )
    assert bad_multipart.status_code == 400
    anonymous = await upload(client, {}, pdf())
    assert anonymous.status_code == 401
    listed = await client.get("/v1/resumes", headers=auth)
    assert listed.json()["resumes"] == []


async def test_a_filename_is_kept_but_made_safe(client: httpx.AsyncClient) -> None:
    auth = await signed_in(client)
    created = (await upload(client, auth, pdf(), "C:\\Users\\ada\\Résumé: final?.pdf")).json()
    assert created["filename"] == "Résumé_ final_.pdf"
    file = await client.get(f"/v1/resumes/{created['id']}/file", headers=auth)
    assert file.headers["content-disposition"] == (
        'attachment; filename="R_sum__ final_.pdf"; '
        "filename*=UTF-8''R%C3%A9sum%C3%A9_%20final_.pdf"
    )


async def test_other_users_resumes_are_not_found_on_any_route(client: httpx.AsyncClient) -> None:
    owner = await signed_in(client, "owner@example.org")
    stranger = await signed_in(client, "stranger@example.org")
    resume_id = (await upload(client, owner, pdf())).json()["id"]
    await ready(client, owner, resume_id)

    attempts = [
        client.get(f"/v1/resumes/{resume_id}", headers=stranger),
        client.get(f"/v1/resumes/{resume_id}/file", headers=stranger),
        client.post(f"/v1/resumes/{resume_id}/archive", headers=stranger),
        client.post(f"/v1/resumes/{resume_id}/unarchive", headers=stranger),
        client.delete(f"/v1/resumes/{resume_id}", headers=stranger),
    ]
    for attempt in attempts:
        response = await attempt
        assert response.status_code == 404, response.request.url
        assert response.json()["error"]["code"] == "not_found"
    listed = await client.get("/v1/resumes?include_archived=true", headers=stranger)
    assert listed.json()["resumes"] == []

    mine = await client.get(f"/v1/resumes/{resume_id}", headers=owner)
    assert mine.status_code == 200 and mine.json()["archived"] is False


# The LLM path --------------------------------------------------------------------------------


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as fake:
        yield fake


@pytest.fixture
async def llm_client(settings: Settings, fake_llm: FakeOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    configured = settings.model_copy(
        update={
            "openai_api_key": SecretStr(fake_llm.api_key),
            "openai_base_url": fake_llm.openai_base_url,
            "llm_providers": ["openai"],
        }
    )
    async with (
        run_server(configured) as running,
        httpx.AsyncClient(base_url=running.url, timeout=10) as http,
    ):
        yield http


async def test_with_an_llm_configured_resumes_are_parsed_by_it(
    llm_client: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    answer = ResumeData.model_validate(
        {
            "personal": {"name": "Augusta Ada King", "location": "London"},
            "experience": [{"title": "Countess", "company": "Analytical Society"}],
            "skills": ["Mathematics"],
        }
    )
    fake_llm.script(answer.model_dump_json())
    auth = await signed_in(llm_client)
    resume_id = (await upload(llm_client, auth, pdf())).json()["id"]
    body = await ready(llm_client, auth, resume_id)
    assert body["parser"] == "llm:gpt-4o-mini"
    parsed = ResumeData.model_validate(body["parsed"])
    assert parsed.personal.name == "Augusta Ada King"
    assert parsed.personal.email == "ada.lovelace@example.org"  # from the rules
    assert parsed.experience[0].company == "Analytical Society"
    sent = fake_llm.requests[0].messages[-1]["content"]
    assert "ada.lovelace@example.org" not in sent and "010-0199" not in sent


async def test_when_the_llm_fails_twice_the_heuristic_result_is_stored(
    llm_client: httpx.AsyncClient, fake_llm: FakeOpenAI
) -> None:
    fake_llm.fail_next = 2
    auth = await signed_in(llm_client)
    resume_id = (await upload(llm_client, auth, make_docx(), "cv.docx")).json()["id"]
    body = await ready(llm_client, auth, resume_id)
    assert (body["status"], body["parser"]) == ("ready", "heuristic")
    assert body["parsed"]["personal"]["name"] == "Ada Lovelace"
    assert len(fake_llm.requests) == 2


async def test_a_file_that_takes_too_long_to_read_is_refused(settings: Settings) -> None:
    # A file built to keep the reader busy is stopped after UPLOAD_CPU_LIMIT_S of CPU time.
    # Here any real PDF is "too long" for a limit of a millisecond.
    strict = settings.model_copy(update={"upload_cpu_limit_s": 0.001})
    async with (
        run_server(strict) as running,
        httpx.AsyncClient(base_url=running.url, timeout=10) as http,
    ):
        auth = await signed_in(http)
        response = await upload(http, auth, pdf(["Ada Lovelace", "Analytical engines"], pages=40))
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "unreadable_document" and "too long" in error["message"]
        listed = await http.get("/v1/resumes?include_archived=true", headers=auth)
        assert listed.json()["resumes"] == []
        health = await http.get("/healthz")  # the server, and its worker, carry on
        assert health.status_code == 200
