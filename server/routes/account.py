"""The caller's own account: audit log, export, retention schedule, deletion."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from server import export
from server.api import MAX_DATABASE_INT, ApiRouter
from server.auth.reauth import confirm_password, require_recent_sign_in
from server.context import audit, services
from server.routes.models import FromRecord, Strict
from storage._util import utcnow
from storage.types import User

log = logging.getLogger("intrvuer.account")

router = ApiRouter(tags=["account"])


class AuditQuery(Strict):
    limit: int = Field(default=50, ge=1, le=200)
    before: int | None = Field(
        default=None, ge=1, le=MAX_DATABASE_INT, description="An event id: older events."
    )


class AuditEventOut(FromRecord):
    id: int
    action: str
    target_id: str | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any]
    created_at: datetime


class AuditPage(BaseModel):
    events: list[AuditEventOut]
    next_before: int | None = Field(description="Pass as ``before`` for the next page.")


class ExportQuery(Strict):
    format: Literal["json", "zip"] = "json"


class RetentionOut(BaseModel):
    completed_interviews_days: int
    archived_resumes_days: int
    audit_events_days: int
    description: str


class AccountDeletion(Strict):
    password: str | None = Field(
        default=None,
        max_length=1024,
        description="Required for accounts with a password; others need a recent sign-in.",
    )


@router.get("/v1/account/audit", query=AuditQuery, response=AuditPage)
async def list_audit(request: Request, user: User, query: AuditQuery) -> AuditPage:
    """The caller's own audit events, newest first, a page at a time."""
    events = await services(request).audit_repository.list_for_user(
        user.id, limit=query.limit, before_id=query.before
    )
    next_before = events[-1].id if len(events) == query.limit else None
    return AuditPage(events=[AuditEventOut.of(e) for e in events], next_before=next_before)


@router.get(
    "/v1/account/export",
    query=ExportQuery,
    response_media="application/json",
    extra_responses={200: {"content": {"application/zip": {}}}},
)
async def export_account(request: Request, user: User, query: ExportQuery) -> Response:
    """Everything the account holds, as JSON or as a ZIP with the original files."""
    svc = services(request)
    await audit(request, "account.exported", user_id=user.id, details={"format": query.format})
    stamp = utcnow().strftime("%Y%m%d")
    headers = {"cache-control": "private, no-store"}
    if query.format == "zip":
        spool = await export.build_zip(svc.db, svc.cipher, user)
        headers["content-disposition"] = f'attachment; filename="intrvuer-export-{stamp}.zip"'
        return StreamingResponse(
            export.file_chunks(spool), media_type="application/zip", headers=headers
        )
    headers["content-disposition"] = f'attachment; filename="intrvuer-export-{stamp}.json"'
    return StreamingResponse(
        export.json_chunks(svc.db, svc.cipher, user),
        media_type="application/json",
        headers=headers,
    )


@router.get("/v1/account/retention", response=RetentionOut)
async def retention(request: Request, user: User) -> RetentionOut:
    """How long the caller's data is kept."""
    settings = services(request).settings
    return RetentionOut(
        completed_interviews_days=settings.retention_interview_days,
        archived_resumes_days=settings.retention_archived_resume_days,
        audit_events_days=settings.retention_audit_days,
        description=(
            "Completed interviews (with transcripts and feedback) are deleted"
            f" {settings.retention_interview_days} days after they end, archived resumes"
            f" {settings.retention_archived_resume_days} days after archiving, and audit"
            f" events {settings.retention_audit_days} days after they were recorded."
            " Everything else is kept until you delete it or your account."
        ),
    )


@router.delete("/v1/account", body=AccountDeletion, status=204, errors=(403, 429))
async def delete_account(request: Request, user: User, body: AccountDeletion) -> None:
    """Delete the account and everything it holds; one audit entry records the deletion."""
    from server.privacy import delete_account as erase

    svc = services(request)
    if user.password_hash is not None:
        await confirm_password(request, user, body.password or "", action="account.delete")
    else:
        await require_recent_sign_in(request, user, action="account.delete")
    interviews = await svc.interviews.ids_for_user(user.id)
    await erase(svc.db, svc.queue, user.id)
    for interview_id in interviews:  # what this process holds of them in memory goes too
        svc.live_sessions.forget(interview_id)
        svc.providers.forget_interview(interview_id)
