"""Single-use links sent by e-mail: address verification, password reset, e-mail change.

Only the SHA-256 of a token is stored; the token itself exists only in the message. A
token is taken at most once (``redeem`` is one conditional UPDATE, so two clicks racing
on one link cannot both win) and only before it expires.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from enum import StrEnum

from storage._util import Repository, utcnow
from storage.types import EmailToken, from_row


class EmailPurpose(StrEnum):
    verify_email = "verify_email"
    password_reset = "password_reset"  # noqa: S105 - a purpose, not a password
    email_change = "email_change"  # ``email`` is the new address, confirmed by the link


def hash_email_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class EmailTokenRepository(Repository):
    async def issue(
        self, purpose: EmailPurpose, *, user_id: str, email: str, ttl: timedelta
    ) -> str:
        """A new token for ``user_id`` and ``email``, valid for ``ttl``; returns the token
        (to put in the link), of which only the hash is kept."""
        token = secrets.token_urlsafe(32)
        now = utcnow()
        await self._db.execute(
            "INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at,"
            " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            hash_email_token(token),
            purpose.value,
            user_id,
            email,
            now,
            now + ttl,
        )
        return token

    async def peek(self, purpose: EmailPurpose, token: str) -> EmailToken | None:
        """The token if it could be redeemed now, without taking it."""
        row = await self._db.fetchrow(
            "SELECT * FROM email_tokens WHERE token_hash = $1 AND purpose = $2"
            " AND used_at IS NULL AND expires_at > $3",
            hash_email_token(token),
            purpose.value,
            utcnow(),
        )
        return from_row(EmailToken, row) if row else None

    async def redeem(self, purpose: EmailPurpose, token: str) -> EmailToken | None:
        """Take the token: the first caller gets it, every later one (and any caller once
        it expired, or with a token of another purpose) gets None."""
        row = await self._db.fetchrow(
            "UPDATE email_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2"
            " AND used_at IS NULL AND expires_at > $3 RETURNING *",
            hash_email_token(token),
            purpose.value,
            utcnow(),
        )
        return from_row(EmailToken, row) if row else None

    async def discard(self, user_id: str, *purposes: EmailPurpose) -> int:
        """Make the user's unused tokens of these purposes worthless (a password changed:
        an older reset link or a pending change of address must not outlive it)."""
        count = 0
        for purpose in purposes:
            count += await self._db.execute(
                "DELETE FROM email_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
                user_id,
                purpose.value,
            )
        return count

    async def delete_expired(self, now: datetime | None = None) -> int:
        """Delete tokens past their expiry, used or not; they can no longer do anything."""
        return await self._db.execute(
            "DELETE FROM email_tokens WHERE expires_at < $1", now or utcnow()
        )
