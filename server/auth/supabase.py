"""Supabase mode: accept access tokens issued by a Supabase project.

A token is verified with the project's HS256 secret (legacy projects) or with the public
keys of its JWKS endpoint (RS256 or ES256, chosen by ``kid``). The algorithm is pinned per
key, so neither ``alg: none`` nor an HMAC signed with a public key gets through; ``aud``,
``exp`` and ``iss`` are checked. The token's ``sub`` maps to a local user through the
identity table (provider ``supabase``); a user is created on first sight.

Only claims the project signs on its own are trusted to say an e-mail is verified:
``user_metadata`` is not, because Supabase lets every user edit their own metadata.

When the person signed in comes from ``auth_time`` (set by an access-token hook) or else
from the newest timestamp of ``amr``, the methods the session was authenticated with:
Supabase adds to ``amr`` when someone signs in or verifies, never when a token is
refreshed. ``iat`` is not a sign-in time: every refresh makes it new.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeGuard

import httpx
import jwt

from server.auth.oauth import (
    EmailMissing,
    EmailUnverifiedConflict,
    ExternalIdentity,
    OAuthProviderError,
    audit_event,
    resolve_identity,
)
from server.auth.types import SignedIn
from server.settings import Settings
from storage.audit import AuditRepository
from storage.database import Database
from storage.types import User

log = logging.getLogger("intrvuer.supabase")

PROVIDER = "supabase"
JWKS_ALGORITHMS = frozenset({"RS256", "ES256"})
_NAME_MAX = 100


@dataclass
class JwksCache:
    """The signing keys of a JWKS endpoint, by ``kid``, fetched with httpx off the hot path.

    Keys are kept ``ttl_s`` seconds. A ``kid`` we do not know triggers one early refetch
    (the project may have rotated its keys), at most once per ``miss_cooldown_s``, so a
    stream of tokens with made-up ids cannot turn into a stream of fetches. When a fetch
    fails the keys we have are kept, and the next try waits ``miss_cooldown_s``.
    """

    http: httpx.AsyncClient
    url: str
    _: KW_ONLY
    ttl_s: float = 600.0
    miss_cooldown_s: float = 30.0
    timeout_s: float = 10.0
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict, init=False)
    _stale_at: float = field(default=float("-inf"), init=False)
    _last_miss_fetch: float = field(default=float("-inf"), init=False)
    _generation: int = field(default=0, init=False)
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, init=False)

    async def get(self, kid: str) -> jwt.PyJWK | None:
        """The key with this id, or None if the endpoint does not publish it."""
        refreshed = self.clock() >= self._stale_at
        if refreshed:
            await self._refresh()
        key = self._keys.get(kid)
        if (
            key is None
            and not refreshed
            and self.clock() - self._last_miss_fetch >= self.miss_cooldown_s
        ):
            self._last_miss_fetch = self.clock()
            await self._refresh()
            key = self._keys.get(kid)
        return key

    async def _refresh(self) -> None:
        seen = self._generation
        async with self._lock:
            if self._generation != seen:
                return  # another request refreshed the keys while this one waited
            self._generation += 1
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as error:
                log.warning(
                    "could not fetch the Supabase JWKS; keeping the keys we have",
                    extra={"reason": error.__class__.__name__, "keys": len(self._keys)},
                )
                self._stale_at = self.clock() + self.miss_cooldown_s
                return
            self._keys = keys
            self._stale_at = self.clock() + self.ttl_s

    async def _fetch(self) -> dict[str, jwt.PyJWK]:
        response = await self.http.get(
            self.url, headers={"accept": "application/json"}, timeout=self.timeout_s
        )
        response.raise_for_status()
        document = response.json()
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("not a JWKS document")
        keys: dict[str, jwt.PyJWK] = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
                continue
            if entry.get("use", "sig") != "sig" or entry.get("kty") not in ("RSA", "EC"):
                continue
            try:
                key = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key type or curve we do not support; the others still work
            if key.algorithm_name in JWKS_ALGORITHMS:
                keys[entry["kid"]] = key
        return keys


def _verified(claims: dict[str, Any]) -> bool:
    # Top-level claims and app_metadata are set by the project (or its access-token hook);
    # user_metadata is editable by the user, so it never vouches for anything.
    app_metadata = claims.get("app_metadata")
    return (
        claims.get("email_verified") is True
        or bool(claims.get("email_confirmed_at"))
        or (isinstance(app_metadata, dict) and app_metadata.get("email_verified") is True)
    )


def sign_in_time(claims: dict[str, Any]) -> datetime | None:
    """When the person behind a Supabase token last signed in; None if it does not say."""
    stamp = claims.get("auth_time")
    if _is_epoch(stamp):
        return datetime.fromtimestamp(stamp, tz=UTC)
    methods = claims.get("amr")
    if not isinstance(methods, list):
        return None
    # The detailed form ({"method", "timestamp"}) has times; RFC 8176's list of names not.
    stamps = [
        entry["timestamp"]
        for entry in methods
        if isinstance(entry, dict) and _is_epoch(entry.get("timestamp"))
    ]
    return datetime.fromtimestamp(max(stamps), tz=UTC) if stamps else None


def _is_epoch(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _name(claims: dict[str, Any], email: str | None) -> str:
    metadata = claims.get("user_metadata")
    if isinstance(metadata, dict):
        for key in ("full_name", "name"):
            value = metadata.get(key)
            if isinstance(value, str) and value.strip():
                return " ".join(value.split())[:_NAME_MAX]
    return email.split("@")[0][:_NAME_MAX] if email else "New user"


class SupabaseAuthenticator:
    """An ``ExternalAuthenticator`` for Supabase access tokens (see the module docstring)."""

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        audience: str,
        issuer: str | None,
        jwt_secret: str | None = None,
        jwks_url: str | None = None,
        jwks_ttl_s: float = 600.0,
        jwks_miss_cooldown_s: float = 30.0,
        timeout_s: float = 10.0,
    ) -> None:
        if not jwt_secret and not jwks_url:
            raise ValueError("Supabase mode needs SUPABASE_JWT_SECRET or SUPABASE_JWKS_URL")
        if jwt_secret and len(jwt_secret.encode()) < 32:
            # Supabase's own minimum; a shorter HS256 key is also guessable offline.
            raise ValueError("SUPABASE_JWT_SECRET must be at least 32 characters")
        self.audience = audience
        self.issuer = issuer
        self._secret = jwt_secret or None
        self._jwks = (
            JwksCache(
                http,
                jwks_url,
                ttl_s=jwks_ttl_s,
                miss_cooldown_s=jwks_miss_cooldown_s,
                timeout_s=timeout_s,
            )
            if jwks_url
            else None
        )
        if issuer is None:
            log.warning("SUPABASE_URL and SUPABASE_ISSUER are unset: the issuer is not checked")

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient) -> SupabaseAuthenticator:
        issuer = settings.supabase_issuer or (
            f"{settings.supabase_url.rstrip('/')}/auth/v1" if settings.supabase_url else None
        )
        secret = settings.supabase_jwt_secret
        return cls(
            http=http,
            audience=settings.supabase_audience,
            issuer=issuer,
            jwt_secret=secret.get_secret_value() if secret is not None else None,
            jwks_url=settings.supabase_jwks_url or None,
            timeout_s=settings.oauth_timeout_s,
        )

    async def verify(self, token: str) -> dict[str, Any] | None:
        """The claims of a valid Supabase access token, or None."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        algorithm = header.get("alg")
        key: Any
        if algorithm == "HS256" and self._secret is not None:
            key = self._secret
        elif algorithm in JWKS_ALGORITHMS and self._jwks is not None:
            kid = header.get("kid")
            found = await self._jwks.get(kid) if isinstance(kid, str) else None
            # The key decides the algorithm: an RSA key never verifies an ES256 token.
            if found is None or found.algorithm_name != algorithm:
                return None
            key = found.key
        else:
            return None
        required = ["exp", "sub", "aud"] + (["iss"] if self.issuer else [])
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": required},
            )
        except jwt.PyJWTError as error:
            log.debug("supabase token refused", extra={"reason": error.__class__.__name__})
            return None
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            return None
        return claims

    async def authenticate(self, db: Database, token: str) -> User | None:
        """The local user for a Supabase access token, created on first sight; else None."""
        signed_in = await self.sign_in(db, token)
        return signed_in.user if signed_in is not None else None

    async def sign_in(self, db: Database, token: str) -> SignedIn | None:
        """The local user for a Supabase access token (created on first sight) and when
        the person signed in; None if the token is not a valid one of the project's."""
        claims = await self.verify(token)
        if claims is None:
            return None
        user = await self._local_user(db, claims)
        return SignedIn(user, sign_in_time(claims)) if user is not None else None

    async def _local_user(self, db: Database, claims: dict[str, Any]) -> User | None:
        email = claims.get("email") if isinstance(claims.get("email"), str) else None
        identity = ExternalIdentity(
            provider=PROVIDER,
            subject=claims["sub"],
            email=email or None,
            email_verified=bool(email) and _verified(claims),
            name=_name(claims, email),
        )
        try:
            # Supabase keeps addresses and their verification: a local account here can
            # never prove its address, so Supabase's proof claims it (see resolve_identity).
            resolved = await resolve_identity(db, identity, claim_unverified=True)
        except EmailUnverifiedConflict:
            # No audit row: this runs on every request the client retries with the token.
            log.info("supabase user not linked: e-mail of a local account, unverified")
            return None
        except (EmailMissing, OAuthProviderError):
            log.info("supabase user refused: no usable e-mail address in the token")
            return None
        if event := audit_event(resolved, PROVIDER):
            action, details = event
            user_id = resolved.user.id
            await AuditRepository(db).record(
                action, user_id=user_id, target_id=user_id, details=details
            )
        return resolved.user
