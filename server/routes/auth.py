"""E-mail + password accounts: register, sign in, refresh, sign out.

Two ways to hold the refresh token. API clients get it in the JSON body and send it back
in the body. The browser app asks for a cookie session (``X-Intrvuer-Auth: cookie``): the
refresh token then travels only in an ``HttpOnly; Secure; SameSite=Strict`` cookie that
script cannot read, and the JSON carries the access token alone. Because a cookie is sent
automatically, refresh and sign-out by cookie also need a double-submit CSRF token (the
``X-CSRF-Token`` header must equal the readable ``intrvuer_csrf`` cookie) and, when the
browser names an origin, an allowed one.
"""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Literal

from pydantic import Field, field_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api import ApiRouter
from server.auth.passwords import hash_password, verify_password
from server.auth.ratelimit import limiter_key
from server.auth.tokens import InvalidToken, IssuedTokens, TokenReuse
from server.context import audit, client_ip, services
from server.errors import ApiError, error_response
from server.origins import origin_allowed
from server.routes.models import Strict, TokenResponse, UserOut
from storage._util import utcnow
from storage.users import EmailTaken, UserRepository

router = ApiRouter(tags=["auth"])

REFRESH_COOKIE = "intrvuer_refresh"
CSRF_COOKIE = "intrvuer_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_HEADER = "x-intrvuer-auth"
REFRESH_COOKIE_PATH = "/v1/auth/"

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
    refresh_token: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="The refresh token; leave it out to use the browser's session cookie.",
    )


def wants_cookie(request: Request) -> bool:
    """Whether the client asked for a cookie session (the browser app does)."""
    return request.headers.get(SESSION_HEADER, "").strip().lower() == "cookie"


def _cookie_session(request: Request, tokens: TokenResponse, status: int) -> Response:
    """Answer ``tokens`` with the refresh token in an HttpOnly cookie, not in the body."""
    body = tokens.model_dump(mode="json", exclude={"refresh_token"})
    response = JSONResponse(body, status_code=status, headers={"cache-control": "no-store"})
    max_age = services(request).settings.refresh_token_ttl_s
    response.set_cookie(
        REFRESH_COOKIE,
        tokens.refresh_token,
        max_age=max_age,
        path=REFRESH_COOKIE_PATH,
        secure=True,
        httponly=True,
        samesite="strict",
    )
    csrf = request.cookies.get(CSRF_COOKIE, "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{32,64}", csrf):
        csrf = secrets.token_urlsafe(32)
    # Readable by the page on purpose: it echoes the value in X-CSRF-Token, which a page
    # of another site can neither read nor send.
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, path="/", secure=True, samesite="strict"
    )
    return response


def _clear_cookie_session(response: Response) -> None:
    response.delete_cookie(
        REFRESH_COOKIE, path=REFRESH_COOKIE_PATH, secure=True, httponly=True, samesite="strict"
    )
    response.delete_cookie(CSRF_COOKIE, path="/", secure=True, samesite="strict")


def _check_cookie_request(request: Request) -> str:
    """The refresh token from the session cookie, once the request proved it is ours."""
    if not origin_allowed(request, services(request).settings):
        raise ApiError(403, "origin_not_allowed", "This origin may not use the session.")
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        raise ApiError(403, "csrf_failed", "Cross-site requests may not use the session.")
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise ApiError(401, "not_authenticated", "No refresh token in the body or a cookie.")
    expected = request.cookies.get(CSRF_COOKIE, "")
    given = request.headers.get(CSRF_HEADER, "")
    if not expected or not hmac.compare_digest(expected.encode(), given.encode()):
        raise ApiError(403, "csrf_failed", "The X-CSRF-Token header is missing or wrong.")
    return token


async def token_response(request: Request, user_id: str) -> TokenResponse:
    svc = services(request)
    user = await UserRepository(svc.db).get(user_id)
    assert user is not None
    issued = await svc.tokens.sign_in(svc.db, user_id)
    return TokenResponse(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        user=UserOut.of(user),
    )


