"""E-mail + password accounts: register, sign in, refresh, sign out; the links sent by
e-mail (verify the address, reset the password, confirm a new address).

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
from typing import Any, Final, Literal

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.api import ApiRouter
from server.auth.current import require_local_accounts
from server.auth.passwords import hash_password, verify_password
from server.auth.ratelimit import FailureLimiter, admit, limiter_key, throttled
from server.auth.sessions import SignInOrigin, network_prefix
from server.auth.tokens import InvalidToken, IssuedTokens, TokenReuse
from server.context import audit, client_ip, services, user_agent
from server.errors import ApiError
from server.origins import origin_allowed
from server.routes.models import (
    Accepted,
    EmailAddress,
    EmailStatus,
    LinkToken,
    NewPassword,
    PersonName,
    Strict,
    TokenResponse,
    UserOut,
)
from storage._util import utcnow
from storage.email_tokens import EmailPurpose, EmailTokenRepository
from storage.tokens import RefreshTokenRepository
from storage.types import User
from storage.users import EmailTaken, UserRepository

router = ApiRouter(tags=["auth"])

REFRESH_COOKIE = "intrvuer_refresh"
CSRF_COOKIE = "intrvuer_csrf"
CSRF_HEADER = "x-csrf-token"
SESSION_HEADER = "x-intrvuer-auth"
REFRESH_COOKIE_PATH = "/v1/auth/"

INVALID_CREDENTIALS = "E-mail or password is incorrect."
INVALID_LINK = "This link is invalid, has expired or was used already; ask for a new one."


class RegisterBody(Strict):
    email: EmailAddress
    password: NewPassword
    name: PersonName
    confirm_age_16: Literal[True] = Field(
        description="The candidate confirms they are at least 16 years old."
    )


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


def sign_in_origin(request: Request) -> SignInOrigin:
    """Where the request came from, as the list of sessions shows it."""
    return SignInOrigin(
        user_agent=user_agent(request), ip_prefix=network_prefix(client_ip(request))
    )


async def token_response(request: Request, user_id: str) -> TokenResponse:
    svc = services(request)
    user = await UserRepository(svc.db).get(user_id)
    assert user is not None
    issued = await svc.tokens.sign_in(svc.db, user_id, origin=sign_in_origin(request))
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
    # The account can be used at once; the address is proven when the link comes back.
    await svc.account_mail.verification(user)
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
        raise throttled(
            "too_many_registrations", "Too many accounts were registered from this address.", wait
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
        raise throttled("too_many_attempts", "Too many failed sign-in attempts.", wait)
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
        failed = error.response()
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
        return await svc.tokens.rotate(svc.db, presented, origin=sign_in_origin(request))
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


# Links sent by e-mail ------------------------------------------------------------------


class LinkBody(Strict):
    token: LinkToken = Field(description="The token of the link's ?token= parameter.")


class ForgotBody(Strict):
    email: EmailAddress


class ResetBody(Strict):
    token: LinkToken
    password: NewPassword


# The links that prove an address, answered with the address's state (verification, and
# the confirmation of a new address).
_EMAIL_LINK: Final[dict[str, Any]] = {
    "body": LinkBody,
    "response": EmailStatus,
    "auth": False,
    "errors": (400, 409),
}


def _invalid_link() -> ApiError:
    return ApiError(400, "invalid_link", INVALID_LINK)


async def throttle_links(what: str, *checks: tuple[FailureLimiter, str]) -> None:
    """Count one e-mail with a link against each (limiter, key); a 429 ``too_many_emails``
    with ``Retry-After`` while one of them is blocked."""
    wait = await admit(*checks)
    if wait:
        raise throttled("too_many_emails", f"Too many {what} were asked for.", wait)


@router.post("/v1/auth/verify-email", **_EMAIL_LINK)
async def verify_email(request: Request, body: LinkBody) -> EmailStatus:
    """Confirm the account's address with the token of the link e-mailed to it."""
    svc = services(request)
    require_local_accounts(svc.settings)
    redeemed = await EmailTokenRepository(svc.db).redeem(EmailPurpose.verify_email, body.token)
    users = UserRepository(svc.db)
    user = await users.get(redeemed.user_id) if redeemed else None
    # A link sent to an address the account has left proves nothing about its new one.
    if redeemed is None or user is None or user.email != redeemed.email:
        raise _invalid_link()
    await users.mark_email_verified(user.id)
    await audit(request, "auth.email_verified", user_id=user.id, target_id=user.id)
    return EmailStatus(email=user.email, email_verified=True)


