"""Interviews and their finalized turns.

The planned questions (drawn from the resume) and every turn's question, answer and words
are sensitive: they are stored as Fernet tokens of the repository's ``FieldCipher``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from storage._util import new_id, utcnow
from storage.crypto import FieldCipher
from storage.database import Executor
from storage.types import (
    Interview,
    InterviewKind,
    InterviewTurn,
    PlannedQuestion,
    Row,
    TurnWord,
    from_row,
)


@dataclass(frozen=True, slots=True)
class IdleInterview:
    id: str
    user_id: str
    end_reason: str | None  # "disconnected" when its socket closed; None if its server died


class TurnConflict(Exception):
    """Another turn with the same number is stored already: saving this one would lose it."""

    def __init__(self, interview_id: str, turn: int) -> None:
        super().__init__(f"turn {turn} of interview {interview_id} is stored with other content")
        self.interview_id = interview_id
        self.turn = turn


def _interview(cipher: FieldCipher, row: Row) -> Interview:
    return from_row(
        Interview,
        row,
        question_count=int(row["question_count"]),
        questions=tuple(
            PlannedQuestion.from_json(item) for item in cipher.open_json(row["questions"])
        ),
    )


def _turn(cipher: FieldCipher, row: Row) -> InterviewTurn:
    return from_row(
        InterviewTurn,
        row,
        turn=int(row["turn"]),
        question=cipher.open_text(row["question"]),
        interrupted=bool(row["interrupted"]),
        answer=cipher.open_text(row["answer"]),
        words=words_from_json(cipher.open_json(row["words"])),
        answer_audio_s=float(row["answer_audio_s"]),
        metrics=json.loads(row["metrics"]),
        question_end_s=_optional_float(row["question_end_s"]),
        question_audio_s=_optional_float(row["question_audio_s"]),
    )


def words_to_json(words: Iterable[TurnWord]) -> list[dict[str, Any]]:
    """Word timings as turns store them, and as the API and the export show them."""
    return [
        {"word": w.word, "start": w.start_s, "end": w.end_s, "confidence": w.confidence}
        for w in words
    ]


def words_from_json(raw: Iterable[Mapping[str, Any]]) -> tuple[TurnWord, ...]:
    """Stored word timings; an entry without a word or its times is left out."""
    found: list[TurnWord] = []
    for item in raw:
        try:
            word = TurnWord(
                str(item["word"]),
                float(item["start"]),
                float(item["end"]),
                float(item.get("confidence", 1.0)),
            )
        except (KeyError, TypeError, ValueError):
            continue
        found.append(word)
    return tuple(found)


def turn_to_json(turn: InterviewTurn) -> dict[str, Any]:
    """A turn as JSON-ready values (a queued job's payload), words as they are stored."""
    values = asdict(turn)
    values["words"] = words_to_json(turn.words)
    values["created_at"] = turn.created_at.isoformat()
    return values


def turn_from_json(values: Mapping[str, Any]) -> InterviewTurn:
    """The turn ``turn_to_json`` gave."""
    return InterviewTurn(
        **{
            **values,
            "words": words_from_json(values["words"]),
            "created_at": datetime.fromisoformat(values["created_at"]),
        }
    )


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)


