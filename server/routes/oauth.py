"""Sign-in with Google or GitHub: start the flow, then finish it on the callback.

The start route stores a one-time ``state`` with the PKCE verifier and where to go back
to, and sends the browser to the provider. The callback takes that state exactly once,
trades the code for the provider's token, reads the profile, finds or creates the local
user, and answers our tokens: as JSON to a client that asks for JSON, otherwise as a
redirect that carries them in the URL fragment, which browsers never send to a server.

The state is also bound to the browser that started the flow by a short-lived cookie, so
a callback link crafted by someone else cannot sign a victim into the attacker's account.

A sign-in that fails once the state is known goes back to the page it started from with
``#error=<code>`` for a browser (the same codes a JSON client gets with the status):
``oauth_denied``, ``oauth_provider_error``, ``oauth_email_missing``, ``email_unverified``
(the provider has not verified the address of an existing account) and
``email_not_verified`` (the existing account has not).
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from datetime import timedelta
from urllib.parse import urlencode

from pydantic import BaseModel, Field, field_validator
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from server.api import ApiRouter
from server.auth.oauth import (
    AccountEmailUnverified,
    EmailMissing,
    EmailUnverifiedConflict,
    OAuthProvider,
    OAuthProviderError,
    audit_event,
    code_challenge,
    enabled_providers,
    new_code_verifier,
    resolve_identity,
)
from server.context import audit, services
from server.errors import ApiError
from server.routes.auth import token_response
from server.routes.models import Strict, TokenResponse
from storage._util import utcnow
from storage.tokens import OAuthStateRepository
from storage.types import OAuthState
from storage.users import UserRepository

log = logging.getLogger("intrvuer.oauth")

router = ApiRouter(tags=["auth"])

STATE_TTL = timedelta(minutes=10)
STATE_COOKIE = "intrvuer_oauth_state"
COOKIE_PATH = "/v1/auth/oauth/"
_STATE = re.compile(r"^[A-Za-z0-9_-]{20,128}$")
_INVALID_STATE = "The sign-in link is invalid, expired or already used; start again."


class ProviderOut(BaseModel):
    name: str = Field(description="Provider name, as used in the start path.")
    start_url: str = Field(description="Where to send the browser to sign in.")


class ProvidersOut(BaseModel):
    providers: list[ProviderOut]


class StartQuery(Strict):
    redirect_to: str = Field(
        default="/",
        max_length=2048,
        description="Path on this site to return to after signing in (e.g. /app).",
    )

    @field_validator("redirect_to")
    @classmethod
    def _same_site_path(cls, value: str) -> str:
        # Only a path on this site: "//host" and "/\host" are other sites to a browser.
        if not value.startswith("/") or value.startswith("//") or "\\" in value:
            raise ValueError("must be a path on this site, starting with a single '/'")
        if any(ord(char) < 0x21 or ord(char) == 0x7F for char in value):
            raise ValueError("must not contain spaces or control characters")
        return value.split("#", 1)[0]


class CallbackQuery(BaseModel):
    # Providers add parameters of their own (Google: scope, authuser, prompt...): ignored.
    code: str | None = Field(default=None, max_length=2048)
    state: str = Field(max_length=256)
    error: str | None = Field(default=None, max_length=256)


def _provider(request: Request, name: str) -> OAuthProvider:
    provider = enabled_providers(services(request).settings).get(name)
    if provider is None:
        raise ApiError(404, "unknown_provider", "No such sign-in provider is enabled here.")
    return provider


def _public_url(request: Request) -> str:
    return services(request).settings.public_url.rstrip("/")


def _redirect_uri(request: Request, provider: OAuthProvider) -> str:
    return f"{_public_url(request)}/v1/auth/oauth/{provider.name}/callback"


def prefers_json(accept: str) -> bool:
    """Whether an Accept header ranks JSON above HTML; ``*/*`` alone means a browser."""
    json_q = html_q = 0.0
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.lower()
        if media in ("application/json", "application/*"):
            json_q = max(json_q, quality)
        elif media in ("text/html", "text/*"):
            html_q = max(html_q, quality)
    return json_q > 0 and json_q >= html_q


@router.get("/v1/auth/oauth/providers", response=ProvidersOut, auth=False)
async def list_providers(request: Request) -> ProvidersOut:
    """The sign-in providers enabled on this server (for the sign-in buttons)."""
    return ProvidersOut(
        providers=[
            ProviderOut(name=name, start_url=f"/v1/auth/oauth/{name}/start")
            for name in enabled_providers(services(request).settings)
        ]
    )


@router.get(
    "/v1/auth/oauth/{provider}/start",
    query=StartQuery,
    auth=False,
    status=302,
    errors=(404, 422),
    extra_responses={302: "Redirect to the provider's sign-in page"},
)
async def start_oauth(request: Request, provider: str, query: StartQuery) -> Response:
    """Start signing in with a provider: redirects the browser to its sign-in page."""
    chosen = _provider(request, provider)
    state = secrets.token_urlsafe(32)
    verifier = new_code_verifier()
    now = utcnow()
    await OAuthStateRepository(services(request).db).put(
        OAuthState(
            state=state,
            provider=chosen.name,
            code_verifier=verifier,
            redirect_to=query.redirect_to,
            created_at=now,
            expires_at=now + STATE_TTL,
        )
    )
    response = RedirectResponse(
        chosen.authorize_url(
            redirect_uri=_redirect_uri(request, chosen),
            state=state,
            code_challenge=code_challenge(verifier),
        ),
        status_code=302,
        headers={"cache-control": "no-store"},
    )
    response.set_cookie(
        STATE_COOKIE,
        state,
        max_age=int(STATE_TTL.total_seconds()),
        path=COOKIE_PATH,
        secure=_public_url(request).startswith("https://"),
        httponly=True,
        # Lax: still sent on the top-level redirect back from the provider.
        samesite="lax",
    )
    return response


def _finish(request: Request, redirect_to: str, fragment: dict[str, str]) -> Response:
    response = RedirectResponse(
        f"{_public_url(request)}{redirect_to}#{urlencode(fragment)}",
        status_code=303,
        headers={"cache-control": "no-store"},
    )
    response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
    return response


def _link_refused(
    conflict: EmailUnverifiedConflict | AccountEmailUnverified, provider: str
) -> tuple[str, ApiError]:
    """Why an identity was not linked to the account with its e-mail: the reason audited,
    and the answer."""
    if isinstance(conflict, EmailUnverifiedConflict):
        return "email_unverified", ApiError(
            409,
            "email_unverified",
            f"An account with this e-mail exists, and {provider} has not verified the"
            " address. Sign in with your password, or verify the address there first.",
        )
    return "account_email_not_verified", ApiError(
        409,
        "email_not_verified",
        "An account with this e-mail exists and has not confirmed the address yet."
        " Sign in with its password and follow the link we e-mailed (or use"
        f' "Forgot password?"), then sign in with {provider} again.',
    )


@router.get(
    "/v1/auth/oauth/{provider}/callback",
    query=CallbackQuery,
    response=TokenResponse,
    auth=False,
    errors=(400, 404, 409, 422, 502),
    extra_responses={303: "Signed in: redirect to redirect_to, tokens in the URL fragment"},
)
async def oauth_callback(request: Request, provider: str, query: CallbackQuery) -> Response:
    """Finish signing in: the provider sends the browser here with a code and the state."""
    chosen = _provider(request, provider)
    svc = services(request)
    cookie = request.cookies.get(STATE_COOKIE, "")
    if not _STATE.match(query.state) or not hmac.compare_digest(cookie, query.state):
        raise ApiError(400, "invalid_oauth_state", _INVALID_STATE)
    pending = await OAuthStateRepository(svc.db).take(query.state)
    if pending is None or pending.provider != chosen.name:
        raise ApiError(400, "invalid_oauth_state", _INVALID_STATE)
    as_json = prefers_json(request.headers.get("accept", ""))

    def refuse(error: ApiError) -> Response:
        # Say so where they came from; a JSON client gets the error itself.
        if as_json:
            raise error
        return _finish(request, pending.redirect_to, {"error": error.code})

    if query.error is not None or not query.code:
        # The person cancelled, or the provider refused.
        log.info("oauth sign-in refused by provider", extra={"provider": chosen.name})
        return refuse(
            ApiError(400, "oauth_denied", f"Signing in with {chosen.name} was cancelled.")
        )

    try:
        access_token = await chosen.exchange_code(
            svc.http,
            code=query.code,
            code_verifier=pending.code_verifier,
            redirect_uri=_redirect_uri(request, chosen),
        )
        identity = await chosen.fetch_identity(svc.http, access_token)
        resolved = await resolve_identity(svc.db, identity)
    except OAuthProviderError as error:
        log.warning("oauth provider failed", extra={"provider": chosen.name, "reason": str(error)})
        return refuse(
            ApiError(502, "oauth_provider_error", f"Signing in with {chosen.name} failed: {error}.")
        )
    except (EmailUnverifiedConflict, AccountEmailUnverified) as conflict:
        reason, refusal = _link_refused(conflict, chosen.name)
        await audit(
            request,
            "auth.login_failed",
            user_id=conflict.user_id,
            details={"method": chosen.name, "reason": reason},
        )
        return refuse(refusal)
    except EmailMissing:
        return refuse(
            ApiError(
                400,
                "oauth_email_missing",
                f"{chosen.name} did not share an e-mail address; an account needs one.",
            )
        )

    user = resolved.user
    if event := audit_event(resolved, chosen.name):
        action, details = event
        await audit(request, action, user_id=user.id, target_id=user.id, details=details)
    await UserRepository(svc.db).record_login(user.id)
    await audit(request, "auth.login", user_id=user.id, details={"method": chosen.name})
    tokens = await token_response(request, user.id)
    if as_json:
        response: Response = Response(
            tokens.model_dump_json(),
            media_type="application/json",
            headers={"cache-control": "no-store"},
        )
        response.delete_cookie(STATE_COOKIE, path=COOKIE_PATH)
        return response
    return _finish(
        request,
        pending.redirect_to,
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "token_type": tokens.token_type,
            "expires_in": str(tokens.expires_in),
        },
    )