@router.post(
    "/v1/auth/verify-email/resend",
    response=Accepted,
    status=202,
    errors=(409, 429),
)
async def resend_verification(request: Request, user: User) -> Accepted:
    """E-mail the signed-in account a new link that confirms its address."""
    svc = services(request)
    require_local_accounts(svc.settings)
    if user.email_verified:
        raise ApiError(409, "email_already_verified", "This address is verified already.")
    await throttle_links(
        "verification e-mails", (svc.mail_link_limiter, limiter_key("verify", user.id))
    )
    await svc.account_mail.verification(user)
    await audit(request, "auth.verification_sent", user_id=user.id, target_id=user.id)
    return Accepted(message="A new link is on its way to your address; it works for 24 hours.")


FORGOT_ANSWER = (
    "If an account uses this address, a link to choose a new password is on its way to it."
    " The link works once, for one hour."
)


@router.post(
    "/v1/auth/password/forgot",
    body=ForgotBody,
    response=Accepted,
    status=202,
    auth=False,
    errors=(409, 429),
)
async def forgot_password(request: Request, body: ForgotBody) -> Accepted:
    """E-mail a link that sets a new password; the same answer for every address."""
    svc = services(request)
    require_local_accounts(svc.settings)
    # Every request counts, for an account's address or not: the throttle tells nothing.
    checks = [(svc.mail_link_limiter, limiter_key("reset", body.email))]
    ip = client_ip(request)
    if ip:
        checks.append((svc.mail_link_ip_limiter, limiter_key("ip", ip)))
    await throttle_links("password-reset e-mails", *checks)
    # No look-up here: whether the address has an account is settled in the job, so the
    # answer and the time it takes are the same for both.
    await svc.account_mail.request_password_reset(body.email, ip=ip, user_agent=user_agent(request))
    return Accepted(message=FORGOT_ANSWER)


@router.post(
    "/v1/auth/password/reset",
    body=ResetBody,
    status=204,
    auth=False,
    errors=(400, 409),
)
async def reset_password(request: Request, body: ResetBody) -> None:
    """Set a new password with the token of a reset link; every session is signed out.

    Also for an account that had no password (made by Google or GitHub): the link proves
    the address as well as the provider did."""
    svc = services(request)
    require_local_accounts(svc.settings)
    # Only a live link buys the deliberately slow hashing of the new password.
    if await EmailTokenRepository(svc.db).peek(EmailPurpose.password_reset, body.token) is None:
        raise _invalid_link()
    password_hash = await hash_password(body.password)
    async with svc.db.transaction() as tx:
        links = EmailTokenRepository(tx)
        redeemed = await links.redeem(EmailPurpose.password_reset, body.token)
        users = UserRepository(tx)
        user = await users.get(redeemed.user_id) if redeemed else None
        if redeemed is None or user is None or user.email != redeemed.email:
            raise _invalid_link()
        await users.set_password(user.id, password_hash)
        # The link went to the address and came back: the address is the account's.
        await users.mark_email_verified(user.id)
        await RefreshTokenRepository(tx).revoke_user(user.id)
        await links.discard(user.id, EmailPurpose.password_reset, EmailPurpose.email_change)
    await svc.login_limiter.reset(limiter_key("email", user.email))
    await audit(request, "auth.password_reset", user_id=user.id, target_id=user.id)
    await svc.account_mail.password_changed(user)


@router.post("/v1/auth/email/confirm", **_EMAIL_LINK)
async def confirm_email_change(request: Request, body: LinkBody) -> EmailStatus:
    """Move the account to the new address the link was sent to (which is then verified)."""
    svc = services(request)
    require_local_accounts(svc.settings)
    links = EmailTokenRepository(svc.db)
    redeemed = await links.redeem(EmailPurpose.email_change, body.token)
    if redeemed is None:
        raise _invalid_link()
    try:
        user = await UserRepository(svc.db).change_email(redeemed.user_id, redeemed.email)
    except EmailTaken:
        raise ApiError(
            409, "email_taken", "Another account uses this address now; nothing was changed."
        ) from None
    if user is None:
        raise _invalid_link()
    # Links sent to the old address are of no use any more.
    await links.discard(user.id, EmailPurpose.verify_email, EmailPurpose.password_reset)
    await audit(request, "user.email_changed", user_id=user.id, target_id=user.id)
    return EmailStatus(email=user.email, email_verified=True)
