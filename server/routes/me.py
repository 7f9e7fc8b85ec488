"""The signed-in user's own profile and security settings: password, e-mail address,
the sessions signed in, and the acknowledgement of a changed privacy policy."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field
from starlette.requests import Request

from server.api import ApiRouter
from server.auth.current import require_local_accounts
from server.auth.passwords import hash_password
from server.auth.ratelimit import limiter_key
from server.auth.reauth import confirm_password, require_recent_sign_in
from server.context import audit, services
from server.errors import ApiError
from server.routes.auth import throttle_links
from server.routes.models import (
    Accepted,
    EmailAddress,
    MeOut,
    NewPassword,
    PersonName,
    Preferences,
    SessionOut,
    SessionsOut,
    Strict,
)
from storage.email_tokens import EmailPurpose, EmailTokenRepository
from storage.policies import PolicyRepository
from storage.tokens import RefreshTokenRepository
from storage.types import User
from storage.users import UserRepository

router = ApiRouter(tags=["account"])

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")  # a family id (uuid4 hex)


class ProfilePatch(Strict):
    name: PersonName | None = None
    preferences: Preferences | None = None
    confirm_age_16: Literal[True] | None = Field(
        default=None,
        description="Confirms the user is at least 16 (needed once for OAuth accounts).",
    )


class PasswordChange(Strict):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: NewPassword


class EmailChange(Strict):
    email: EmailAddress = Field(description="The new address; it gets a confirmation link.")
    password: str | None = Field(
        default=None,
        min_length=1,
        max_length=256,
        description="Required for accounts with a password; others need a recent sign-in.",
    )


class PolicyAck(Strict):
    version: str = Field(min_length=1, max_length=200)


async def _me(request: Request, user: User) -> MeOut:
    notice = await PolicyRepository(services(request).db).unacknowledged(user.id)
    return MeOut.of(user, policy_notice=notice)


@router.get("/v1/me", response=MeOut)
async def get_me(request: Request, user: User) -> MeOut:
    """The signed-in user's profile, and a policy change to acknowledge, if any."""
    return await _me(request, user)


@router.patch("/v1/me", body=ProfilePatch, response=MeOut, errors=(404,))
async def patch_me(request: Request, user: User, body: ProfilePatch) -> MeOut:
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
    return await _me(request, updated)


# Password and address ------------------------------------------------------------------


@router.post("/v1/me/password", body=PasswordChange, status=204, errors=(403, 409, 429))
async def change_password(request: Request, user: User, body: PasswordChange) -> None:
    """Change the password; every other session is signed out, this one stays."""
    svc = services(request)
    require_local_accounts(svc.settings)
    if user.password_hash is None:
        raise ApiError(
            409,
            "no_password",
            'This account has no password yet: "Forgot password?" e-mails a link that sets one.',
        )
    await confirm_password(request, user, body.current_password, action="auth.password_change")
    password_hash = await hash_password(body.new_password)
    async with svc.db.transaction() as tx:
        await UserRepository(tx).set_password(user.id, password_hash)
        await RefreshTokenRepository(tx).revoke_user(user.id, keep_family=request.state.session_id)
        # A reset link or an address change asked for before must not outlive the password.
        await EmailTokenRepository(tx).discard(
            user.id, EmailPurpose.password_reset, EmailPurpose.email_change
        )
    await audit(request, "auth.password_changed", user_id=user.id, target_id=user.id)
    await svc.account_mail.password_changed(user)


@router.post(
    "/v1/me/email", body=EmailChange, response=Accepted, status=202, errors=(403, 409, 429)
)
async def change_email(request: Request, user: User, body: EmailChange) -> Accepted:
    """Ask to move the account to a new address: it changes once the link sent there is
    followed; the address in use is told."""
    svc = services(request)
    require_local_accounts(svc.settings)
    if body.email == user.email:
        raise ApiError(409, "email_unchanged", "The account uses this address already.")
    if user.password_hash is not None:
        await confirm_password(request, user, body.password or "", action="user.email_change")
    else:
        await require_recent_sign_in(request, user, action="user.email_change")
    if await UserRepository(svc.db).get_by_email(body.email) is not None:
        raise ApiError(409, "email_taken", "An account with this e-mail address already exists.")
    await throttle_links(
        "address changes", (svc.mail_link_limiter, limiter_key("email-change", user.id))
    )
    # Only the newest request can be confirmed.
    await EmailTokenRepository(svc.db).discard(user.id, EmailPurpose.email_change)
    await svc.account_mail.email_change(user, body.email)
    await audit(request, "user.email_change_requested", user_id=user.id, target_id=user.id)
    return Accepted(
        message="Follow the link sent to the new address within 24 hours to use it from then on."
    )


# Sessions ------------------------------------------------------------------------------


@router.get("/v1/me/sessions", response=SessionsOut)
async def list_sessions(request: Request, user: User) -> SessionsOut:
    """Where the account is signed in: one entry per sign-in, most recently used first."""
    current = request.state.session_id
    found = await RefreshTokenRepository(services(request).db).sessions(user.id)
    return SessionsOut(sessions=[SessionOut.of(s, current=s.id == current) for s in found])


@router.delete("/v1/me/sessions/{session_id}", status=204, errors=(404,))
async def revoke_session(request: Request, user: User, session_id: str) -> None:
    """Sign one session out (this one too, if it is its id); its tokens stop working."""
    tokens = RefreshTokenRepository(services(request).db)
    if not _SESSION_ID.match(session_id) or not await tokens.revoke_session(user.id, session_id):
        raise ApiError(404, "not_found", "No such session.")
    await audit(request, "auth.session_revoked", user_id=user.id, target_id=session_id)


@router.delete("/v1/me/sessions", status=204)
async def revoke_all_sessions(request: Request, user: User) -> None:
    """Sign out everywhere, this session included."""
    await RefreshTokenRepository(services(request).db).revoke_user(user.id)
    await audit(request, "auth.signed_out_everywhere", user_id=user.id, target_id=user.id)


# Privacy policy ------------------------------------------------------------------------


@router.post("/v1/me/policy-ack", body=PolicyAck, status=204, errors=(409,))
async def acknowledge_policy(request: Request, user: User, body: PolicyAck) -> None:
    """Acknowledge the notice of a policy change (``policy_notice.version`` of GET /v1/me):
    its banner is no longer shown."""
    policies = PolicyRepository(services(request).db)
    latest = await policies.latest(material_only=True)
    if latest is None or latest.version != body.version:
        # An older notice, or one published since the page was loaded: show the new one.
        raise ApiError(
            409,
            "policy_version_not_current",
            "That is not the policy change to acknowledge; reload the notice (GET /v1/me).",
        )
    await policies.acknowledge(user.id, body.version)
    await audit(
        request,
        "user.policy_acknowledged",
        user_id=user.id,
        details={"version": body.version},
    )
