"""The storage contract: every backend behaves the same for every repository."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage import Database
from storage.audit import AuditRepository
from storage.tokens import OAuthStateRepository, RefreshTokenRepository
from storage.types import OAuthState
from storage.users import EmailTaken, UserRepository


async def test_user_create_and_lookup(db: Database) -> None:
    users = UserRepository(db)
    user = await users.create(email=" Ada@Example.org ", name="Ada", password_hash="h")
    assert user.email == "ada@example.org"
    assert user.created_at.tzinfo is not None
    assert user.email_verified is False
    assert (await users.get_by_email("ADA@example.org")) == user
    assert (await users.get(user.id)) == user
    assert await users.get("missing") is None


async def test_duplicate_email_is_refused(db: Database) -> None:
    users = UserRepository(db)
    await users.create(email="a@example.org", name="A", password_hash=None)
    with pytest.raises(EmailTaken):
        await users.create(email="A@example.org", name="B", password_hash=None)


async def test_profile_update_merges_preferences(db: Database) -> None:
    users = UserRepository(db)
    user = await users.create(email="p@example.org", name="P", password_hash=None)
    await users.update_profile(user.id, preferences={"theme": "dark"})
    updated = await users.update_profile(user.id, name="Pat", preferences={"lang": "en"})
    assert updated is not None
    assert updated.name == "Pat"
    assert updated.preferences == {"theme": "dark", "lang": "en"}
    assert await users.update_profile("missing", name="x") is None


async def test_identities_link_once(db: Database) -> None:
    users = UserRepository(db)
    user = await users.create(email="g@example.org", name="G", password_hash=None)
    await users.link_identity(user.id, provider="google", subject="123", email="g@example.org")
    await users.link_identity(user.id, provider="google", subject="123", email="g@example.org")
    assert (await users.find_identity("google", "123")) == user
    assert await users.find_identity("github", "123") is None


async def test_refresh_token_consume_once_and_revoke_family(db: Database) -> None:
    users, tokens = UserRepository(db), RefreshTokenRepository(db)
    user = await users.create(email="t@example.org", name="T", password_hash=None)
    signed_in = datetime.now(UTC).replace(microsecond=0)
    expires = signed_in + timedelta(days=1)
    first = await tokens.add(
        user_id=user.id, family_id="fam", token_hash="h1", expires_at=expires, auth_time=signed_in
    )
    await tokens.add(
        user_id=user.id, family_id="fam", token_hash="h2", expires_at=expires, auth_time=signed_in
    )
    assert first.auth_time == signed_in
    assert await tokens.consume(first.id) is True
    assert await tokens.consume(first.id) is False
    assert await tokens.revoke_family("fam") == 2
    second = await tokens.get_by_hash("h2")
    assert second is not None and second.revoked_at is not None
    assert await tokens.consume(second.id) is False


async def test_expired_tokens_are_deleted(db: Database) -> None:
    users, tokens = UserRepository(db), RefreshTokenRepository(db)
    user = await users.create(email="e@example.org", name="E", password_hash=None)
    now = datetime.now(UTC)
    await tokens.add(
        user_id=user.id, family_id="f", token_hash="old", expires_at=now, auth_time=None
    )
    await tokens.add(
        user_id=user.id,
        family_id="f",
        token_hash="new",
        expires_at=now + timedelta(hours=1),
        auth_time=None,
    )
    assert await tokens.delete_expired(now + timedelta(seconds=1)) == 1
    assert await tokens.get_by_hash("new") is not None


async def test_oauth_state_taken_once_and_expires(db: Database) -> None:
    states = OAuthStateRepository(db)
    now = datetime.now(UTC)
    await states.put(OAuthState("s1", "google", "verifier", "/", now, now + timedelta(minutes=5)))
    await states.put(OAuthState("s2", "github", "v", "/", now, now - timedelta(seconds=1)))
    taken = await states.take("s1")
    assert taken is not None and taken.code_verifier == "verifier"
    assert await states.take("s1") is None
    assert await states.take("s2") is None


async def test_audit_events_paginate_newest_first(db: Database) -> None:
    audit = AuditRepository(db)
    for index in range(5):
        await audit.record(
            "user.login", user_id="u1", ip="127.0.0.1", user_agent="ua", details={"i": index}
        )
    await audit.record("user.login", user_id="u2")
    page = await audit.list_for_user("u1", limit=3)
    assert [event.details["i"] for event in page] == [4, 3, 2]
    rest = await audit.list_for_user("u1", limit=3, before_id=page[-1].id)
    assert [event.details["i"] for event in rest] == [1, 0]
    assert page[0].ip == "127.0.0.1" and page[0].user_agent == "ua"


async def test_transaction_rolls_back_on_error(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await UserRepository(tx).create(email="r@example.org", name="R", password_hash=None)
            raise RuntimeError("boom")
    assert await UserRepository(db).get_by_email("r@example.org") is None


async def test_iterate_streams_all_rows(db: Database) -> None:
    audit = AuditRepository(db)
    for index in range(450):
        await audit.record("x", user_id="it", details={"i": index})
    seen = [row["id"] async for row in db.iterate("SELECT id FROM audit_events ORDER BY id")]
    assert len(seen) == 450 and seen == sorted(seen)


async def test_advisory_lock_is_exclusive(db: Database) -> None:
    async with db.advisory_lock("purge") as first:
        assert first is True
        async with db.advisory_lock("purge") as second:
            assert second is False
    async with db.advisory_lock("purge") as again:
        assert again is True
