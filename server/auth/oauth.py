"""Google and GitHub sign-in (authorization code + PKCE), and linking outside identities.

Each provider knows its authorize URL, how to exchange a code for an access token and how
to read the signed-in person's profile; ``enabled_providers`` picks those configured.
``resolve_identity`` turns an identity proven by a provider (here, or Supabase) into a
local user: the linked one, a local account with the same e-mail — when both the provider
and the account have verified it — or a new one.

Nothing here logs codes, tokens or e-mail addresses; provider failures become
``OAuthProviderError`` with a message that is safe to log and to show.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from server.settings import Settings
from storage.database import Database
from storage.tokens import RefreshTokenRepository
from storage.types import User
from storage.users import EmailTaken, UserRepository

ProviderModel = TypeVar("ProviderModel", bound=BaseModel)

# The "error" member of a provider's reply is echoed in messages, so only a plain code.
_ERROR_CODE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_NAME_MAX = 100  # the limit of a name chosen at registration


class OAuthProviderError(Exception):
    """The provider failed, timed out, or answered something we cannot use."""


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """Who a provider says signed in. ``email_verified`` is the provider's word for it."""

    provider: str
    subject: str
    email: str | None
    email_verified: bool
    name: str


# PKCE (RFC 7636) ------------------------------------------------------------------------


def new_code_verifier() -> str:
    """A fresh PKCE code verifier: 86 characters from the unreserved alphabet."""
    return secrets.token_urlsafe(64)


def code_challenge(verifier: str) -> str:
    """The S256 challenge of a verifier: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# Providers ------------------------------------------------------------------------------


class OAuthProvider(Protocol):
    """One identity provider speaking the OAuth 2.0 authorization-code flow."""

    name: str
    scope: str

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        """Where to send the browser to sign in."""
        ...

    async def exchange_code(
        self, http: httpx.AsyncClient, *, code: str, code_verifier: str, redirect_uri: str
    ) -> str:
        """Trade an authorization code for the provider's access token."""
        ...

    async def fetch_identity(self, http: httpx.AsyncClient, access_token: str) -> ExternalIdentity:
        """Read who signed in, with the provider's access token."""
        ...


class _TokenReply(BaseModel):
    access_token: str | None = None
    error: str | None = None


async def _call(
    http: httpx.AsyncClient, what: str, method: str, url: str, timeout_s: float, **kwargs: Any
) -> Any:
    """One request to a provider; any failure becomes an ``OAuthProviderError``."""
    try:
        response = await http.request(method, url, timeout=timeout_s, **kwargs)
    except httpx.TimeoutException:
        raise OAuthProviderError(f"{what} did not answer in time") from None
    except httpx.HTTPError as error:
        raise OAuthProviderError(f"{what} is unreachable ({error.__class__.__name__})") from None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code >= 400:
        code = payload.get("error") if isinstance(payload, dict) else None
        detail = f": {code}" if isinstance(code, str) and _ERROR_CODE.match(code) else ""
        raise OAuthProviderError(f"{what} answered HTTP {response.status_code}{detail}")
    if payload is None:
        raise OAuthProviderError(f"{what} answered something other than JSON")
    return payload


def _parse(model: type[ProviderModel], payload: Any, what: str) -> ProviderModel:
    try:
        return model.model_validate(payload)
    except ValidationError:
        raise OAuthProviderError(f"{what} answered an unexpected document") from None


def _access_token(reply: _TokenReply, what: str) -> str:
    # GitHub reports a bad code with HTTP 200 and an "error" member, so check both.
    if reply.error or not reply.access_token:
        code = reply.error if reply.error and _ERROR_CODE.match(reply.error) else "no token"
        raise OAuthProviderError(f"{what} refused the code: {code}")
    return reply.access_token


def _display_name(*candidates: str | None) -> str:
    for candidate in candidates:
        if candidate and candidate.strip():
            return " ".join(candidate.split())[:_NAME_MAX]
    return "New user"


@dataclass(frozen=True, slots=True)
class _Client:
    client_id: str
    client_secret: str
    authorize_endpoint: str
    token_endpoint: str
    timeout_s: float

    def authorize_url(self, *, scope: str, redirect_uri: str, state: str, challenge: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": scope,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
            }
        )
        separator = "&" if "?" in self.authorize_endpoint else "?"
        return f"{self.authorize_endpoint}{separator}{query}"


