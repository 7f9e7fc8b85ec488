"""No user can read, change or delete another user's resumes, jobs, interviews, feedback,
quizzes, reports or sessions: every route with an id in its path answers 404 to a stranger.

The routes come from ``/openapi.json``, so a new route is covered as soon as it exists;
a route whose path parameter this test cannot fill, or whose body it does not know, fails
the test until it is taught here.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.documents import pdf
from tests.server.test_feedback import (
    answered_interview,
    feedback_when_done,
    ready_job,
    signed_in,
)
from tests.serving import RunningServer

_PARAM = re.compile(r"{([a-z_]+)}")

# Path parameters that name no user's resource (a sign-in provider), so have no owner.
NOT_OWNED = frozenset({"provider"})

# Request bodies valid enough to reach the ownership check (a body is validated first).
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/v1/quizzes/{quiz_id}/answers"): {"answers": [{"index": 0, "choice": 0}]},
}


async def test_every_route_with_an_id_answers_404_to_another_user(
    client: httpx.AsyncClient, server: RunningServer
) -> None:
    owner = await signed_in(client, "owner@example.org")
    stranger = await signed_in(client, "stranger@example.org")

    resume = await client.post(
        "/v1/resumes", headers=owner, files={"file": ("cv.pdf", pdf(), "application/pdf")}
    )
    assert resume.status_code == 201, resume.text
    job_id = await ready_job(client, owner)
    interview_id = await answered_interview(client, server, owner, job_id=job_id)
    await client.post(f"/v1/interviews/{interview_id}/rescore", headers=owner)
    await feedback_when_done(client, owner, interview_id)
    quiz = await client.post(
        "/v1/quizzes", headers=owner, json={"job_id": job_id, "interview_id": interview_id}
    )
    assert quiz.status_code == 201, quiz.text
    sessions = (await client.get("/v1/me/sessions", headers=owner)).json()["sessions"]
    ids = {
        "resume_id": resume.json()["id"],
        "job_id": job_id,
        "interview_id": interview_id,
        "quiz_id": quiz.json()["id"],
        "session_id": sessions[0]["id"],
    }

    document = (await client.get("/openapi.json")).json()
    exercised: list[str] = []
    for path, operations in sorted(document["paths"].items()):
        params = _PARAM.findall(path)
        if not params or set(params) <= NOT_OWNED:
            continue
        unknown = [name for name in params if name not in ids]
        assert not unknown, f"{path}: teach this test the path parameter(s) {unknown}"
        url = _PARAM.sub(lambda m: ids[m.group(1)], path)
        # Deletions last, so that every other route still sees the owner's resources.
        for method in sorted(operations, key=lambda m: m == "delete"):
            operation = operations[method]
            kwargs: dict[str, Any] = {"headers": stranger}
            if "requestBody" in operation:
                content = operation["requestBody"]["content"]
                assert "application/json" in content, f"{method} {path}: unknown body type"
                route = (method, path)
                if route in BODIES:
                    kwargs["json"] = BODIES[route]
                else:
                    schema = content["application/json"]["schema"]
                    name = schema["$ref"].rsplit("/", 1)[-1]
                    required = document["components"]["schemas"][name].get("required", [])
                    assert not required, f"{method} {path}: add a valid body to BODIES"
                    kwargs["json"] = {}
            response = await client.request(method.upper(), url, **kwargs)
            assert response.status_code == 404, f"{method.upper()} {path}: {response.text}"
            error = response.json()["error"]
            assert error["code"] and error["message"], f"{method.upper()} {path}"
            exercised.append(f"{method.upper()} {path}")

    # The routes the issue names are among those exercised.
    for expected in (
        "GET /v1/resumes/{resume_id}",
        "GET /v1/resumes/{resume_id}/file",
        "DELETE /v1/resumes/{resume_id}",
        "GET /v1/jobs/{job_id}",
        "DELETE /v1/jobs/{job_id}",
        "GET /v1/interviews/{interview_id}",
        "POST /v1/interviews/{interview_id}/ticket",
        "GET /v1/interviews/{interview_id}/feedback",
        "POST /v1/interviews/{interview_id}/rescore",
        "GET /v1/interviews/{interview_id}/report",
        "GET /v1/interviews/{interview_id}/report.html",
        "GET /v1/quizzes/{quiz_id}",
        "POST /v1/quizzes/{quiz_id}/answers",
        "DELETE /v1/quizzes/{quiz_id}",
        "DELETE /v1/me/sessions/{session_id}",
    ):
        assert expected in exercised, expected

    # Nothing of the owner's changed: everything is still there, and no attempt was added.
    for page in (
        f"/v1/resumes/{ids['resume_id']}",
        f"/v1/jobs/{job_id}",
        f"/v1/interviews/{interview_id}",
        f"/v1/interviews/{interview_id}/report.html",
    ):
        assert (await client.get(page, headers=owner)).status_code == 200, page
    mine = (await client.get(f"/v1/quizzes/{ids['quiz_id']}", headers=owner)).json()
    assert mine["attempts"] == []
    feedback = (await client.get(f"/v1/interviews/{interview_id}/feedback", headers=owner)).json()
    assert feedback["generation"] == 1 and feedback["status"] == "ready"
    # Nor do the stranger's lists show any of it.
    lists: tuple[tuple[str, str], ...] = (
        ("/v1/resumes?include_archived=true", "resumes"),
        ("/v1/jobs", "jobs"),
        ("/v1/interviews", "interviews"),
        ("/v1/quizzes", "quizzes"),
    )
    for listing, key in lists:
        assert (await client.get(listing, headers=stranger)).json()[key] == [], listing
    progress = (await client.get("/v1/reports/progress", headers=stranger)).json()
    assert progress["interviews"] == []