async def _answer(
    request: Request, tokens: TokenResponse, status: int = 200
) -> TokenResponse | Response:
    if wants_cookie(request):
        return _cookie_session(request, tokens, status)
    return tokens


@router.post(
    "/v1/auth/register",
    body=RegisterBody,
    response=TokenResponse,
    status=201,
    auth=False,
    errors=(403, 409, 429),
)
async def register(request: Request, body: RegisterBody) -> TokenResponse | Response:
    """Create an account with e-mail and password; answers signed-in tokens.

    With ``X-Intrvuer-Auth: cookie`` the refresh token is set as an HttpOnly cookie
    instead of being returned in the body."""
    svc = services(request)
    if svc.settings.auth_provider == "supabase":
        raise ApiError(403, "local_accounts_disabled", "Accounts are managed by Supabase here.")
    # Before the password is hashed: hashing is the expensive part a flood would buy.
    await _throttle_registration(request)
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
    return await _answer(request, await token_response(request, user.id), 201)


async def _throttle_registration(request: Request) -> None:
    """Count a registration from the caller's IP; a 429 past ``REGISTER_RATE_LIMIT`` in
    the window. Every attempt counts, an account made or not."""
    ip = client_ip(request)
    if not ip:
        return
    limiter = services(request).register_limiter
    key = limiter_key("ip", ip)
    wait = await limiter.retry_after(key)
    if wait:
        raise ApiError(
            429,
            "too_many_registrations",
            f"Too many accounts were registered from this address. Try again in {wait} seconds.",
            headers={"Retry-After": str(wait)},
        )
    await limiter.record_failure(key)


@router.post("/v1/auth/login", body=LoginBody, response=TokenResponse, auth=False, errors=(429,))
async def login(request: Request, body: LoginBody) -> TokenResponse | Response:
    """Sign in with e-mail and password (``X-Intrvuer-Auth: cookie``: a cookie session)."""
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
    return await _answer(request, await token_response(request, user.id))


@router.post(
    "/v1/auth/refresh", body=RefreshBody, response=TokenResponse, auth=False, errors=(401, 403)
)
async def refresh(request: Request, body: RefreshBody) -> TokenResponse | Response:
    """Exchange a refresh token for a new pair (the old one stops working).

    Without a token in the body, the session cookie is used; that needs the CSRF header,
    and the answer sets the rotated token as the new cookie."""
    svc = services(request)
    by_cookie = body.refresh_token is None
    presented = _check_cookie_request(request) if body.refresh_token is None else body.refresh_token
    try:
        issued = await _rotate(request, presented)
    except ApiError as error:
        if not by_cookie:
            raise
        # A dead cookie is of no further use: clear it so the page shows the sign-in.
        failed = error_response(error.status, error.code, error.message)
        _clear_cookie_session(failed)
        return failed
    user = await UserRepository(svc.db).get(issued.user_id)
    if user is None:
        raise ApiError(401, "invalid_token", "The refresh token is invalid or expired.")
    tokens = TokenResponse(
        access_token=issued.access_token,
        refresh_token=issued.refresh_token,
        expires_in=issued.expires_in,
        user=UserOut.of(user),
    )
    if by_cookie:
        return _cookie_session(request, tokens, 200)
    return await _answer(request, tokens)


async def _rotate(request: Request, presented: str) -> IssuedTokens:
    svc = services(request)
    try:
        return await svc.tokens.rotate(svc.db, presented)
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


@router.post("/v1/auth/logout", body=RefreshBody, status=204, auth=False, errors=(401, 403))
async def logout(request: Request, body: RefreshBody) -> Response | None:
    """Sign out: the refresh token and every token rotated from it stop working.

    Without a token in the body, the session cookie is revoked and cleared (CSRF header
    required)."""
    svc = services(request)
    by_cookie = body.refresh_token is None
    presented = _check_cookie_request(request) if body.refresh_token is None else body.refresh_token
    user_id = await svc.tokens.revoke(svc.db, presented)
    if user_id is not None:
        await audit(request, "auth.logout", user_id=user_id)
    if not by_cookie:
        return None
    response = Response(status_code=204)
    _clear_cookie_session(response)
    return response