class _CodeFlowProvider:
    """The authorize URL and the code exchange, the same for both providers."""

    name: str
    scope: str
    label: str  # how messages name the provider
    # RFC 6749 asks for it; GitHub's documented exchange has none, and gets none.
    sends_grant_type: bool = True

    def __init__(self, client: _Client) -> None:
        self._client = client

    def authorize_url(self, *, redirect_uri: str, state: str, code_challenge: str) -> str:
        return self._client.authorize_url(
            scope=self.scope, redirect_uri=redirect_uri, state=state, challenge=code_challenge
        )

    async def exchange_code(
        self, http: httpx.AsyncClient, *, code: str, code_verifier: str, redirect_uri: str
    ) -> str:
        what = f"{self.label}'s token endpoint"
        form = {"grant_type": "authorization_code"} if self.sends_grant_type else {}
        payload = await _call(
            http,
            what,
            "POST",
            self._client.token_endpoint,
            self._client.timeout_s,
            data={
                **form,
                "code": code,
                "code_verifier": code_verifier,
                "redirect_uri": redirect_uri,
                "client_id": self._client.client_id,
                "client_secret": self._client.client_secret,
            },
            # Without it GitHub answers form-encoded.
            headers={"accept": "application/json"},
        )
        return _access_token(_parse(_TokenReply, payload, what), what)


class _GoogleUserInfo(BaseModel):
    sub: str
    email: str | None = None
    email_verified: bool = False
    name: str | None = None


class GoogleProvider(_CodeFlowProvider):
    """Google's OpenID Connect endpoints; the profile comes from the userinfo endpoint."""

    name = "google"
    scope = "openid email profile"
    label = "Google"

    def __init__(self, client: _Client, userinfo_url: str) -> None:
        super().__init__(client)
        self._userinfo_url = userinfo_url

    async def fetch_identity(self, http: httpx.AsyncClient, access_token: str) -> ExternalIdentity:
        what = "Google's userinfo endpoint"
        payload = await _call(
            http,
            what,
            "GET",
            self._userinfo_url,
            self._client.timeout_s,
            headers={"authorization": f"Bearer {access_token}", "accept": "application/json"},
        )
        info = _parse(_GoogleUserInfo, payload, what)
        return ExternalIdentity(
            provider=self.name,
            subject=info.sub,
            email=info.email,
            email_verified=bool(info.email and info.email_verified),
            name=_display_name(info.name, info.email.split("@")[0] if info.email else None),
        )


class _GitHubUser(BaseModel):
    id: int
    login: str
    name: str | None = None


class _GitHubEmail(BaseModel):
    email: str
    primary: bool = False
    verified: bool = False


def _pick_github_email(emails: list[_GitHubEmail]) -> _GitHubEmail | None:
    """The primary address if verified, else any verified one, else the unverified primary."""
    ranked = sorted(emails, key=lambda item: (not item.verified, not item.primary))
    return ranked[0] if ranked and (ranked[0].verified or ranked[0].primary) else None


class GitHubProvider(_CodeFlowProvider):
    """GitHub OAuth apps; the verified e-mail comes from ``/user/emails``."""

    name = "github"
    scope = "read:user user:email"
    label = "GitHub"
    sends_grant_type = False

    def __init__(self, client: _Client, api_url: str) -> None:
        super().__init__(client)
        self._api_url = api_url.rstrip("/")

    async def fetch_identity(self, http: httpx.AsyncClient, access_token: str) -> ExternalIdentity:
        headers = {
            "authorization": f"Bearer {access_token}",
            "accept": "application/vnd.github+json",
            "x-github-api-version": "2022-11-28",
        }
        timeout_s = self._client.timeout_s
        what = "GitHub's /user"
        user = _parse(
            _GitHubUser,
            await _call(http, what, "GET", f"{self._api_url}/user", timeout_s, headers=headers),
            what,
        )
        what = "GitHub's /user/emails"
        payload = await _call(
            http, what, "GET", f"{self._api_url}/user/emails", timeout_s, headers=headers
        )
        if not isinstance(payload, list):
            raise OAuthProviderError(f"{what} answered an unexpected document")
        chosen = _pick_github_email([_parse(_GitHubEmail, item, what) for item in payload])
        return ExternalIdentity(
            provider=self.name,
            subject=str(user.id),  # the numeric id is stable; the login can be renamed
            email=chosen.email if chosen else None,
            email_verified=bool(chosen and chosen.verified),
            name=_display_name(user.name, user.login),
        )


def _client(settings: Settings, prefix: Literal["google", "github"]) -> _Client | None:
    """The client in the ``<prefix>_*`` settings; None without its id or secret."""
    secret: SecretStr | None = getattr(settings, f"{prefix}_client_secret")
    client_id: str = getattr(settings, f"{prefix}_client_id")
    if not client_id or not secret:
        return None
    return _Client(
        client_id=client_id,
        client_secret=secret.get_secret_value(),
        authorize_endpoint=getattr(settings, f"{prefix}_authorize_url"),
        token_endpoint=getattr(settings, f"{prefix}_token_url"),
        timeout_s=settings.oauth_timeout_s,
    )


