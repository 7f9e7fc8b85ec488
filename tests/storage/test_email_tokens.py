"""E-mailed links, sessions and address changes in storage, on every backend: a token is
kept hashed and taken once; a family is one session; an address change is refused when
another account has the address."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from storage import Database
from storage._util import utcnow
from storage.email_tokens import EmailPurpose, EmailTokenRepository, hash_email_token
from storage.tokens import RefreshTokenRepository
from storage.users import EmailTaken, UserRepository

HOUR = timedelta(hours=1)


async def test_a_token_is_stored_hashed_and_taken_once(db: Database) -> None:
    user = await UserRepository(db).create(email="a@example.org", name="A", password_hash=None)
    links = EmailTokenRepository(db)
    token = await links.issue(
        EmailPurpose.password_reset, user_id=user.id, email=user.email, ttl=HOUR
    )
    [row] = await db.fetch("SELECT * FROM email_tokens")
    assert row["token_hash"] == hash_email_token(token) != token
    assert token not in str(row)

    assert await links.peek(EmailPurpose.verify_email, token) is None  # another purpose
    peeked = await links.peek(EmailPurpose.password_reset, token)
    assert peeked is not None and peeked.used_at is None
    # Two clicks at once: exactly one takes the link.
    first, second = await asyncio.gather(
        links.redeem(EmailPurpose.password_reset, token),
        links.redeem(EmailPurpose.password_reset, token),
    )
    taken = [result for result in (first, second) if result is not None]
    assert len(taken) == 1
    assert (taken[0].user_id, taken[0].email, taken[0].purpose) == (
        user.id,
        "a@example.org",
        "password_reset",
    )
    assert taken[0].used_at is not None
    assert await links.redeem(EmailPurpose.password_reset, token) is None
    assert await links.peek(EmailPurpose.password_reset, token) is None
    assert await links.redeem(EmailPurpose.password_reset, "made-up-token") is None


async def test_expired_and_discarded_tokens_do_nothing_and_expired_ones_are_deleted(
    db: Database,
) -> None:
    user = await UserRepository(db).create(email="b@example.org", name="B", password_hash=None)
    links = EmailTokenRepository(db)
    expired = await links.issue(
        EmailPurpose.verify_email, user_id=user.id, email=user.email, ttl=-HOUR
    )
    assert await links.redeem(EmailPurpose.verify_email, expired) is None
    change = await links.issue(
        EmailPurpose.email_change, user_id=user.id, email="new@example.org", ttl=HOUR
    )
    verify = await links.issue(
        EmailPurpose.verify_email, user_id=user.id, email=user.email, ttl=HOUR
    )
    assert await links.discard(user.id, EmailPurpose.email_change, EmailPurpose.password_reset) == 1
    assert await links.redeem(EmailPurpose.email_change, change) is None
    assert await links.delete_expired() == 1
    assert await links.delete_expired() == 0
    assert await links.redeem(EmailPurpose.verify_email, verify) is not None  # untouched
    # Used links stay until they expire, then go too.
    assert await links.delete_expired(utcnow() + 2 * HOUR) == 1


async def test_sessions_are_the_live_families_with_their_latest_origin(db: Database) -> None:
    user = await UserRepository(db).create(email="c@example.org", name="C", password_hash=None)
    tokens = RefreshTokenRepository(db)
    later = utcnow() + HOUR
    signed_in = utcnow()

    async def add(family: str, token: str, agent: str, prefix: str) -> None:
        await tokens.add(
            user_id=user.id,
            family_id=family,
            token_hash=token,
            expires_at=later,
            auth_time=signed_in,
            user_agent=agent,
            ip_prefix=prefix,
        )

    await add("laptop", "l1", "Firefox/1", "192.0.2.0/24")
    first = await tokens.get_by_hash("l1")
    assert first is not None and await tokens.consume(first.id)
    await add("laptop", "l2", "Firefox/2", "198.51.100.0/24")  # rotated from elsewhere
    await add("phone", "p1", "Safari/" + "x" * 1000, "2001:db8::/48")
    await add("gone", "g1", "Old", "203.0.113.0/24")
    assert await tokens.revoke_family("gone") == 1

    sessions = {session.id: session for session in await tokens.sessions(user.id)}
    assert set(sessions) == {"laptop", "phone"}
    laptop = sessions["laptop"]
    assert (laptop.user_agent, laptop.ip_prefix) == ("Firefox/2", "198.51.100.0/24")
    assert laptop.started_at == signed_in <= laptop.last_used_at
    assert len(sessions["phone"].user_agent or "") == 512

    assert await tokens.family_revoked("gone") and not await tokens.family_revoked("laptop")
    assert not await tokens.revoke_session("someone-else", "laptop")
    assert not await tokens.revoke_session(user.id, "gone")  # already signed out
    assert await tokens.revoke_session(user.id, "phone")
    assert await tokens.revoke_user(user.id, keep_family="laptop") == 0
    assert [session.id for session in await tokens.sessions(user.id)] == ["laptop"]
    assert await tokens.revoke_user(user.id) == 2  # both of the laptop's tokens
    assert await tokens.sessions(user.id) == []


async def test_changing_the_address_verifies_it_unless_another_account_has_it(
    db: Database,
) -> None:
    users = UserRepository(db)
    ada = await users.create(email="ada@example.org", name="Ada", password_hash="h")
    await users.create(email="bob@example.org", name="Bob", password_hash=None)
    with pytest.raises(EmailTaken):
        await users.change_email(ada.id, "BOB@example.org")
    changed = await users.change_email(ada.id, " Ada.New@Example.org ")
    assert changed is not None
    assert (changed.email, changed.email_verified) == ("ada.new@example.org", True)
    assert await users.change_email("missing", "x@example.org") is None
    await users.set_password(ada.id, "new-hash")
    stored = await users.get(ada.id)
    assert stored is not None and stored.password_hash == "new-hash"
