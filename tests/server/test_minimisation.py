"""Data minimisation on the document path, through the real OpenAI SDK and the fake's
request log: parsing a resume and a job description and planning an interview from them
send the LLM no e-mail address, phone number or link. (The live path — interviewer
prompts, speech synthesis receiving only interviewer text, recognition receiving only
audio — is kept by ``tests/server/test_live_providers.py``.)"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from server.settings import Settings
from tests.documents import pdf
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.serving import run_server

CONTACT_DETAILS = (
    "ada.lovelace@example.org",
    "010-0199",
    "github.com/ada",
    "jobs@initech.example",
    "415 555 0100",
    "initech.example/careers",
)
JOB_TEXT = (
    "Senior Python Engineer at Initech\nRequirements:\n- Python and PostgreSQL\n"
    "Apply: jobs@initech.example or +1 415 555 0100, https://initech.example/careers"
)


@pytest.fixture
async def fake_llm() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as fake:
        yield fake


async def test_documents_reach_the_llm_without_contact_details(
    settings: Settings, fake_llm: FakeOpenAI
) -> None:
    configured = settings.model_copy(
        update={
            "openai_api_key": SecretStr(fake_llm.api_key),
            "openai_base_url": fake_llm.openai_base_url,
            "llm_providers": ["openai"],
        }
    )
    async with (
        run_server(configured) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        auth = bearer((await register(http, "min@example.org"))["access_token"])
        upload = await http.post(
            "/v1/resumes", headers=auth, files={"file": ("cv.pdf", pdf(), "application/pdf")}
        )
        resume_id = upload.json()["id"]
        job_id = (await http.post("/v1/jobs", headers=auth, json={"text": JOB_TEXT})).json()["id"]

        async def states() -> list[str]:
            resume = await http.get(f"/v1/resumes/{resume_id}", headers=auth)
            job = await http.get(f"/v1/jobs/{job_id}", headers=auth)
            return [resume.json()["status"], job.json()["status"]]

        await eventually(states, lambda found: all(s in ("ready", "failed") for s in found))
        resume: dict[str, Any] = (await http.get(f"/v1/resumes/{resume_id}", headers=auth)).json()
        # Contact details come from the rules, never from the LLM.
        assert resume["parsed"]["personal"]["email"] == "ada.lovelace@example.org"
        created = await http.post(
            "/v1/interviews",
            headers=auth,
            json={"type": "mixed", "question_count": 2, "resume_id": resume_id, "job_id": job_id},
        )
        assert created.status_code == 201, created.text

    assert len(fake_llm.requests) >= 2  # at least the resume and the job were sent
    sent = "\n".join(
        str(message.get("content")) for request in fake_llm.requests for message in request.messages
    )
    assert "Analytical Engines" in sent or "Initech" in sent  # the content did go...
    for detail in CONTACT_DETAILS:
        assert detail not in sent, f"{detail!r} was sent to the LLM"  # ...its contacts did not
