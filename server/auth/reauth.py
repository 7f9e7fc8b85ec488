"""Proving it is really the account's holder before a sensitive change: the current
password, or for accounts without one a sign-in (not a refresh) within
``REAUTH_WINDOW_S``. Each refusal is audited as ``<action>_refused`` with its reason."""

from __future__ import annotations

from starlette.requests import Request

from server.auth.passwords import verify_password
from server.auth.ratelimit import limiter_key, throttled
from server.context import audit, services
from server.errors import ApiError
from storage._util import utcnow
from storage.types import User


async def confirm_password(request: Request, user: User, password: str, *, action: str) -> None:
    """A 403 unless ``password`` is the account's. Wrong ones count with failed sign-ins
    of the address, so a stolen session cannot try passwords faster than the sign-in."""
    svc = services(request)
    key = limiter_key("email", user.email)
    wait = await svc.login_limiter.retry_after(key)
    if wait:
        raise throttled("too_many_attempts", "Too many wrong passwords.", wait)
    if user.password_hash is None or not await verify_password(user.password_hash, password):
        await svc.login_limiter.record_failure(key)
        await audit(request, f"{action}_refused", user_id=user.id, details={"reason": "password"})
        raise ApiError(403, "password_required", "Confirm with your current password.")


async def require_recent_sign_in(request: Request, user: User, *, action: str) -> None:
    """For accounts without a password: a 403 unless the sign-in (not a refresh) was
    within ``REAUTH_WINDOW_S``."""
    window = services(request).settings.reauth_window_s
    signed_in = request.state.auth_time
    if signed_in is None or (utcnow() - signed_in).total_seconds() > window:
        await audit(
            request, f"{action}_refused", user_id=user.id, details={"reason": "reauthentication"}
        )
        raise ApiError(
            403,
            "reauthentication_required",
            f"Sign in again (within the last {duration(window)}) first.",
        )


def duration(seconds: int) -> str:
    count, unit = (seconds // 60, "minute") if seconds % 60 == 0 else (seconds, "second")
    return f"{count} {unit}" if count == 1 else f"{count} {unit}s"
