"""Parsing resumes and job descriptions on the durable queue.

An upload is stored with status ``pending`` and a job is queued; the handler claims the
document (``parsing``), parses it, and stores the result (``ready``) or a failure code
(``failed``). Delivery is at least once: a document already finished, or deleted in the
meantime, is left alone, so a redelivered job changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Final

from pipeline.documents.parser import Parsed
from server.services import Services
from storage.audit import AuditRepository
from storage.documents import JobRepository, ResumeRepository
from storage.queue import Handler, Job

log = logging.getLogger("intrvuer.documents")

RESUME_PARSE: Final = "resume.parse"
JOB_PARSE: Final = "job.parse"
PARSE_FAILED: Final = "parse_failed"


async def enqueue_resume_parse(svc: Services, *, user_id: str, resume_id: str) -> None:
    await svc.queue.enqueue(
        RESUME_PARSE,
        {"resume_id": resume_id},
        idempotency_key=f"{RESUME_PARSE}:{resume_id}",
        user_id=user_id,
    )


async def enqueue_job_parse(svc: Services, *, user_id: str, job_id: str) -> None:
    await svc.queue.enqueue(
        JOB_PARSE, {"job_id": job_id}, idempotency_key=f"{JOB_PARSE}:{job_id}", user_id=user_id
    )


def handlers(svc: Services) -> dict[str, Handler]:
    """The queue handlers of document parsing, by job kind."""
    resumes = ResumeRepository(svc.db, svc.cipher)
    job_descriptions = JobRepository(svc.db, svc.cipher)
    return {
        RESUME_PARSE: _parsing(
            svc, resumes, "resume_id", "resume.parsed", svc.documents.parse_resume
        ),
        JOB_PARSE: _parsing(svc, job_descriptions, "job_id", "job.parsed", svc.documents.parse_job),
    }


def _parsing(
    svc: Services,
    repository: ResumeRepository | JobRepository,
    id_field: str,
    audit_as: str,
    parse: Callable[[str], Awaitable[Parsed[Any]]],
) -> Handler:
    """The handler of one kind of document, named in the payload by ``id_field``."""

    async def handle(job: Job) -> None:
        document_id = str(job.payload.get(id_field, ""))
        user_id = job.user_id
        if user_id is None or not document_id:
            log.error("document job without an owner or a document", extra={"job_id": job.id})
            return
        text = await repository.text(user_id, document_id)
        if text is None or not await repository.mark_parsing(user_id, document_id):
            return  # deleted since, or finished by an earlier delivery
        try:
            parsed = await parse(text)
        except Exception as error:
            # A bug in a parser, not a passing fault: retrying would fail the same way. The
            # document is marked failed; its text stays out of the log.
            log.error(
                "document parsing raised",
                extra={
                    "kind": job.kind,
                    "document_id": document_id,
                    "job_id": job.id,
                    "error_type": type(error).__name__,
                },
            )
            await repository.mark_failed(user_id, document_id, PARSE_FAILED)
            await _audit(svc, audit_as, user_id, document_id, {"status": "failed"})
            return
        saved = await repository.save_parsed(
            user_id,
            document_id,
            parsed=parsed.data.model_dump(mode="json"),
            parser=parsed.source,
            version=parsed.version,
        )
        if saved:
            await _audit(
                svc, audit_as, user_id, document_id, {"status": "ready", "parser": parsed.source}
            )

    return handle


async def _audit(
    svc: Services, action: str, user_id: str, document_id: str, details: dict[str, str]
) -> None:
    await AuditRepository(svc.db).record(
        action, user_id=user_id, target_id=document_id, details=details
    )
