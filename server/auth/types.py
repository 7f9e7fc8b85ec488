"""What signing in yields, and the interface of an external identity provider."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from storage.database import Database
from storage.types import User


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The user behind a valid access token."""

    user: User
    # When the person last proved who they are (password, provider sign-in), however often
    # the token was refreshed since; None when the token does not say.
    auth_time: datetime | None
    # The session (refresh-token family) of the token; None for tokens of another
    # identity provider, which keeps its sessions itself.
    family_id: str | None = None


class ExternalAuthenticator(Protocol):
    """Accepts access tokens issued by another identity provider (Supabase mode)."""

    async def sign_in(self, db: Database, token: str) -> SignedIn | None:
        """The local user for a token of the provider and its sign-in time; None if the
        token is not a valid one of the provider's."""
        ...

    async def authenticate(self, db: Database, token: str) -> User | None:
        """The local user for a token of the provider, or None if it is not one."""
        ...
