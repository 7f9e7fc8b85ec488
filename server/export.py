"""A user's whole account as one machine-readable document (``docs/export-schema.json``).

The JSON is produced as a stream of chunks, a row at a time, so an account of any size is
exported without holding it in memory. The ZIP holds the same JSON (``export.json``) and
every resume's original file byte for byte (``resumes/<id>/<filename>``); it is written to
a spooled temporary file (memory up to a few MiB, then disk) and streamed from there.

Sections are read generically from the tables: a table the schema does not have yet (an
older database) is exported as an empty list; encrypted columns are decrypted with the
server's cipher (``storage.rotation.ENCRYPTED`` lists them).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import tempfile
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any, Final

from storage._util import utcnow
from storage.crypto import FieldCipher
from storage.database import Database
from storage.rotation import ENCRYPTED, existing_tables
from storage.types import User

FORMAT: Final = "intrvuer.export"
VERSION: Final = 1
CHUNK_BYTES: Final = 64 * 1024
# Text columns that hold JSON (after decryption, for the encrypted ones).
_JSON_COLUMNS: Final = frozenset(
    {"parsed", "questions", "words", "metrics", "body", "summary", "answers", "results",
     "preferences", "details"}
)  # fmt: skip
_SECRET_COLUMNS: Final = frozenset({"password_hash"})
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


@dataclass(frozen=True, slots=True)
class Section:
    name: str
    table: str
    query: str  # $1 is the user id; ordered, no LIMIT (the SQLite backend pages with one)


# Identifiers here are constants, never input.
SECTIONS: Final = (
    Section(
        "identities",
        "user_identities",
        "SELECT provider, email, created_at FROM user_identities WHERE user_id = $1"
        " ORDER BY provider, created_at",
    ),
    Section(
        "resumes",
        "resumes",
        "SELECT id, filename, content_type, size, sha256, text, status, error_code, parsed,"
        " parser, parser_version, archived_at, created_at, updated_at FROM resumes"
        " WHERE user_id = $1 ORDER BY created_at, id",
    ),
    Section(
        "job_descriptions",
        "job_descriptions",
        "SELECT * FROM job_descriptions WHERE user_id = $1 ORDER BY created_at, id",
    ),
    Section(
        "interviews",
        "interviews",
        "SELECT * FROM interviews WHERE user_id = $1 ORDER BY created_at, id",
    ),
    Section(
        "interview_turns",
        "interview_turns",
        "SELECT t.* FROM interview_turns t JOIN interviews i ON i.id = t.interview_id"
        " WHERE i.user_id = $1 ORDER BY t.interview_id, t.turn",
    ),
    Section(
        "feedback",
        "interview_feedback",
        "SELECT * FROM interview_feedback WHERE user_id = $1 ORDER BY created_at, interview_id",
    ),
    Section(
        "quizzes", "quizzes", "SELECT * FROM quizzes WHERE user_id = $1 ORDER BY created_at, id"
    ),
    Section(
        "quiz_attempts",
        "quiz_attempts",
        "SELECT * FROM quiz_attempts WHERE user_id = $1 ORDER BY created_at, id",
    ),
    Section(
        "audit_events",
        "audit_events",
        "SELECT id, action, target_id, ip, user_agent, details, created_at FROM audit_events"
        " WHERE user_id = $1 ORDER BY id",
    ),
)

_ENCRYPTED_BY_TABLE: Final = {
    table.name: {column for spec in ENCRYPTED if spec.name == table.name for column in spec.columns}
    for table in ENCRYPTED
}


def zip_member(resume_id: str, filename: str) -> str:
    """Where a resume's original file lies inside the ZIP."""
    safe = _SAFE_NAME.sub("_", filename).strip(" .") or "resume"
    return f"resumes/{resume_id}/{safe}"


def _value(cipher: FieldCipher, table: str, column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in _ENCRYPTED_BY_TABLE.get(table, ()):
        value = cipher.open_text(str(value))
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if column in _JSON_COLUMNS and isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _record(cipher: FieldCipher, table: str, row: Any, *, with_files: bool) -> dict[str, Any]:
    record = {
        column: _value(cipher, table, column, value)
        for column, value in dict(row).items()
        if column not in _SECRET_COLUMNS and column != "user_id"
    }
    if table == "resumes" and with_files:
        record["file"] = zip_member(record["id"], record["filename"])
    return record


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


async def json_chunks(
    db: Database, cipher: FieldCipher, user: User, *, with_files: bool = False
) -> AsyncIterator[bytes]:
    """The export document, in chunks of about ``CHUNK_BYTES``."""
    tables = await existing_tables(db)
    profile = {
        "id": user.id,
        "email": user.email,
        "email_verified": user.email_verified,
        "name": user.name,
        "preferences": user.preferences,
        "has_password": user.password_hash is not None,
        "created_at": user.created_at.isoformat(),
        "updated_at": user.updated_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "age_confirmed_at": user.age_confirmed_at.isoformat() if user.age_confirmed_at else None,
    }
    head = {"format": FORMAT, "version": VERSION, "exported_at": utcnow().isoformat()}
    buffer = bytearray(_dumps(head)[:-1] + b',"profile":' + _dumps(profile))
    for section in SECTIONS:
        buffer += b',"' + section.name.encode() + b'":['
        if section.table in tables:
            first = True
            async for row in db.iterate(section.query, user.id):
                if not first:
                    buffer += b","
                first = False
                buffer += _dumps(_record(cipher, section.table, row, with_files=with_files))
                if len(buffer) >= CHUNK_BYTES:
                    yield bytes(buffer)
                    buffer.clear()
        buffer += b"]"
    buffer += b"}"
    yield bytes(buffer)


async def build_zip(db: Database, cipher: FieldCipher, user: User) -> IO[bytes]:
    """The ZIP export in a spooled temporary file, positioned at its start."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    try:
        archive = zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED)
        with archive:
            with archive.open("export.json", "w", force_zip64=True) as entry:
                async for chunk in json_chunks(db, cipher, user, with_files=True):
                    await asyncio.to_thread(entry.write, chunk)
            async for row in db.iterate(
                "SELECT id, filename FROM resumes WHERE user_id = $1 ORDER BY created_at, id",
                user.id,
            ):
                data = await db.fetchval(
                    "SELECT file FROM resumes WHERE id = $1 AND user_id = $2", row["id"], user.id
                )
                if data is None:  # deleted meanwhile
                    continue
                original = cipher.open_bytes(data)
                filename = cipher.open_text(row["filename"])
                info = zipfile.ZipInfo(zip_member(row["id"], filename))
                info.compress_type = zipfile.ZIP_STORED  # PDFs and DOCX are compressed already
                await asyncio.to_thread(archive.writestr, info, original)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    return spool


async def file_chunks(spool: IO[bytes]) -> AsyncIterator[bytes]:
    """A spooled file's bytes, then the file closed (and, on disk, removed)."""
    try:
        while chunk := await asyncio.to_thread(spool.read, CHUNK_BYTES):
            yield chunk
    finally:
        spool.close()
