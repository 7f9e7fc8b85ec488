"""Resumes: upload (PDF or DOCX), list, read with the parse, download, archive, delete.

An upload is checked and its text extracted before anything is stored, so a file that
cannot be read gets its 4xx and leaves nothing behind; the parse then runs on the durable
queue (``server/jobs/documents.py``) and ``status`` says where it stands.
"""

from __future__ import annotations

import hashlib
import logging
import re
import unicodedata
from datetime import datetime
from typing import Final, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from pipeline import cpu
from pipeline.documents.extract import DOCX_TYPE, MAX_FILE_BYTES, extract_text
from pipeline.documents.types import DocumentError, ResumeData
from server.api import ApiRouter
from server.context import audit, services
from server.errors import ApiError
from server.jobs.documents import enqueue_resume_parse
from server.routes.models import FromRecord
from server.routes.owned import owned
from storage.documents import ResumeRepository
from storage.types import Resume, User

log = logging.getLogger("intrvuer.documents")

router = ApiRouter(tags=["resumes"])

# The whole request may be a little larger than the file: multipart headers, boundaries.
UPLOAD_BODY_LIMIT: Final = MAX_FILE_BYTES + 512 * 1024
FILE_FIELD: Final = "file"
_UPLOAD_SCHEMA: Final = {
    "type": "object",
    "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
    "required": [FILE_FIELD],
}
_UNSAFE_NAME = re.compile(r"[\x00-\x1f\x7f<>:\"/\\|?*]+")


class ResumeSummary(FromRecord):
    id: str
    filename: str
    content_type: str
    size: int
    status: Literal["pending", "parsing", "ready", "failed"]
    # why parsing failed (a code), when it did
    error: str | None = Field(validation_alias="error_code")
    parser: str | None  # "heuristic" or "llm:<model>", once parsed
    archived: bool
    archived_at: datetime | None
    uploaded_at: datetime = Field(validation_alias="created_at")
    updated_at: datetime


class ResumeOut(ResumeSummary):
    parsed: ResumeData | None  # once ``status`` is ready


class ResumeList(BaseModel):
    resumes: list[ResumeSummary]


class ResumeQuery(BaseModel):
    include_archived: bool = False


def clean_filename(name: str | None, *, default: str) -> str:
    """The name a user gave the file, made safe to store and to send back: no folders,
    no control or reserved characters, at most 200 characters."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE_NAME.sub("_", name).strip(" ._")
    # Lone surrogates (from a badly encoded header) cannot be stored; drop them.
    name = name.encode("utf-8", "ignore").decode("utf-8")
    return name[:200] or default


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name per RFC 6266."""
    ascii_name = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


async def owned_resume(request: Request, user: User, resume_id: str) -> Resume:
    return await owned(services(request).resumes.get, user, resume_id, "resume")


async def _read_upload(request: Request) -> tuple[str | None, bytes]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "multipart/form-data":
        raise ApiError(
            415,
            "unsupported_media_type",
            f"Send the file as multipart/form-data, in a field named {FILE_FIELD!r}.",
        )
    # Bounds on the form itself; the body as a whole is bounded by BodyLimitMiddleware.
    async with request.form(max_files=1, max_fields=4, max_part_size=16 * 1024) as form:
        upload = form.get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            raise ApiError(
                422, "missing_file", f"Attach the resume as a file in the field {FILE_FIELD!r}."
            )
        data = await upload.read(MAX_FILE_BYTES + 1)
        return upload.filename, data


