"""The signed-in user's own profile."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator
from starlette.requests import Request

from server.api import ApiRouter
from server.context import audit, services
from server.errors import ApiError
from server.routes.models import Preferences, Strict, UserOut
from storage.types import User
from storage.users import UserRepository

router = ApiRouter(tags=["account"])


class ProfilePatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    preferences: Preferences | None = None
    confirm_age_16: Literal[True] | None = Field(
        default=None,
        description="Confirms the user is at least 16 (needed once for OAuth accounts).",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if not value:
            raise ValueError("name must not be blank")
        return value


@router.get("/v1/me", response=UserOut)
async def get_me(request: Request, user: User) -> UserOut:
    """The signed-in user's profile."""
    return UserOut.of(user)


@router.patch("/v1/me", body=ProfilePatch, response=UserOut, errors=(404,))
async def patch_me(request: Request, user: User, body: ProfilePatch) -> UserOut:
    """Change the name or preferences (such as the theme)."""
    preferences = body.preferences.model_dump(exclude_none=True) if body.preferences else None
    users = UserRepository(services(request).db)
    if body.confirm_age_16:
        await users.confirm_age(user.id)
    updated = await users.update_profile(user.id, name=body.name, preferences=preferences)
    if updated is None:
        raise ApiError(404, "not_found", "No such user.")
    changed = sorted(body.model_dump(exclude_none=True))
    await audit(request, "user.profile_updated", user_id=user.id, details={"fields": changed})
    return UserOut.of(updated)
