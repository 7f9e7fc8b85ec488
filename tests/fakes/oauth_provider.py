"""A fake Google and GitHub, over real HTTP, for sign-in tests.

One small Starlette app on 127.0.0.1 and a free port serves the endpoints of both
providers at their real paths, with their real request and reply formats:

- Google: ``/o/oauth2/v2/auth``, ``/token`` (form-encoded; errors as JSON with a 4xx),
  ``/v1/userinfo``;
- GitHub: ``/login/oauth/authorize``, ``/login/oauth/access_token`` (JSON only when asked
  with ``Accept: application/json``; errors with HTTP 200), ``/user``, ``/user/emails``.

Both authorize endpoints insist on PKCE (S256) and the token endpoints check the
``code_verifier`` against the recorded challenge, so a server that skips or botches PKCE
fails here as it would there. The person "signed in at the provider" is whoever
``sign_in`` named; ``deny`` makes them press Cancel; ``fault`` breaks the token endpoint.
Every request lands in ``requests``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from tests.fakes.serving import serve_app

Provider = Literal["google", "github"]
Fault = Literal["token_500", "token_hang"]

GOOGLE_CLIENT_ID = "google-client-id.apps.example"
GOOGLE_CLIENT_SECRET = "google-client-secret"  # noqa: S105 - a fake's fixed credential
GITHUB_CLIENT_ID = "Iv1.githubclientid"
GITHUB_CLIENT_SECRET = "github-client-secret"  # noqa: S105


@dataclass
class FakeEmail:
    email: str
    verified: bool = True
    primary: bool = False


@dataclass
class FakeAccount:
    """A person at the provider. GitHub needs a numeric ``subject`` (its user id)."""

    subject: str
    email: str
    email_verified: bool = True
    name: str | None = "Ada Lovelace"
    login: str = "ada"
    # GitHub's /user/emails; by default just ``email`` as the primary address.
    extra_emails: list[FakeEmail] = field(default_factory=list)

    def github_emails(self) -> list[dict[str, Any]]:
        emails = [FakeEmail(self.email, self.email_verified, primary=True), *self.extra_emails]
        return [
            {"email": e.email, "primary": e.primary, "verified": e.verified, "visibility": None}
            for e in emails
        ]


@dataclass
class LoggedRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Grant:
    provider: Provider
    account: FakeAccount
    redirect_uri: str
    code_challenge: str


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class FakeOAuthProvider:
    """The fake's state and its Starlette app; run it with ``running_fake_provider``."""

    def __init__(self) -> None:
        self.url = ""
        self.accounts: dict[Provider, FakeAccount | None] = {"google": None, "github": None}
        self.redirect_bases: list[str] = []
        self.deny = False
        self.fault: Fault | None = None
        self.requests: list[LoggedRequest] = []
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, tuple[Provider, FakeAccount]] = {}
        self._release = asyncio.Event()  # ends a "hanging" token request at shutdown
        self.app = Starlette(
            routes=[
                Route("/o/oauth2/v2/auth", self._google_authorize),
                Route("/token", self._google_token, methods=["POST"]),
                Route("/v1/userinfo", self._google_userinfo),
                Route("/login/oauth/authorize", self._github_authorize),
                Route("/login/oauth/access_token", self._github_token, methods=["POST"]),
                Route("/user", self._github_user),
                Route("/user/emails", self._github_emails),
            ]
        )

    # Set-up -------------------------------------------------------------------------------

    def sign_in(self, provider: Provider, account: FakeAccount) -> None:
        """Who is signed in at the provider when the browser arrives there."""
        self.accounts[provider] = account

    def allow_redirects_to(self, base_url: str) -> None:
        """Register our server's callbacks (its port is only known once it runs)."""
        self.redirect_bases.append(base_url.rstrip("/"))

    def settings_overrides(self) -> dict[str, Any]:
        """``Settings`` fields that point a server at this fake."""
        return {
            "google_client_id": GOOGLE_CLIENT_ID,
            "google_client_secret": SecretStr(GOOGLE_CLIENT_SECRET),
            "google_authorize_url": f"{self.url}/o/oauth2/v2/auth",
            "google_token_url": f"{self.url}/token",
            "google_userinfo_url": f"{self.url}/v1/userinfo",
            "github_client_id": GITHUB_CLIENT_ID,
            "github_client_secret": SecretStr(GITHUB_CLIENT_SECRET),
            "github_authorize_url": f"{self.url}/login/oauth/authorize",
            "github_token_url": f"{self.url}/login/oauth/access_token",
            "github_api_url": self.url,
        }

    def requests_to(self, path: str) -> list[LoggedRequest]:
        return [logged for logged in self.requests if logged.path == path]

    # Shared behaviour ---------------------------------------------------------------------

    async def _log(self, request: Request) -> dict[str, str]:
        form: dict[str, str] = {}
        if request.method == "POST":
            form = {key: str(value) for key, value in (await request.form()).items()}
        self.requests.append(
            LoggedRequest(
                method=request.method,
                path=request.url.path,
                query=dict(request.query_params),
                form=form,
                headers=dict(request.headers),
            )
        )
        return form

    def _redirect_allowed(self, redirect_uri: str) -> bool:
        return any(redirect_uri.startswith(f"{base}/") for base in self.redirect_bases)

    async def _authorize(self, request: Request, provider: Provider, client_id: str) -> Response:
        await self._log(request)
        params = request.query_params
        redirect_uri = params.get("redirect_uri", "")
        # Like the real ones: a bad client or redirect URI is an error page, not a redirect.
        if params.get("client_id") != client_id:
            return PlainTextResponse("invalid_client: unknown client_id", status_code=400)
        if not self._redirect_allowed(redirect_uri):
            return PlainTextResponse("redirect_uri_mismatch", status_code=400)
        back: dict[str, str] = {"state": params.get("state", "")}
        account = self.accounts[provider]
        if provider == "google" and params.get("response_type") != "code":
            back["error"] = "unsupported_response_type"
        elif params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            back["error"] = "invalid_request"
        elif self.deny or account is None:
            back["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Grant(provider, account, redirect_uri, params["code_challenge"])
            back["code"] = code
            if provider == "google":
                # Google adds these; a callback has to tolerate them.
                back.update(scope=params.get("scope", ""), authuser="0", prompt="consent")
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)

    async def _redeem(
        self, provider: Provider, form: dict[str, str], client_id: str, client_secret: str
    ) -> tuple[str, str] | str:
        """An access token and its scope, or the OAuth error code."""
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return "invalid_client"
        grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.provider != provider:
            return "invalid_grant"
        if form.get("redirect_uri") != grant.redirect_uri:
            return "redirect_uri_mismatch"
        if s256(form.get("code_verifier", "")) != grant.code_challenge:
            return "invalid_code_verifier"
        token = secrets.token_urlsafe(24)
        self._tokens[token] = (provider, grant.account)
        return token, "openid email profile" if provider == "google" else "read:user,user:email"

    async def _fault(self) -> Response | None:
        if self.fault == "token_500":
            return JSONResponse({"error": "internal_failure"}, status_code=500)
        if self.fault == "token_hang":
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(30):
                    await self._release.wait()
            return JSONResponse({"error": "internal_failure"}, status_code=500)
        return None

    def _account(self, request: Request, provider: Provider) -> FakeAccount | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() not in ("bearer", "token"):
            return None
        found = self._tokens.get(token.strip())
        return found[1] if found and found[0] == provider else None

    # Google -------------------------------------------------------------------------------

    async def _google_authorize(self, request: Request) -> Response:
        return await self._authorize(request, "google", GOOGLE_CLIENT_ID)

    async def _google_token(self, request: Request) -> Response:
        form = await self._log(request)
        if (broken := await self._fault()) is not None:
            return broken
        if form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
        outcome = await self._redeem("google", form, GOOGLE_CLIENT_ID, GOOGLE_CLIENT_SECRET)
        if isinstance(outcome, str):
            status = 401 if outcome == "invalid_client" else 400
            # Google reports a PKCE mismatch as a plain invalid_grant.
            error = "invalid_grant" if outcome == "invalid_code_verifier" else outcome
            return JSONResponse({"error": error, "error_description": outcome}, status)
        token, scope = outcome
        return JSONResponse(
            {"access_token": token, "expires_in": 3599, "scope": scope, "token_type": "Bearer"}
        )

    async def _google_userinfo(self, request: Request) -> Response:
        await self._log(request)
        account = self._account(request, "google")
        if account is None:
            return JSONResponse({"error": "invalid_request"}, status_code=401)
        return JSONResponse(
            {
                "sub": account.subject,
                "email": account.email,
                "email_verified": account.email_verified,
                "name": account.name,
                "picture": "https://example.invalid/a.png",
            }
        )

    # GitHub -------------------------------------------------------------------------------

    async def _github_authorize(self, request: Request) -> Response:
        return await self._authorize(request, "github", GITHUB_CLIENT_ID)

    async def _github_token(self, request: Request) -> Response:
        form = await self._log(request)
        if (broken := await self._fault()) is not None:
            return broken
        outcome = await self._redeem("github", form, GITHUB_CLIENT_ID, GITHUB_CLIENT_SECRET)
        if isinstance(outcome, str):
            github_error = {
                "invalid_client": "incorrect_client_credentials",
                "redirect_uri_mismatch": "redirect_uri_mismatch",
            }.get(outcome, "bad_verification_code")
            reply = {"error": github_error, "error_description": outcome}
        else:
            token, scope = outcome
            reply = {"access_token": token, "scope": scope, "token_type": "bearer"}
        # GitHub answers 200 either way, and form-encoded unless asked for JSON.
        if "application/json" in request.headers.get("accept", ""):
            return JSONResponse(reply)
        return Response(urlencode(reply), media_type="application/x-www-form-urlencoded")

    async def _github_user(self, request: Request) -> Response:
        await self._log(request)
        account = self._account(request, "github")
        if account is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(
            {"id": int(account.subject), "login": account.login, "name": account.name}
        )

    async def _github_emails(self, request: Request) -> Response:
        await self._log(request)
        account = self._account(request, "github")
        if account is None:
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return JSONResponse(account.github_emails())


@contextlib.asynccontextmanager
async def running_fake_provider() -> AsyncIterator[FakeOAuthProvider]:
    """A ``FakeOAuthProvider`` listening on a free port for the block."""
    fake = FakeOAuthProvider()
    async with serve_app(fake.app) as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake._release.set()
