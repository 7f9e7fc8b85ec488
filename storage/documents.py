"""Resumes and job descriptions. Every query is scoped to the owner: another user's id
reads as missing.

The original file, its name, the extracted text and the parsed record are the sensitive
columns (``file``, ``filename``, ``text``, ``parsed``); they are read and written only
here, and always as Fernet tokens of the repository's ``FieldCipher``.
"""

from __future__ import annotations

import abc
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Any, Final, Generic, Literal, TypeVar

from storage._util import new_id, utcnow
from storage.crypto import FieldCipher
from storage.database import Executor
from storage.types import JobDescription, Resume, Row, StoredFile, from_row

Status = Literal["pending", "parsing", "ready", "failed"]

# Every column but the large and sensitive ones, for reads that do not need them.
_RESUME_COLUMNS: Final = (
    "id, user_id, filename, content_type, size, sha256, status, error_code, parsed, parser,"
    " parser_version, archived_at, created_at, updated_at"
)
# Which table a status change applies to. Queries here interpolate only this and the
# column lists, constants of this module (hence the S608 exemptions).
_Table = Literal["resumes", "job_descriptions"]
Document = TypeVar("Document", Resume, JobDescription)


def _encode(cipher: FieldCipher, parsed: dict[str, Any]) -> str:
    return cipher.encrypt_text(json.dumps(parsed, ensure_ascii=False, sort_keys=True))


def _decode(cipher: FieldCipher, raw: str | None) -> dict[str, Any] | None:
    return cipher.open_json(raw) if raw is not None else None


