"""Refresh tokens (stored hashed, rotated on use, revoked by family), OAuth states, and
single-use tickets for the live socket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage._util import Repository, clip_user_agent, new_id, utcnow
from storage.types import OAuthState, RefreshToken, SignInSession, from_row


class RefreshTokenRepository(Repository):
    async def add(
        self,
        *,
        user_id: str,
        family_id: str,
        token_hash: str,
        expires_at: datetime,
        auth_time: datetime | None,
        user_agent: str | None = None,
        ip_prefix: str | None = None,
    ) -> RefreshToken:
        """Store a token of ``family_id``; ``auth_time`` is when the family's sign-in was,
        ``user_agent`` and ``ip_prefix`` where the request for this token came from."""
        row = await self._db.fetchrow(
            "INSERT INTO refresh_tokens (id, user_id, family_id, token_hash, created_at,"
            " expires_at, auth_time, user_agent, ip_prefix)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *",
            new_id(),
            user_id,
            family_id,
            token_hash,
            utcnow(),
            expires_at,
            auth_time,
            clip_user_agent(user_agent),
            ip_prefix,
        )
        assert row is not None
        return from_row(RefreshToken, row)

    async def get_by_hash(self, token_hash: str) -> RefreshToken | None:
        row = await self._db.fetchrow(
            "SELECT * FROM refresh_tokens WHERE token_hash = $1", token_hash
        )
        return from_row(RefreshToken, row) if row else None

    async def consume(self, token_id: str) -> bool:
        """Mark a token used; False if it was already used or revoked (a reuse)."""
        changed = await self._db.execute(
            "UPDATE refresh_tokens SET used_at = $2"
            " WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
            token_id,
            utcnow(),
        )
        return changed == 1

    async def revoke_family(self, family_id: str) -> int:
        return await self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL",
            family_id,
            utcnow(),
        )

    async def revoke_user(self, user_id: str, *, keep_family: str | None = None) -> int:
        """Revoke every token of the user, but those of ``keep_family`` when given (the
        session that changed the password stays signed in)."""
        return await self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL"
            " AND family_id <> $3",
            user_id,
            utcnow(),
            keep_family or "",
        )

    async def revoke_session(self, user_id: str, family_id: str) -> bool:
        """Revoke one live family of the user; False when the user has no such live family
        (someone else's id, one already signed out or expired)."""
        changed = await self._db.execute(
            "UPDATE refresh_tokens SET revoked_at = $3 WHERE user_id = $1 AND family_id = $2"
            " AND revoked_at IS NULL AND EXISTS (SELECT 1 FROM refresh_tokens h"
            "  WHERE h.family_id = $2 AND h.user_id = $1 AND h.used_at IS NULL"
            "  AND h.revoked_at IS NULL AND h.expires_at > $3)",
            user_id,
            family_id,
            utcnow(),
        )
        return changed > 0

    async def family_revoked(self, family_id: str) -> bool:
        """Whether the family was signed out (or revoked on reuse): its access tokens stop
        working at once instead of at their expiry."""
        found = await self._db.fetchval(
            "SELECT 1 FROM refresh_tokens WHERE family_id = $1 AND revoked_at IS NOT NULL LIMIT 1",
            family_id,
        )
        return found is not None

    async def sessions(self, user_id: str) -> list[SignInSession]:
        """The user's live sign-ins, most recently used first: each family's newest token
        (the only one not used yet), while it is neither revoked nor expired."""
        rows = await self._db.fetch(
            "SELECT family_id, auth_time, created_at, user_agent, ip_prefix FROM refresh_tokens"
            " WHERE user_id = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
            " ORDER BY created_at DESC, family_id",
            user_id,
            utcnow(),
        )
        return [
            SignInSession(
                id=row["family_id"],
                started_at=row["auth_time"] or row["created_at"],
                last_used_at=row["created_at"],
                user_agent=row["user_agent"],
                ip_prefix=row["ip_prefix"],
            )
            for row in rows
        ]

    async def delete_expired(self, before: datetime) -> int:
        return await self._db.execute("DELETE FROM refresh_tokens WHERE expires_at < $1", before)


class OAuthStateRepository(Repository):
    """Pending authorization-code flows; a state is taken exactly once."""

    async def put(self, state: OAuthState) -> None:
        await self._db.execute(
            "INSERT INTO oauth_states (state, provider, code_verifier, redirect_to, created_at,"
            " expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
            state.state,
            state.provider,
            state.code_verifier,
            state.redirect_to,
            state.created_at,
            state.expires_at,
        )

    async def take(self, state: str) -> OAuthState | None:
        row = await self._db.fetchrow(
            "DELETE FROM oauth_states WHERE state = $1 RETURNING *", state
        )
        if row is None or row["expires_at"] < utcnow():
            return None
        return from_row(OAuthState, row)

    async def delete_expired(self) -> int:
        return await self._db.execute("DELETE FROM oauth_states WHERE expires_at < $1", utcnow())


@dataclass(frozen=True, slots=True)
class TicketClaim:
    """Whom a redeemed live ticket was issued to, and for which interview."""

    user_id: str
    interview_id: str


class TicketRepository(Repository):
    """Tickets are stored hashed; redeeming one is atomic, so it works exactly once."""

    async def add(
        self, *, ticket_hash: str, user_id: str, interview_id: str, expires_at: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO live_tickets (ticket_hash, user_id, interview_id, created_at,"
            " expires_at) VALUES ($1, $2, $3, $4, $5)",
            ticket_hash,
            user_id,
            interview_id,
            utcnow(),
            expires_at,
        )

    async def redeem(self, ticket_hash: str) -> TicketClaim | None:
        """The claim of a valid ticket, which is then used up."""
        now = utcnow()
        row = await self._db.fetchrow(
            "UPDATE live_tickets SET used_at = $2"
            " WHERE ticket_hash = $1 AND used_at IS NULL AND expires_at > $2"
            " RETURNING user_id, interview_id",
            ticket_hash,
            now,
        )
        return from_row(TicketClaim, row, user_id=str(row["user_id"])) if row else None

    async def delete_expired(self) -> int:
        return await self._db.execute("DELETE FROM live_tickets WHERE expires_at < $1", utcnow())