def enabled_providers(settings: Settings) -> dict[str, OAuthProvider]:
    """The providers with a client id and secret; none when Supabase manages accounts."""
    if settings.auth_provider != "local":
        return {}
    providers: dict[str, OAuthProvider] = {}
    if google := _client(settings, "google"):
        providers["google"] = GoogleProvider(google, userinfo_url=settings.google_userinfo_url)
    if github := _client(settings, "github"):
        providers["github"] = GitHubProvider(github, api_url=settings.github_api_url)
    return providers


# Linking identities to local users ------------------------------------------------------


class SignInOutcome(StrEnum):
    existing = "existing"  # the identity was already linked
    linked = "linked"  # linked now to the local account with the same verified e-mail
    created = "created"  # a new account


@dataclass(frozen=True, slots=True)
class ResolvedUser:
    user: User
    outcome: SignInOutcome


def audit_event(resolved: ResolvedUser, provider: str) -> tuple[str, dict[str, str]] | None:
    """The audit action and details of a sign-in that made or linked an account; None
    when the identity was linked already."""
    if resolved.outcome is SignInOutcome.created:
        return "auth.register", {"method": provider}
    if resolved.outcome is SignInOutcome.linked:
        return "auth.identity_linked", {"provider": provider}
    return None


class EmailUnverifiedConflict(Exception):
    """A local account has this e-mail, and the provider has not verified it: linking
    would let whoever typed the address into the provider take over the account."""

    def __init__(self, user_id: str) -> None:
        super().__init__("e-mail not verified by the provider")
        self.user_id = user_id


class AccountEmailUnverified(Exception):
    """A local account has this e-mail, and that account never proved the address (its
    verification link was not followed). Linking would hand the account to the provider's
    user or, keeping its password, keep whoever set it in; so neither is done until the
    account verifies the address or its password is reset by a link sent to it."""

    def __init__(self, user_id: str) -> None:
        super().__init__("e-mail of the local account not verified")
        self.user_id = user_id


class EmailMissing(Exception):
    """The provider shared no e-mail address, and an account needs one."""


async def resolve_identity(
    db: Database, identity: ExternalIdentity, *, claim_unverified: bool = False
) -> ResolvedUser:
    """The local user for an identity a provider vouched for, linking or creating it.

    Raises ``EmailUnverifiedConflict`` rather than link by an e-mail the provider has not
    verified, ``AccountEmailUnverified`` rather than link to an account that has not
    verified it, and ``EmailMissing`` when a new account would have no address. Linking
    keeps the account's password.

    ``claim_unverified`` (Supabase mode, where accounts cannot verify their address here)
    links an unverified account anyway, and takes its password and sessions away: the
    provider has just proven control of the address, whoever set the password never did.
    """
    users = UserRepository(db)
    # Two first sign-ins of one person can race to create the account; the loser sees
    # EmailTaken and, on the second pass, finds the identity the winner linked.
    for _ in range(2):
        user = await users.find_identity(identity.provider, identity.subject)
        if user is not None:
            return ResolvedUser(user, SignInOutcome.existing)
        if not identity.email:
            raise EmailMissing(identity.provider)
        local = await users.get_by_email(identity.email)
        if local is not None:
            if not identity.email_verified:
                raise EmailUnverifiedConflict(local.id)
            if not local.email_verified and not claim_unverified:
                raise AccountEmailUnverified(local.id)
            await users.link_identity(
                local.id,
                provider=identity.provider,
                subject=identity.subject,
                email=identity.email,
            )
            if not local.email_verified:
                # Only with claim_unverified. Drop the unproven password and its sessions,
                # so an account registered in advance with someone else's address cannot
                # be kept.
                await users.mark_email_verified(local.id)
                await users.clear_password(local.id)
                await RefreshTokenRepository(db).revoke_user(local.id)
            linked = await users.find_identity(identity.provider, identity.subject)
            assert linked is not None
            outcome = SignInOutcome.linked if linked.id == local.id else SignInOutcome.existing
            return ResolvedUser(linked, outcome)
        try:
            async with db.transaction() as tx:
                in_tx = UserRepository(tx)
                user = await in_tx.create(
                    email=identity.email,
                    name=identity.name,
                    password_hash=None,
                    email_verified=identity.email_verified,
                )
                await in_tx.link_identity(
                    user.id,
                    provider=identity.provider,
                    subject=identity.subject,
                    email=identity.email,
                )
        except EmailTaken:
            continue
        return ResolvedUser(user, SignInOutcome.created)
    raise OAuthProviderError("could not settle the account for this identity; try again")