class _ParseState(abc.ABC, Generic[Document]):
    """What both kinds of document share: reading one, and the status changes they go
    through, pending -> parsing -> ready | failed. A finished document is not parsed
    again (redelivered jobs)."""

    _table: _Table
    _columns: str  # what a read returns

    def __init__(self, db: Executor, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    @abc.abstractmethod
    def _record(self, row: Row) -> Document:
        """The record of a row of ``_columns``, its sensitive fields opened."""

    async def get(self, user_id: str, document_id: str) -> Document | None:
        row = await self._db.fetchrow(
            f"SELECT {self._columns} FROM {self._table} WHERE id = $1 AND user_id = $2",  # noqa: S608
            document_id,
            user_id,
        )
        return self._record(row) if row else None

    async def text(self, user_id: str, document_id: str) -> str | None:
        """The document's text, for parsing; None if it is gone."""
        value = await self._db.fetchval(
            f"SELECT text FROM {self._table} WHERE id = $1 AND user_id = $2",  # noqa: S608
            document_id,
            user_id,
        )
        return self._cipher.open_text(str(value)) if value is not None else None

    async def status(self, user_id: str, document_id: str) -> str | None:
        value = await self._db.fetchval(
            f"SELECT status FROM {self._table} WHERE id = $1 AND user_id = $2",  # noqa: S608
            document_id,
            user_id,
        )
        return str(value) if value is not None else None

    async def mark_parsing(self, user_id: str, document_id: str) -> bool:
        """Claim the document for parsing; False if it is finished or gone."""
        changed = await self._db.execute(
            f"UPDATE {self._table} SET status = 'parsing', updated_at = $3"  # noqa: S608
            " WHERE id = $1 AND user_id = $2 AND status IN ('pending', 'parsing')",
            document_id,
            user_id,
            utcnow(),
        )
        return changed == 1

    async def save_parsed(
        self, user_id: str, document_id: str, *, parsed: dict[str, Any], parser: str, version: int
    ) -> bool:
        changed = await self._db.execute(
            f"UPDATE {self._table} SET status = 'ready', error_code = NULL,"  # noqa: S608
            " parsed = $3, parser = $4, parser_version = $5, updated_at = $6"
            " WHERE id = $1 AND user_id = $2 AND status IN ('pending', 'parsing')",
            document_id,
            user_id,
            _encode(self._cipher, parsed),
            parser,
            version,
            utcnow(),
        )
        return changed == 1

    async def mark_failed(self, user_id: str, document_id: str, error_code: str) -> bool:
        changed = await self._db.execute(
            f"UPDATE {self._table} SET status = 'failed', error_code = $3,"  # noqa: S608
            " updated_at = $4 WHERE id = $1 AND user_id = $2 AND status IN ('pending', 'parsing')",
            document_id,
            user_id,
            error_code,
            utcnow(),
        )
        return changed == 1

    async def delete(self, user_id: str, document_id: str) -> bool:
        changed = await self._db.execute(
            f"DELETE FROM {self._table} WHERE id = $1 AND user_id = $2",  # noqa: S608
            document_id,
            user_id,
        )
        return changed == 1

    @contextlib.asynccontextmanager
    async def taken_back_on_failure(self, user_id: str, document_id: str) -> AsyncIterator[None]:
        """Delete the document again if the block fails: one whose parse was never queued
        would stay pending for ever."""
        try:
            yield
        except BaseException:
            await self.delete(user_id, document_id)
            raise


class ResumeRepository(_ParseState[Resume]):
    """Uploaded resumes: the original file, its text, and its parse."""

    _table = "resumes"
    _columns = _RESUME_COLUMNS

    def _record(self, row: Row) -> Resume:
        return from_row(
            Resume,
            row,
            filename=self._cipher.open_text(row["filename"]),
            size=int(row["size"]),
            parsed=_decode(self._cipher, row["parsed"]),
        )

    async def create(
        self,
        *,
        user_id: str,
        filename: str,
        content_type: str,
        sha256: str,
        data: bytes,
        text: str,
    ) -> Resume:
        now = utcnow()
        row = await self._db.fetchrow(
            "INSERT INTO resumes (id, user_id, filename, content_type, size, sha256, file, text,"  # noqa: S608
            " status, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'pending', $9, $9)"
            f" RETURNING {_RESUME_COLUMNS}",
            new_id(),
            user_id,
            # Often the candidate's own name ("Ada Lovelace CV.pdf").
            self._cipher.encrypt_text(filename),
            content_type,
            len(data),
            sha256,
            self._cipher.encrypt(data),
            self._cipher.encrypt_text(text),
            now,
        )
        assert row is not None
        return self._record(row)

    async def list_for_user(
        self, user_id: str, *, include_archived: bool = False, limit: int = 100
    ) -> list[Resume]:
        """The owner's resumes, newest first; archived ones only when asked for."""
        rows = await self._db.fetch(
            f"SELECT {_RESUME_COLUMNS} FROM resumes"  # noqa: S608
            " WHERE user_id = $1 AND ($2 OR archived_at IS NULL)"
            " ORDER BY created_at DESC, id LIMIT $3",
            user_id,
            include_archived,
            limit,
        )
        return [self._record(row) for row in rows]

    async def file(self, user_id: str, resume_id: str) -> StoredFile | None:
        """The original upload, as it came."""
        row = await self._db.fetchrow(
            "SELECT filename, content_type, file FROM resumes WHERE id = $1 AND user_id = $2",
            resume_id,
            user_id,
        )
        if row is None:
            return None
        return StoredFile(
            filename=self._cipher.open_text(row["filename"]),
            content_type=row["content_type"],
            data=self._cipher.open_bytes(row["file"]),
        )

    async def set_archived(self, user_id: str, resume_id: str, archived: bool) -> Resume | None:
        """Archive (hide from the default list) or unarchive; the resume, or None."""
        now = utcnow()
        row = await self._db.fetchrow(
            "UPDATE resumes SET archived_at = CASE WHEN $3 THEN COALESCE(archived_at, $4)"  # noqa: S608
            " ELSE NULL END, updated_at = $4 WHERE id = $1 AND user_id = $2"
            f" RETURNING {_RESUME_COLUMNS}",
            resume_id,
            user_id,
            archived,
            now,
        )
        return self._record(row) if row else None


class JobRepository(_ParseState[JobDescription]):
    """Job descriptions pasted by their owner, and their parse."""

    _table = "job_descriptions"
    _columns = "*"

    def _record(self, row: Row) -> JobDescription:
        return from_row(
            JobDescription,
            row,
            text=self._cipher.open_text(row["text"]),
            parsed=_decode(self._cipher, row["parsed"]),
        )

    async def create(self, *, user_id: str, text: str) -> JobDescription:
        now = utcnow()
        row = await self._db.fetchrow(
            "INSERT INTO job_descriptions (id, user_id, text, status, created_at, updated_at)"
            " VALUES ($1, $2, $3, 'pending', $4, $4) RETURNING *",
            new_id(),
            user_id,
            self._cipher.encrypt_text(text),
            now,
        )
        assert row is not None
        return self._record(row)

    async def list_for_user(self, user_id: str, *, limit: int = 100) -> list[JobDescription]:
        rows = await self._db.fetch(
            "SELECT * FROM job_descriptions WHERE user_id = $1"
            " ORDER BY created_at DESC, id LIMIT $2",
            user_id,
            limit,
        )
        return [self._record(row) for row in rows]
