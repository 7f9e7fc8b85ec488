"""E-mail + password accounts: register, sign in, refresh, sign out."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator
from starlette.requests import Request

from server.api import ApiRouter
from server.auth.passwords import hash_password, verify_password
from server.auth.ratelimit import limiter_key
from server.auth.tokens import InvalidToken, TokenReuse
from server.context import audit, client_ip, services
from server.errors import ApiError
from server.routes.models import Strict, TokenResponse, UserOut
from storage._util import utcnow
from storage.users import EmailTaken, UserRepository

router = ApiRouter(tags=["auth"])

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
INVALID_CREDENTIALS = "E-mail or password is incorrect."


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("not a valid e-mail address")
    return value.lower()


class RegisterBody(Strict):
    email: str = Field(max_length=254)
    password: str = Field(min_length=10, max_length=256)
    name: str = Field(min_length=1, max_length=100)
    confirm_age_16: Literal[True] = Field(
        description="The candidate confirms they are at least 16 years old."
    )

    _check_email = field_validator("email")(_email)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = " ".join(value.split())
        if not value:
            raise ValueError("name must not be blank")
        return value


class LoginBody(Strict):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256)


class RefreshBody(Strict):
    refresh_token: str = Field(min_length=1, max_length=512)


async def token_response(request: Request, user_id: str) -> TokenResponse:
    svc = services(request)
    user = await UserRepository(svc.db).get(user_id)
    assert user is not None
    issued = await svc.tokens.issue(svc.db, user_id)
    return TokenResponse(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        user=UserOut.of(user),
    )


@router.post(
    "/v1/auth/register",
    body=RegisterBody,
    response=TokenResponse,
    status=201,
    auth=False,
    errors=(409,),
)
async def register(request: Request, body: RegisterBody) -> TokenResponse:
    """Create an account with e-mail and password; answers signed-in tokens."""
    svc = services(request)
    if svc.settings.auth_provider == "supabase":
        raise ApiError(403, "local_accounts_disabled", "Accounts are managed by Supabase here.")
    try:
        user = await UserRepository(svc.db).create(
            email=body.email,
            name=body.name,
            password_hash=await hash_password(body.password),
            age_confirmed_at=utcnow(),
        )
    except EmailTaken:
        raise ApiError(
            409, "email_taken", "An account with this e-mail address already exists."
        ) from None
    await audit(request, "auth.register", user_id=user.id, target_id=user.id)
    return await token_response(request, user.id)


@router.post("/v1/auth/login", body=LoginBody, response=TokenResponse, auth=False, errors=(429,))
async def login(request: Request, body: LoginBody) -> TokenResponse:
    """Sign in with e-mail and password."""
    svc = services(request)
    limiter = svc.login_limiter
    keys = [limiter_key("email", body.email)]
    ip = client_ip(request)
    if ip:
        keys.append(limiter_key("ip", ip))
    wait = max([await limiter.retry_after(key) for key in keys])
    if wait:
        raise ApiError(
            429,
            "too_many_attempts",
            f"Too many failed sign-in attempts. Try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    users = UserRepository(svc.db)
    user = await users.get_by_email(body.email)
    # Verify even when the e-mail is unknown, so timing does not tell which it was.
    ok = await verify_password(user.password_hash if user else None, body.password)
    if user is None or not ok:
        for key in keys:
            await limiter.record_failure(key)
        await audit(
            request,
            "auth.login_failed",
            user_id=user.id if user else None,
            details={"reason": "invalid_credentials"},
        )
        raise ApiError(401, "invalid_credentials", INVALID_CREDENTIALS)
    await limiter.reset(keys[0])
    await users.record_login(user.id)
    await audit(request, "auth.login", user_id=user.id, details={"method": "password"})
    return await token_response(request, user.id)


@router.post("/v1/auth/refresh", body=RefreshBody, response=TokenResponse, auth=False)
async def refresh(request: Request, body: RefreshBody) -> TokenResponse:
    """Exchange a refresh token for a new pair (the old one stops working)."""
    svc = services(request)
    try:
        issued = await svc.tokens.rotate(svc.db, body.refresh_token)
    except TokenReuse as reuse:
        await audit(
            request,
            "auth.token_reuse",
            user_id=reuse.user_id,
            details={"action": "family_revoked"},
        )
        raise ApiError(
            401, "token_reused", "This refresh token was already used; sign in again."
        ) from None
    except InvalidToken:
        raise ApiError(401, "invalid_token", "The refresh token is invalid or expired.") from None
    user = await UserRepository(svc.db).get(issued.user_id)
    if user is None:
        raise ApiError(401, "invalid_token", "The refresh token is invalid or expired.")
    return TokenResponse(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        user=UserOut.of(user),
    )


@router.post("/v1/auth/logout", body=RefreshBody, status=204, auth=False)
async def logout(request: Request, body: RefreshBody) -> None:
    """Sign out: the refresh token and every token rotated from it stop working."""
    svc = services(request)
    user_id = await svc.tokens.revoke(svc.db, body.refresh_token)
    if user_id is not None:
        await audit(request, "auth.logout", user_id=user_id)
