"""The declared schema, and reading the actual one back from either backend.

A test builds a database from the migrations and checks it equals ``DECLARED``, so the
migrations of the two backends cannot drift apart or from what the code expects.
"""

from __future__ import annotations

from storage.database import Database

# table -> column -> (portable type, nullable)
Columns = dict[str, tuple[str, bool]]

DECLARED: dict[str, Columns] = {
    "schema_migrations": {
        "version": ("integer", False),
        "name": ("text", False),
        "applied_at": ("timestamp", False),
    },
    "users": {
        "id": ("text", False),
        "email": ("text", False),
        "email_verified": ("boolean", False),
        "name": ("text", False),
        "password_hash": ("text", True),
        "preferences": ("text", False),
        "age_confirmed_at": ("timestamp", True),
        "created_at": ("timestamp", False),
        "updated_at": ("timestamp", False),
        "last_login_at": ("timestamp", True),
        "policy_acked_version": ("text", True),
    },
    "user_identities": {
        "provider": ("text", False),
        "subject": ("text", False),
        "user_id": ("text", False),
        "email": ("text", True),
        "created_at": ("timestamp", False),
    },
    "refresh_tokens": {
        "id": ("text", False),
        "user_id": ("text", False),
        "family_id": ("text", False),
        "token_hash": ("text", False),
        "created_at": ("timestamp", False),
        "expires_at": ("timestamp", False),
        "used_at": ("timestamp", True),
        "revoked_at": ("timestamp", True),
        "auth_time": ("timestamp", True),
        "user_agent": ("text", True),
        "ip_prefix": ("text", True),
    },
    "email_tokens": {
        "token_hash": ("text", False),
        "purpose": ("text", False),
        "user_id": ("text", False),
        "email": ("text", False),
        "created_at": ("timestamp", False),
        "expires_at": ("timestamp", False),
        "used_at": ("timestamp", True),
    },
    "policy_versions": {
        "version": ("text", False),
        "summary": ("text", False),
        "material": ("boolean", False),
        "published_at": ("timestamp", False),
    },
    "policy_notices": {
        "version": ("text", False),
        "user_id": ("text", False),
        "queued_at": ("timestamp", False),
    },
    "oauth_states": {
        "state": ("text", False),
        "provider": ("text", False),
        "code_verifier": ("text", False),
        "redirect_to": ("text", False),
        "created_at": ("timestamp", False),
        "expires_at": ("timestamp", False),
    },
    "audit_events": {
        "id": ("integer", False),
        "user_id": ("text", True),
        "action": ("text", False),
        "target_id": ("text", True),
        "ip": ("text", True),
        "user_agent": ("text", True),
        "details": ("text", False),
        "created_at": ("timestamp", False),
    },
    "jobs": {
        "id": ("text", False),
        "kind": ("text", False),
        "payload": ("text", False),
        "idempotency_key": ("text", True),
        "user_id": ("text", True),
        "status": ("text", False),
        "attempts": ("integer", False),
        "max_attempts": ("integer", False),
        "available_at": ("timestamp", False),
        "locked_by": ("text", True),
        "locked_until": ("timestamp", True),
        "last_error": ("text", True),
        "created_at": ("timestamp", False),
        "updated_at": ("timestamp", False),
    },
    "interviews": {
        "id": ("text", False),
        "user_id": ("text", False),
        "kind": ("text", False),
        "status": ("text", False),
        "resume_id": ("text", True),
        "job_id": ("text", True),
        "question_count": ("integer", False),
        "voice": ("text", False),
        "questions": ("text", False),
        "plan_source": ("text", False),
        "end_reason": ("text", True),
        "created_at": ("timestamp", False),
        "started_at": ("timestamp", True),
        "ended_at": ("timestamp", True),
        "last_activity_at": ("timestamp", True),
    },
    "interview_turns": {
        "interview_id": ("text", False),
        "turn": ("integer", False),
        "question": ("text", False),
        "question_index": ("integer", True),
        "interrupted": ("boolean", False),
        "answer": ("text", False),
        "words": ("text", False),
        "answer_audio_s": ("real", False),
        "metrics": ("text", False),
        "interviewer_source": ("text", False),
        "created_at": ("timestamp", False),
        "question_end_s": ("real", True),
        "question_audio_s": ("real", True),
    },
    "resumes": {
        "id": ("text", False),
        "user_id": ("text", False),
        "filename": ("text", False),
        "content_type": ("text", False),
        "size": ("integer", False),
        "sha256": ("text", False),
        "file": ("bytes", False),
        "text": ("text", False),
        "status": ("text", False),
        "error_code": ("text", True),
        "parsed": ("text", True),
        "parser": ("text", True),
        "parser_version": ("integer", True),
        "archived_at": ("timestamp", True),
        "created_at": ("timestamp", False),
        "updated_at": ("timestamp", False),
    },
    "job_descriptions": {
        "id": ("text", False),
        "user_id": ("text", False),
        "text": ("text", False),
        "status": ("text", False),
        "error_code": ("text", True),
        "parsed": ("text", True),
        "parser": ("text", True),
        "parser_version": ("integer", True),
        "created_at": ("timestamp", False),
        "updated_at": ("timestamp", False),
    },
    "interview_feedback": {
        "interview_id": ("text", False),
        "user_id": ("text", False),
        "status": ("text", False),
        "generation": ("integer", False),
        "source": ("text", True),
        "model": ("text", True),
        "prompt_version": ("text", True),
        "summary": ("text", False),
        "body": ("text", True),
        "error_code": ("text", True),
        "created_at": ("timestamp", False),
        "updated_at": ("timestamp", False),
    },
    "quizzes": {
        "id": ("text", False),
        "user_id": ("text", False),
        "job_id": ("text", True),
        "resume_id": ("text", True),
        "interview_id": ("text", True),
        "source": ("text", False),
        "question_count": ("integer", False),
        "questions": ("text", False),
        "created_at": ("timestamp", False),
    },
    "quiz_attempts": {
        "id": ("text", False),
        "quiz_id": ("text", False),
        "user_id": ("text", False),
        "grader": ("text", False),
        "score": ("real", False),
        "answers": ("text", False),
        "results": ("text", False),
        "created_at": ("timestamp", False),
    },
    "live_tickets": {
        "ticket_hash": ("text", False),
        "user_id": ("text", False),
        "interview_id": ("text", False),
        "created_at": ("timestamp", False),
        "expires_at": ("timestamp", False),
        "used_at": ("timestamp", True),
    },
}

