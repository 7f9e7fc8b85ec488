"""Access tokens (short-lived JWTs, one pinned algorithm) and refresh-token rotation.

Refresh tokens are opaque random strings; only their SHA-256 is stored. Each use rotates
the token within its family; presenting a token that was already rotated means it leaked,
so the whole family is revoked.

A family starts at a sign-in and keeps that sign-in's time: every access token of the
family carries it as ``auth_time``, so refreshing never makes a sign-in look recent. It
is also one entry of the user's list of sessions: each access token names its family
(``fid``), so the list can say which entry is the caller, and signing a family out ends
its access tokens too (``current.signed_in`` checks).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from server.auth.sessions import SignInOrigin
from storage._util import utcnow
from storage.database import Database
from storage.tokens import RefreshTokenRepository

ALGORITHM = "HS256"
AUDIENCE = "intrvuer"


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not ours."""


class TokenReuse(Exception):
    """A rotated refresh token was presented again; its family is now revoked."""

    def __init__(self, user_id: str) -> None:
        super().__init__("refresh token reuse")
        self.user_id = user_id


@dataclass(frozen=True, slots=True)
class AccessClaims:
    user_id: str
    issued_at: datetime
    expires_at: datetime
    # When the person last signed in, however often the token was refreshed since;
    # None when the token does not say.
    auth_time: datetime | None
    # The refresh-token family (the session) the token was issued for; None when the
    # token does not say (issued before sessions were listed, or outside a sign-in).
    family_id: str | None = None


@dataclass(frozen=True, slots=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user_id: str
    family_id: str


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenService:
    def __init__(self, *, secret: str, issuer: str, access_ttl_s: int, refresh_ttl_s: int) -> None:
        self._secret = secret
        self._issuer = issuer
        self.access_ttl_s = access_ttl_s
        self.refresh_ttl_s = refresh_ttl_s

    def issue_access(
        self, user_id: str, *, auth_time: datetime | None, family_id: str | None = None
    ) -> str:
        """An access token; ``auth_time`` is when its holder signed in (None: unknown),
        ``family_id`` the session it belongs to."""
        now = utcnow()
        claims: dict[str, Any] = {
            "sub": user_id,
            "iss": self._issuer,
            "aud": AUDIENCE,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=self.access_ttl_s)).timestamp()),
            "jti": uuid.uuid4().hex,
            "typ": "access",
        }
        if auth_time is not None:
            claims["auth_time"] = int(auth_time.timestamp())
        if family_id is not None:
            claims["fid"] = family_id
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify_access(self, token: str) -> AccessClaims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],  # pinned: "none" and asymmetric confusion are refused
                audience=AUDIENCE,
                issuer=self._issuer,
                options={"require": ["sub", "exp", "iat", "aud", "iss"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from None
        if claims.get("typ") != "access" or not isinstance(claims.get("sub"), str):
            raise InvalidToken("not an access token")
        # Not ``iat``: that is when the token was made, which a refresh makes recent.
        auth_time = claims.get("auth_time")
        family_id = claims.get("fid")
        return AccessClaims(
            user_id=claims["sub"],
            issued_at=datetime.fromtimestamp(claims["iat"], tz=UTC),
            expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
            auth_time=(
                datetime.fromtimestamp(auth_time, tz=UTC)
                if isinstance(auth_time, int) and not isinstance(auth_time, bool)
                else None
            ),
            family_id=family_id if isinstance(family_id, str) and family_id else None,
        )

    async def sign_in(
        self, db: Database, user_id: str, *, origin: SignInOrigin | None = None
    ) -> IssuedTokens:
        """Tokens of a new family, for someone who proved who they are just now;
        ``origin``: where the request came from, for the list of sessions."""
        return await self._issue(
            db, user_id, family_id=uuid.uuid4().hex, auth_time=utcnow(), origin=origin
        )

    async def _issue(
        self,
        db: Database,
        user_id: str,
        *,
        family_id: str,
        auth_time: datetime | None,
        origin: SignInOrigin | None,
    ) -> IssuedTokens:
        refresh = secrets.token_urlsafe(32)
        origin = origin or SignInOrigin()
        await RefreshTokenRepository(db).add(
            user_id=user_id,
            family_id=family_id,
            token_hash=hash_refresh_token(refresh),
            expires_at=utcnow() + timedelta(seconds=self.refresh_ttl_s),
            auth_time=auth_time,
            user_agent=origin.user_agent,
            ip_prefix=origin.ip_prefix,
        )
        return IssuedTokens(
            access_token=self.issue_access(user_id, auth_time=auth_time, family_id=family_id),
            refresh_token=refresh,
            expires_in=self.access_ttl_s,
            user_id=user_id,
            family_id=family_id,
        )

    async def rotate(
        self, db: Database, refresh_token: str, *, origin: SignInOrigin | None = None
    ) -> IssuedTokens:
        """Exchange a refresh token for a new pair; raises on invalid or reused tokens."""
        tokens = RefreshTokenRepository(db)
        stored = await tokens.get_by_hash(hash_refresh_token(refresh_token))
        if stored is None:
            raise InvalidToken("unknown refresh token")
        if stored.revoked_at is not None or stored.used_at is not None:
            await tokens.revoke_family(stored.family_id)
            raise TokenReuse(stored.user_id)
        if stored.expires_at <= utcnow():
            raise InvalidToken("refresh token expired")
        if not await tokens.consume(stored.id):
            # Lost a race with another use of the same token: that is reuse too.
            await tokens.revoke_family(stored.family_id)
            raise TokenReuse(stored.user_id)
        return await self._issue(
            db,
            stored.user_id,
            family_id=stored.family_id,
            auth_time=stored.auth_time,
            origin=origin,
        )

    async def revoke(self, db: Database, refresh_token: str) -> str | None:
        """Revoke the family of a refresh token; returns its user id if it was known."""
        tokens = RefreshTokenRepository(db)
        stored = await tokens.get_by_hash(hash_refresh_token(refresh_token))
        if stored is None:
            return None
        await tokens.revoke_family(stored.family_id)
        return stored.user_id
