"""Request and response bodies shared by several route modules."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from storage.types import User


class Strict(BaseModel):
    """Bodies refuse unknown fields, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Preferences(Strict):
    theme: Literal["light", "dark", "system"] | None = None
    voice: str | None = Field(default=None, max_length=64)
    language: str | None = Field(default=None, max_length=16)


class UserOut(BaseModel):
    id: str
    email: str
    email_verified: bool
    name: str
    preferences: dict[str, Any]
    created_at: datetime
    has_password: bool
    age_confirmed: bool  # False for accounts made by Google/GitHub/Supabase until confirmed

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            email_verified=user.email_verified,
            name=user.name,
            preferences=user.preferences,
            created_at=user.created_at,
            has_password=user.password_hash is not None,
            age_confirmed=user.age_confirmed_at is not None,
        )


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int
    user: UserOut
