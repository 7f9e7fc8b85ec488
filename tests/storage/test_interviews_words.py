"""A turn's word timings are records in memory and keep their stored JSON shape
(``word``, ``start``, ``end``, ``confidence``) in the database, on the queue and in the API."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from storage import Database
from storage.crypto import FieldCipher
from storage.interviews import (
    InterviewRepository,
    TurnRepository,
    turn_from_json,
    turn_to_json,
    words_from_json,
    words_to_json,
)
from storage.types import TurnWord
from storage.users import UserRepository
from tests.records import a_turn

WORDS = (TurnWord("I", 0.5, 0.6, 0.99), TurnWord("shipped.", 0.6, 1.1, 0.8))
STORED = [
    {"word": "I", "start": 0.5, "end": 0.6, "confidence": 0.99},
    {"word": "shipped.", "start": 0.6, "end": 1.1, "confidence": 0.8},
]


def test_stored_word_timings_are_read() -> None:
    raw: list[dict[str, Any]] = [
        {"word": "Hi", "start": 1, "end": 1.2, "confidence": 0.9},
        {"word": "x"},
    ]
    assert words_from_json(raw) == (TurnWord("Hi", 1.0, 1.2, 0.9),)


def test_words_keep_the_stored_shape() -> None:
    assert words_to_json(WORDS) == STORED
    assert words_from_json(STORED) == WORDS


def test_a_queued_turn_is_plain_json_and_reads_back_the_same() -> None:
    turn = replace(a_turn("i-1"), words=WORDS, question_end_s=1.5)
    payload = json.loads(json.dumps(turn_to_json(turn)))
    assert payload["words"] == STORED
    assert turn_from_json(payload) == turn


async def test_a_turn_with_words_is_stored_and_read_back(db: Database) -> None:
    cipher = FieldCipher([FieldCipher.generate_key()])
    user = await UserRepository(db).create(email="w@example.org", name="W", password_hash=None)
    interview = await InterviewRepository(db, cipher).create(
        user_id=user.id, kind="technical", questions=[], voice="v", plan_source="offline"
    )
    turns = TurnRepository(db, cipher)
    turn = replace(a_turn(interview.id), words=WORDS)
    await turns.save(turn)
    stored = await turns.get(interview.id, 1)
    assert stored is not None and stored.words == WORDS
    row = await db.fetchrow(
        "SELECT words FROM interview_turns WHERE interview_id = $1", interview.id
    )
    assert row is not None and cipher.open_json(row["words"]) == STORED
