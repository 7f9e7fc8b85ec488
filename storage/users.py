"""Users and their linked sign-in identities (Google, GitHub, Supabase)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage._util import Repository, new_id, utcnow
from storage.types import Row, User, from_row


class EmailTaken(Exception):
    """An account with this e-mail address already exists."""


def _user(row: Row) -> User:
    return from_row(
        User,
        row,
        email_verified=bool(row["email_verified"]),
        preferences=json.loads(row["preferences"]),
    )


class UserRepository(Repository):
    async def create(
        self,
        *,
        email: str,
        name: str,
        password_hash: str | None,
        email_verified: bool = False,
        age_confirmed_at: datetime | None = None,
    ) -> User:
        now = utcnow()
        row = await self._db.fetchrow(
            "INSERT INTO users (id, email, email_verified, name, password_hash, preferences,"
            " age_confirmed_at, created_at, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, '{}', $6, $7, $7)"
            " ON CONFLICT (email) DO NOTHING RETURNING *",
            new_id(),
            email.strip().lower(),
            email_verified,
            name,
            password_hash,
            age_confirmed_at,
            now,
        )
        if row is None:
            raise EmailTaken(email)
        return _user(row)

    async def get(self, user_id: str) -> User | None:
        row = await self._db.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
        return _user(row) if row else None

    async def get_by_email(self, email: str) -> User | None:
        row = await self._db.fetchrow("SELECT * FROM users WHERE email = $1", email.strip().lower())
        return _user(row) if row else None

    async def update_profile(
        self, user_id: str, *, name: str | None = None, preferences: dict[str, Any] | None = None
    ) -> User | None:
        current = await self.get(user_id)
        if current is None:
            return None
        merged = {**current.preferences, **(preferences or {})}
        row = await self._db.fetchrow(
            "UPDATE users SET name = $2, preferences = $3, updated_at = $4 WHERE id = $1"
            " RETURNING *",
            user_id,
            name if name is not None else current.name,
            json.dumps(merged, sort_keys=True),
            utcnow(),
        )
        return _user(row) if row else None

    async def mark_email_verified(self, user_id: str) -> None:
        await self._db.execute(
            "UPDATE users SET email_verified = $2, updated_at = $3 WHERE id = $1",
            user_id,
            True,
            utcnow(),
        )

    async def confirm_age(self, user_id: str) -> None:
        await self._db.execute(
            "UPDATE users SET age_confirmed_at = COALESCE(age_confirmed_at, $2), updated_at = $2"
            " WHERE id = $1",
            user_id,
            utcnow(),
        )

    async def set_password(self, user_id: str, password_hash: str) -> None:
        await self._db.execute(
            "UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1",
            user_id,
            password_hash,
            utcnow(),
        )

    async def change_email(self, user_id: str, email: str) -> User | None:
        """Give the user a new, verified address (its link was followed); raises
        ``EmailTaken`` when another account has it meanwhile. None: no such user."""
        email = email.strip().lower()
        try:
            row = await self._db.fetchrow(
                "UPDATE users SET email = $2, email_verified = $3, updated_at = $4"
                " WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM users o WHERE o.email = $2"
                " AND o.id <> $1) RETURNING *",
                user_id,
                email,
                True,
                utcnow(),
            )
        except Exception:
            # Another account took the address between the check and the write: each
            # backend names that unique violation differently, the outcome is the same.
            if await self.get_by_email(email) is not None:
                raise EmailTaken(email) from None
            raise
        if row is None:
            if await self.get(user_id) is None:
                return None
            raise EmailTaken(email)
        return _user(row)

    async def clear_password(self, user_id: str) -> None:
        await self._db.execute(
            "UPDATE users SET password_hash = NULL, updated_at = $2 WHERE id = $1",
            user_id,
            utcnow(),
        )

    async def record_login(self, user_id: str) -> None:
        await self._db.execute(
            "UPDATE users SET last_login_at = $2 WHERE id = $1", user_id, utcnow()
        )

    async def delete(self, user_id: str) -> bool:
        return await self._db.execute("DELETE FROM users WHERE id = $1", user_id) > 0

    # Linked identities -------------------------------------------------------------------

    async def find_identity(self, provider: str, subject: str) -> User | None:
        row = await self._db.fetchrow(
            "SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id"
            " WHERE i.provider = $1 AND i.subject = $2",
            provider,
            subject,
        )
        return _user(row) if row else None

    async def link_identity(
        self, user_id: str, *, provider: str, subject: str, email: str | None
    ) -> None:
        await self._db.execute(
            "INSERT INTO user_identities (provider, subject, user_id, email, created_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (provider, subject) DO NOTHING",
            provider,
            subject,
            user_id,
            email,
            utcnow(),
        )
