"""Feedback on interviews: one row per interview, re-scored in place.

The feedback body quotes the candidate's answers, so it is encrypted with the
``FieldCipher`` before it reaches the database; ``summary`` holds only numbers (rubric
scores and delivery metrics) so that progress over time can be read without decrypting.
Every read is scoped to the owner: another user's interview reads as missing.
"""

from __future__ import annotations

import json
from typing import Any

from storage._util import utcnow
from storage.crypto import FieldCipher
from storage.database import Executor
from storage.types import Feedback, Row, from_row


class FeedbackRepository:
    def __init__(self, db: Executor, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    def _feedback(self, row: Row) -> Feedback:
        body = row["body"]
        return from_row(
            Feedback,
            row,
            generation=int(row["generation"]),
            summary=json.loads(row["summary"]),
            body=self._cipher.decrypt_json(body) if body is not None else None,
        )

    async def request(self, *, user_id: str, interview_id: str) -> Feedback:
        """Ask for (re-)scoring: the row becomes ``pending`` with the next generation.
        The previous body stays readable until the new one replaces it."""
        now = utcnow()
        row = await self._db.fetchrow(
            "INSERT INTO interview_feedback (interview_id, user_id, status, generation,"
            " summary, created_at, updated_at) VALUES ($1, $2, 'pending', 1, '{}', $3, $3)"
            " ON CONFLICT (interview_id) DO UPDATE SET status = 'pending',"
            " generation = interview_feedback.generation + 1, error_code = NULL,"
            " updated_at = $3 RETURNING *",
            interview_id,
            user_id,
            now,
        )
        assert row is not None
        return self._feedback(row)

    async def get(self, user_id: str, interview_id: str) -> Feedback | None:
        row = await self._db.fetchrow(
            "SELECT * FROM interview_feedback WHERE interview_id = $1 AND user_id = $2",
            interview_id,
            user_id,
        )
        return self._feedback(row) if row else None

    async def claim(self, user_id: str, interview_id: str, generation: int) -> bool:
        """Start scoring ``generation``; False when it is finished or superseded."""
        changed = await self._db.execute(
            "UPDATE interview_feedback SET status = 'scoring', updated_at = $4"
            " WHERE interview_id = $1 AND user_id = $2 AND generation = $3"
            " AND status IN ('pending', 'scoring')",
            interview_id,
            user_id,
            generation,
            utcnow(),
        )
        return changed == 1

    async def save(
        self,
        user_id: str,
        interview_id: str,
        generation: int,
        *,
        source: str,
        model: str | None,
        prompt_version: str,
        summary: dict[str, Any],
        body: dict[str, Any],
    ) -> bool:
        """Store the result of ``generation``; False when a newer request superseded it."""
        changed = await self._db.execute(
            "UPDATE interview_feedback SET status = 'ready', source = $4, model = $5,"
            " prompt_version = $6, summary = $7, body = $8, error_code = NULL, updated_at = $9"
            " WHERE interview_id = $1 AND user_id = $2 AND generation = $3"
            " AND status IN ('pending', 'scoring')",
            interview_id,
            user_id,
            generation,
            source,
            model,
            prompt_version,
            json.dumps(summary, sort_keys=True),
            self._cipher.encrypt_json(body),
            utcnow(),
        )
        return changed == 1

    async def mark_failed(
        self, user_id: str, interview_id: str, generation: int, error_code: str
    ) -> None:
        await self._db.execute(
            "UPDATE interview_feedback SET status = 'failed', error_code = $4, updated_at = $5"
            " WHERE interview_id = $1 AND user_id = $2 AND generation = $3",
            interview_id,
            user_id,
            generation,
            error_code,
            utcnow(),
        )

    async def list_ready(self, user_id: str, *, limit: int = 200) -> list[Feedback]:
        """The owner's scored interviews, oldest first, without their bodies (progress)."""
        rows = await self._db.fetch(
            "SELECT interview_id, user_id, status, generation, source, model, prompt_version,"
            " summary, NULL AS body, error_code, created_at, updated_at"
            " FROM interview_feedback WHERE user_id = $1 AND summary <> '{}'"
            " ORDER BY created_at LIMIT $2",
            user_id,
            limit,
        )
        return [self._feedback(row) for row in rows]