_PORTABLE = {
    "text": "text",
    "integer": "integer",
    "bigint": "integer",
    "boolean": "boolean",
    "timestamptz": "timestamp",
    "timestamp with time zone": "timestamp",
    "bytea": "bytes",
    "blob": "bytes",
    "double precision": "real",
    "real": "real",
}


async def inspect(db: Database) -> dict[str, Columns]:
    """The tables and columns the database actually has, in portable types."""
    result: dict[str, Columns] = {}
    if db.dialect == "postgres":
        rows = await db.fetch(
            "SELECT table_name, column_name, data_type, is_nullable"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
        )
        for row in rows:
            result.setdefault(row["table_name"], {})[row["column_name"]] = (
                _PORTABLE.get(row["data_type"].lower(), row["data_type"].lower()),
                row["is_nullable"] == "YES",
            )
        return result
    tables = await db.fetch(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    for table in tables:
        name = table["name"]
        for column in await db.fetch(f"PRAGMA table_info('{name}')"):
            declared = column["type"].lower()
            # SQLite lets an INTEGER PRIMARY KEY be NULL in its metadata; it never is.
            nullable = not column["notnull"] and not column["pk"]
            result.setdefault(name, {})[column["name"]] = (
                _PORTABLE.get(declared, declared),
                nullable,
            )
    return result