class InterviewRepository:
    """Every read and write is scoped to the owner: another user's id reads as missing."""

    def __init__(self, db: Executor, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def create(
        self,
        *,
        user_id: str,
        kind: InterviewKind,
        questions: list[PlannedQuestion],
        voice: str,
        plan_source: str,
        resume_id: str | None = None,
        job_id: str | None = None,
        drill_of: str | None = None,
        drill_question: int | None = None,
    ) -> Interview:
        row = await self._db.fetchrow(
            "INSERT INTO interviews (id, user_id, kind, status, resume_id, job_id,"
            " question_count, voice, questions, plan_source, created_at, drill_of,"
            " drill_question)"
            " VALUES ($1, $2, $3, 'created', $4, $5, $6, $7, $8, $9, $10, $11, $12)"
            " RETURNING *",
            new_id(),
            user_id,
            kind,
            resume_id,
            job_id,
            len(questions),
            voice,
            self._cipher.encrypt_json([asdict(question) for question in questions]),
            plan_source,
            utcnow(),
            drill_of,
            drill_question,
        )
        assert row is not None
        return _interview(self._cipher, row)

    async def drills(self, user_id: str, first: str, question: int) -> list[Interview]:
        """The drills of question ``question`` of interview ``first``, oldest first."""
        rows = await self._db.fetch(
            "SELECT * FROM interviews WHERE user_id = $1 AND drill_of = $2"
            " AND drill_question = $3 ORDER BY created_at",
            user_id,
            first,
            question,
        )
        return [_interview(self._cipher, row) for row in rows]

    async def drilled_questions(self, user_id: str, first: str) -> list[int]:
        """Which questions of interview ``first`` have been drilled."""
        rows = await self._db.fetch(
            "SELECT DISTINCT drill_question FROM interviews WHERE user_id = $1"
            " AND drill_of = $2 ORDER BY drill_question",
            user_id,
            first,
        )
        return [int(row["drill_question"]) for row in rows]

    async def get(self, user_id: str, interview_id: str) -> Interview | None:
        row = await self._db.fetchrow(
            "SELECT * FROM interviews WHERE id = $1 AND user_id = $2", interview_id, user_id
        )
        return _interview(self._cipher, row) if row else None

    async def list_for_user(self, user_id: str, *, limit: int = 50) -> list[Interview]:
        rows = await self._db.fetch(
            "SELECT * FROM interviews WHERE user_id = $1 ORDER BY created_at DESC LIMIT $2",
            user_id,
            limit,
        )
        return [_interview(self._cipher, row) for row in rows]

    async def recent_questions(
        self, user_id: str, kind: InterviewKind, *, interviews: int = 3
    ) -> list[frozenset[str]]:
        """The question texts of the user's last ``interviews`` interviews of ``kind``,
        newest first: what a new interview of that kind should not ask again. The
        questions are encrypted, so they are compared here rather than in SQL."""
        rows = await self._db.fetch(
            "SELECT questions FROM interviews WHERE user_id = $1 AND kind = $2"
            " ORDER BY created_at DESC, id DESC LIMIT $3",
            user_id,
            kind,
            interviews,
        )
        return [
            frozenset(str(item["text"]) for item in self._cipher.open_json(row["questions"]))
            for row in rows
        ]

    async def ids_for_user(self, user_id: str) -> list[str]:
        rows = await self._db.fetch("SELECT id FROM interviews WHERE user_id = $1", user_id)
        return [str(row["id"]) for row in rows]

    async def mark_live(self, interview_id: str) -> None:
        """A live session opened: the interview is ``live`` and no longer disconnected."""
        now = utcnow()
        await self._db.execute(
            "UPDATE interviews SET status = 'live', started_at = COALESCE(started_at, $2),"
            " last_activity_at = $2, end_reason = NULL"
            " WHERE id = $1 AND status IN ('created', 'live')",
            interview_id,
            now,
        )

    async def touch(self, interview_id: str, at: datetime | None = None) -> None:
        await self._db.execute(
            "UPDATE interviews SET last_activity_at = $2 WHERE id = $1",
            interview_id,
            at or utcnow(),
        )

    async def mark_disconnected(self, interview_id: str) -> None:
        """The socket closed without ``stop``: the interview stays ``live`` (it may be
        resumed) and remembers why it is idle, for the sweep that concludes it later."""
        await self._db.execute(
            "UPDATE interviews SET end_reason = 'disconnected', last_activity_at = $2"
            " WHERE id = $1 AND status = 'live'",
            interview_id,
            utcnow(),
        )

    async def mark_ended(self, interview_id: str, *, status: str, reason: str) -> bool:
        """End a ``created`` or ``live`` interview; False when it had ended already (so
        that of two concluders only one goes on to audit and score it)."""
        changed = await self._db.execute(
            "UPDATE interviews SET status = $2, end_reason = $3, ended_at = $4"
            " WHERE id = $1 AND status IN ('created', 'live')",
            interview_id,
            status,
            reason,
            utcnow(),
        )
        return changed == 1

    async def reopen_abandoned(self, interview_id: str) -> bool:
        """An answer of an interview concluded as ``abandoned`` arrived late (it was still
        on the queue): it is ``completed`` after all."""
        changed = await self._db.execute(
            "UPDATE interviews SET status = 'completed' WHERE id = $1 AND status = 'abandoned'",
            interview_id,
        )
        return changed == 1

    async def idle_live(self, before: datetime, *, limit: int = 500) -> list[IdleInterview]:
        """Interviews still ``live`` with no sign of life since ``before``, oldest first."""
        rows = await self._db.fetch(
            "SELECT id, user_id, end_reason FROM interviews WHERE status = 'live'"
            " AND COALESCE(last_activity_at, started_at, created_at) < $1"
            " ORDER BY COALESCE(last_activity_at, started_at, created_at) LIMIT $2",
            before,
            limit,
        )
        return [IdleInterview(row["id"], row["user_id"], row["end_reason"]) for row in rows]

    async def owner_and_status(self, interview_id: str) -> tuple[str, str] | None:
        """``(user_id, status)`` of an interview, for background work that has only its id."""
        row = await self._db.fetchrow(
            "SELECT user_id, status FROM interviews WHERE id = $1", interview_id
        )
        return (str(row["user_id"]), str(row["status"])) if row else None

    async def delete(self, user_id: str, interview_id: str) -> bool:
        """Erase the user's interview with its turns, tickets and feedback (they go by
        ``ON DELETE CASCADE``); quizzes made from it stay, no longer linked to it.
        Returns whether there was such an interview."""
        await self._db.execute(
            "UPDATE quizzes SET interview_id = NULL WHERE interview_id = $1 AND user_id = $2",
            interview_id,
            user_id,
        )
        deleted = await self._db.execute(
            "DELETE FROM interviews WHERE id = $1 AND user_id = $2", interview_id, user_id
        )
        return deleted == 1


class TurnRepository:
    def __init__(self, db: Executor, cipher: FieldCipher) -> None:
        self._db = db
        self._cipher = cipher

    async def save(self, turn: InterviewTurn) -> bool:
        """Store a finalized turn; a repeated delivery of the same turn changes nothing.

        A different turn under a number that is taken raises ``TurnConflict``: it is never
        dropped silently."""
        changed = await self._db.execute(
            "INSERT INTO interview_turns (interview_id, turn, question, question_index,"
            " interrupted, answer, words, answer_audio_s, metrics, interviewer_source,"
            " created_at, question_end_s, question_audio_s)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            " ON CONFLICT (interview_id, turn) DO NOTHING",
            turn.interview_id,
            turn.turn,
            self._cipher.encrypt_text(turn.question),
            turn.question_index,
            turn.interrupted,
            self._cipher.encrypt_text(turn.answer),
            self._cipher.encrypt_json(words_to_json(turn.words)),
            turn.answer_audio_s,
            json.dumps(turn.metrics),
            turn.interviewer_source,
            turn.created_at,
            turn.question_end_s,
            turn.question_audio_s,
        )
        if changed == 1:
            return True
        stored = await self.get(turn.interview_id, turn.turn)
        if stored is not None and (stored.question, stored.answer) != (turn.question, turn.answer):
            raise TurnConflict(turn.interview_id, turn.turn)
        return False

    async def set_metrics(self, interview_id: str, turn: int, metrics: dict[str, float]) -> bool:
        """Store the metrics of the reply to a stored turn; False if the turn is not stored
        (yet)."""
        changed = await self._db.execute(
            "UPDATE interview_turns SET metrics = $3 WHERE interview_id = $1 AND turn = $2",
            interview_id,
            turn,
            json.dumps(metrics),
        )
        return bool(changed)

    async def get(self, interview_id: str, turn: int) -> InterviewTurn | None:
        row = await self._db.fetchrow(
            "SELECT * FROM interview_turns WHERE interview_id = $1 AND turn = $2",
            interview_id,
            turn,
        )
        return _turn(self._cipher, row) if row else None

    async def list(self, interview_id: str) -> list[InterviewTurn]:
        rows = await self._db.fetch(
            "SELECT * FROM interview_turns WHERE interview_id = $1 ORDER BY turn", interview_id
        )
        return [_turn(self._cipher, row) for row in rows]
