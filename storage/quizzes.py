"""Quizzes and their graded attempts, scoped to the owner.

A quiz's questions (with the correct answers) and an attempt's answers and results are
encrypted with the ``FieldCipher``: typed answers are the candidate's own words.
"""

from __future__ import annotations

from typing import Any

from storage._util import new_id, utcnow
from storage.crypto import FieldCipher
from storage.database import Executor
from storage.types import Quiz, QuizAttempt, Row, from_row


class QuizRepository:
    def __init__(self, db: Executor, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    def _quiz(self, row: Row) -> Quiz:
        return from_row(Quiz, row, questions=list(self._cipher.decrypt_json(row["questions"])))

    def _attempt(self, row: Row) -> QuizAttempt:
        return from_row(
            QuizAttempt,
            row,
            score=float(row["score"]),
            answers=list(self._cipher.decrypt_json(row["answers"])),
            results=list(self._cipher.decrypt_json(row["results"])),
        )

    async def create(
        self,
        *,
        user_id: str,
        source: str,
        questions: list[dict[str, Any]],
        job_id: str | None = None,
        resume_id: str | None = None,
        interview_id: str | None = None,
    ) -> Quiz:
        row = await self._db.fetchrow(
            "INSERT INTO quizzes (id, user_id, job_id, resume_id, interview_id, source,"
            " question_count, questions, created_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
            new_id(),
            user_id,
            job_id,
            resume_id,
            interview_id,
            source,
            len(questions),
            self._cipher.encrypt_json(questions),
            utcnow(),
        )
        assert row is not None
        return self._quiz(row)

    async def get(self, user_id: str, quiz_id: str) -> Quiz | None:
        row = await self._db.fetchrow(
            "SELECT * FROM quizzes WHERE id = $1 AND user_id = $2", quiz_id, user_id
        )
        return self._quiz(row) if row else None

    async def list_for_user(self, user_id: str, *, limit: int = 50) -> list[Quiz]:
        rows = await self._db.fetch(
            "SELECT * FROM quizzes WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
            user_id,
            limit,
        )
        return [self._quiz(row) for row in rows]

    async def delete(self, user_id: str, quiz_id: str) -> bool:
        changed = await self._db.execute(
            "DELETE FROM quizzes WHERE id = $1 AND user_id = $2", quiz_id, user_id
        )
        return changed == 1

    async def add_attempt(
        self,
        *,
        user_id: str,
        quiz_id: str,
        grader: str,
        score: float,
        answers: list[dict[str, Any]],
        results: list[dict[str, Any]],
    ) -> QuizAttempt:
        row = await self._db.fetchrow(
            "INSERT INTO quiz_attempts (id, quiz_id, user_id, grader, score, answers, results,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
            new_id(),
            quiz_id,
            user_id,
            grader,
            score,
            self._cipher.encrypt_json(answers),
            self._cipher.encrypt_json(results),
            utcnow(),
        )
        assert row is not None
        return self._attempt(row)

    async def attempts(self, user_id: str, quiz_id: str) -> list[QuizAttempt]:
        rows = await self._db.fetch(
            "SELECT * FROM quiz_attempts WHERE quiz_id = $1 AND user_id = $2 ORDER BY created_at",
            quiz_id,
            user_id,
        )
        return [self._attempt(row) for row in rows]
