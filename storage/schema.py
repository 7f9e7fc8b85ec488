"""The declared schema, and reading the actual one back from either backend.

A test builds a database from the migrations and checks it equals ``DECLARED``, so the
migrations of the two backends cannot drift apart or from what the code expects.
"""

from __future__ import annotations

import re

from storage.database import Database

# table -> column -> (portable type, nullable)
Columns = dict[str, tuple[str, bool]]

# Written like the column lists of CREATE TABLE, in portable types; "?" marks a nullable
# column. Every column a migration creates is here, and nothing else.
_DECLARATION = """
schema_migrations(version integer, name text, applied_at timestamp)
users(
    id text, email text, email_verified boolean, name text, password_hash text?,
    preferences text, age_confirmed_at timestamp?, created_at timestamp,
    updated_at timestamp, last_login_at timestamp?, policy_acked_version text?
)
user_identities(provider text, subject text, user_id text, email text?, created_at timestamp)
refresh_tokens(
    id text, user_id text, family_id text, token_hash text, created_at timestamp,
    expires_at timestamp, used_at timestamp?, revoked_at timestamp?, auth_time timestamp?,
    user_agent text?, ip_prefix text?
)
email_tokens(
    token_hash text, purpose text, user_id text, email text, created_at timestamp,
    expires_at timestamp, used_at timestamp?
)
policy_versions(version text, summary text, material boolean, published_at timestamp)
policy_notices(version text, user_id text, queued_at timestamp)
oauth_states(
    state text, provider text, code_verifier text, redirect_to text, created_at timestamp,
    expires_at timestamp
)
audit_events(
    id integer, user_id text?, action text, target_id text?, ip text?, user_agent text?,
    details text, created_at timestamp
)
jobs(
    id text, kind text, payload text, idempotency_key text?, user_id text?, status text,
    attempts integer, max_attempts integer, available_at timestamp, locked_by text?,
    locked_until timestamp?, last_error text?, created_at timestamp, updated_at timestamp
)
interviews(
    id text, user_id text, kind text, status text, resume_id text?, job_id text?,
    question_count integer, voice text, questions text, plan_source text, end_reason text?,
    created_at timestamp, started_at timestamp?, ended_at timestamp?,
    last_activity_at timestamp?, drill_of text?, drill_question integer?
)
interview_turns(
    interview_id text, turn integer, question text, question_index integer?,
    interrupted boolean, answer text, words text, answer_audio_s real, metrics text,
    interviewer_source text, created_at timestamp, question_end_s real?,
    question_audio_s real?
)
resumes(
    id text, user_id text, filename text, content_type text, size integer, sha256 text,
    file bytes, text text, status text, error_code text?, parsed text?, parser text?,
    parser_version integer?, archived_at timestamp?, created_at timestamp,
    updated_at timestamp
)
job_descriptions(
    id text, user_id text, text text, status text, error_code text?, parsed text?,
    parser text?, parser_version integer?, created_at timestamp, updated_at timestamp
)
interview_feedback(
    interview_id text, user_id text, status text, generation integer, source text?,
    model text?, prompt_version text?, summary text, body text?, error_code text?,
    created_at timestamp, updated_at timestamp
)
quizzes(
    id text, user_id text, job_id text?, resume_id text?, interview_id text?, source text,
    question_count integer, questions text, created_at timestamp
)
quiz_attempts(
    id text, quiz_id text, user_id text, grader text, score real, answers text,
    results text, created_at timestamp
)
live_tickets(
    ticket_hash text, user_id text, interview_id text, created_at timestamp,
    expires_at timestamp, used_at timestamp?
)
"""


def _parse(declaration: str) -> dict[str, Columns]:
    tables: dict[str, Columns] = {}
    for table, body in re.findall(r"(\w+)\(([^)]*)\)", declaration):
        columns = (column.split() for column in body.split(","))
        tables[table] = {name: (kind.rstrip("?"), kind.endswith("?")) for name, kind in columns}
    return tables


DECLARED: dict[str, Columns] = _parse(_DECLARATION)

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