@router.post(
    "/v1/resumes",
    response=ResumeOut,
    status=201,
    content_type="multipart/form-data",
    content_schema=_UPLOAD_SCHEMA,
    errors=(400, 413, 415, 422),
)
async def upload_resume(request: Request, user: User) -> ResumeOut:
    """Upload a resume (PDF or DOCX, at most 10 MB); it is parsed in the background."""
    svc = services(request)
    filename, data = await _read_upload(request)
    if len(data) > MAX_FILE_BYTES:
        raise ApiError(
            413, "file_too_large", f"The file is larger than {MAX_FILE_BYTES // 2**20} MB."
        )
    try:
        # Reading a PDF or DOCX is CPU-bound: in a worker process, off the event loop
        # and out of the interpreter that serves live sessions.
        limit = svc.settings.upload_cpu_limit_s
        extracted = await cpu.run(extract_text, data, cpu_limit_s=limit)
    except cpu.WorkerLost:
        log.warning("reading an upload killed its worker process", extra={"size": len(data)})
        raise ApiError(
            422, "unreadable_document", "The file could not be read; it may be damaged."
        ) from None
    except cpu.CpuLimitExceeded:
        log.warning("reading an upload ran past its CPU limit", extra={"size": len(data)})
        raise ApiError(
            422,
            "unreadable_document",
            "The file took too long to read; save it again as a simpler PDF or DOCX.",
        ) from None
    except DocumentError as error:
        log.info("resume upload refused", extra={"code": error.code, "size": len(data)})
        raise ApiError(error.status, error.code, error.message) from None
    extension = ".docx" if extracted.content_type == DOCX_TYPE else ".pdf"
    repository = ResumeRepository(svc.db, svc.cipher)
    resume = await repository.create(
        user_id=user.id,
        filename=clean_filename(filename, default=f"resume{extension}"),
        content_type=extracted.content_type,
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        text=extracted.text,
    )
    async with repository.taken_back_on_failure(user.id, resume.id):
        await enqueue_resume_parse(svc, user_id=user.id, resume_id=resume.id)
    await audit(
        request,
        "resume.uploaded",
        user_id=user.id,
        target_id=resume.id,
        details={"size": resume.size, "content_type": resume.content_type},
    )
    return ResumeOut.of(resume)


@router.get("/v1/resumes", response=ResumeList, query=ResumeQuery)
async def list_resumes(request: Request, user: User, query: ResumeQuery) -> ResumeList:
    """The caller's resumes, newest first (archived ones with ``include_archived``)."""
    found = await services(request).resumes.list_for_user(
        user.id, include_archived=query.include_archived
    )
    return ResumeList(resumes=[ResumeSummary.of(resume) for resume in found])


@router.get("/v1/resumes/{resume_id}", response=ResumeOut, errors=(404,))
async def get_resume(request: Request, user: User, resume_id: str) -> ResumeOut:
    """A resume with its parse status, and the parsed record once ready."""
    return ResumeOut.of(await owned_resume(request, user, resume_id))


@router.get(
    "/v1/resumes/{resume_id}/file", response_media="application/octet-stream", errors=(404,)
)
async def download_resume(request: Request, user: User, resume_id: str) -> Response:
    """The original file, as uploaded."""
    stored = await services(request).resumes.file(user.id, resume_id)
    if stored is None:
        raise ApiError(404, "not_found", "No such resume.")
    return Response(
        stored.data,
        media_type=stored.content_type,
        headers={
            "content-disposition": content_disposition(stored.filename),
            "cache-control": "private, no-store",
        },
    )


@router.post("/v1/resumes/{resume_id}/archive", response=ResumeOut, errors=(404,))
async def archive_resume(request: Request, user: User, resume_id: str) -> ResumeOut:
    """Archive a resume: it leaves the default list but is kept."""
    return await _set_archived(request, user, resume_id, archived=True)


@router.post("/v1/resumes/{resume_id}/unarchive", response=ResumeOut, errors=(404,))
async def unarchive_resume(request: Request, user: User, resume_id: str) -> ResumeOut:
    """Bring an archived resume back to the list."""
    return await _set_archived(request, user, resume_id, archived=False)


async def _set_archived(
    request: Request, user: User, resume_id: str, *, archived: bool
) -> ResumeOut:
    resume = await services(request).resumes.set_archived(user.id, resume_id, archived)
    if resume is None:
        raise ApiError(404, "not_found", "No such resume.")
    action = "resume.archived" if archived else "resume.unarchived"
    await audit(request, action, user_id=user.id, target_id=resume.id)
    return ResumeOut.of(resume)


@router.delete("/v1/resumes/{resume_id}", status=204, errors=(404,))
async def delete_resume(request: Request, user: User, resume_id: str) -> None:
    """Delete a resume: the file, its text and its parse."""
    if not await services(request).resumes.delete(user.id, resume_id):
        raise ApiError(404, "not_found", "No such resume.")
    await audit(request, "resume.deleted", user_id=user.id, target_id=resume_id)
