"""Job descriptions: paste one, list them, read one with its parse, delete one.

Like resumes, a job description is parsed on the durable queue: ``POST`` answers at once
with ``status: pending``, and the title, company and lists appear when it is ``ready``.
One path for both documents keeps an LLM call (seconds) out of the request.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Literal, Self

from pydantic import BaseModel, Field, field_validator
from starlette.requests import Request

from pipeline.documents.types import JobData
from server.api import ApiRouter
from server.context import audit, services
from server.errors import ApiError
from server.jobs.documents import enqueue_job_parse
from server.routes.models import FromRecord, Strict
from server.routes.owned import owned
from storage.documents import JobRepository
from storage.types import JobDescription, User

router = ApiRouter(tags=["jobs"])

MAX_JOB_CHARS: Final = 50_000


class CreateJob(Strict):
    text: str = Field(min_length=1, max_length=MAX_JOB_CHARS)

    @field_validator("text")
    @classmethod
    def _storable(cls, value: str) -> str:
        # Postgres cannot store NUL in text. (Lone surrogates never get here: pydantic
        # refuses them as invalid strings.)
        value = value.replace("\x00", "")
        if not value.strip():
            raise ValueError("the job description is empty")
        return value


class JobSummary(FromRecord):
    id: str
    status: Literal["pending", "parsing", "ready", "failed"]
    error: str | None = Field(validation_alias="error_code")
    title: str | None
    company: str | None
    created_at: datetime

    @classmethod
    def of_job(cls, job: JobDescription) -> Self:
        # Until it is parsed, a job description reads as empty fields.
        parsed = JobData.model_validate(job.parsed) if job.parsed is not None else JobData()
        return cls.of(job, **parsed.model_dump())


class JobOut(JobSummary):
    parser: str | None  # "heuristic" or "llm:<model>", once parsed
    requirements: list[str]
    responsibilities: list[str]
    skills: list[str]
    text: str
    updated_at: datetime


class JobList(BaseModel):
    jobs: list[JobSummary]


async def owned_job(request: Request, user: User, job_id: str) -> JobDescription:
    return await owned(services(request).job_descriptions.get, user, job_id, "job description")


@router.post("/v1/jobs", body=CreateJob, response=JobOut, status=201)
async def create_job(request: Request, user: User, body: CreateJob) -> JobOut:
    """Add a job description (plain text, at most 50,000 characters); parsed in the
    background."""
    svc = services(request)
    repository = JobRepository(svc.db, svc.cipher)
    job = await repository.create(user_id=user.id, text=body.text)
    async with repository.taken_back_on_failure(user.id, job.id):
        await enqueue_job_parse(svc, user_id=user.id, job_id=job.id)
    await audit(
        request, "job.created", user_id=user.id, target_id=job.id, details={"chars": len(job.text)}
    )
    return JobOut.of_job(job)


@router.get("/v1/jobs", response=JobList)
async def list_jobs(request: Request, user: User) -> JobList:
    """The caller's job descriptions, newest first."""
    found = await services(request).job_descriptions.list_for_user(user.id)
    return JobList(jobs=[JobSummary.of_job(job) for job in found])


@router.get("/v1/jobs/{job_id}", response=JobOut, errors=(404,))
async def get_job(request: Request, user: User, job_id: str) -> JobOut:
    """A job description with its text, status, and parsed fields once ready."""
    return JobOut.of_job(await owned_job(request, user, job_id))


@router.delete("/v1/jobs/{job_id}", status=204, errors=(404,))
async def delete_job(request: Request, user: User, job_id: str) -> None:
    """Delete a job description and its parse."""
    if not await services(request).job_descriptions.delete(user.id, job_id):
        raise ApiError(404, "not_found", "No such job description.")
    await audit(request, "job.deleted", user_id=user.id, target_id=job_id)
