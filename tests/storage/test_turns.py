"""Interview turns and the interview lifecycle in storage, on every backend: a redelivered
turn changes nothing, a different turn under a taken number is never dropped silently, and
interviews idle past their window are found for the sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest

from storage import Database
from storage._util import utcnow
from storage.crypto import FieldCipher
from storage.interviews import InterviewRepository, TurnConflict, TurnRepository
from storage.users import UserRepository
from tests.records import a_turn


async def _interview(db: Database, cipher: FieldCipher) -> tuple[str, str]:
    user = await UserRepository(db).create(email="t@example.org", name="T", password_hash=None)
    interview = await InterviewRepository(db, cipher).create(
        user_id=user.id, kind="behavioral", questions=[], voice="v", plan_source="offline"
    )
    return user.id, interview.id


async def test_a_redelivered_turn_is_kept_once_and_a_different_one_is_refused(
    db: Database,
) -> None:
    cipher = FieldCipher([FieldCipher.generate_key()])
    _, iid = await _interview(db, cipher)
    turns = TurnRepository(db, cipher)
    first = a_turn(iid, 1, "We shipped weekly.")
    assert await turns.save(first) is True
    assert await turns.save(first) is False  # the queue delivered it again
    with pytest.raises(TurnConflict, match="turn 1"):
        await turns.save(a_turn(iid, 1, "A different answer given on another socket."))
    assert [turn.answer for turn in await turns.list(iid)] == ["We shipped weekly."]


async def test_idle_live_interviews_are_found_and_concluded_once(db: Database) -> None:
    cipher = FieldCipher([FieldCipher.generate_key()])
    user_id, iid = await _interview(db, cipher)
    interviews = InterviewRepository(db, cipher)
    await interviews.mark_live(iid)
    assert await interviews.idle_live(utcnow() - timedelta(minutes=1)) == []
    await interviews.mark_disconnected(iid)
    [idle] = await interviews.idle_live(utcnow() + timedelta(seconds=1))
    assert (idle.id, idle.user_id, idle.end_reason) == (iid, user_id, "disconnected")
    await interviews.mark_live(iid)  # a reconnect clears the disconnect
    [idle] = await interviews.idle_live(utcnow() + timedelta(seconds=1))
    assert idle.end_reason is None
    assert await interviews.mark_ended(iid, status="abandoned", reason="server_restart")
    assert not await interviews.mark_ended(iid, status="completed", reason="disconnected")
    assert await interviews.idle_live(utcnow() + timedelta(days=1)) == []
    assert await interviews.owner_and_status(iid) == (user_id, "abandoned")
    assert await interviews.reopen_abandoned(iid)
    assert await interviews.owner_and_status(iid) == (user_id, "completed")
    assert await interviews.owner_and_status("missing") is None
