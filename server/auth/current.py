"""Who is calling: the bearer token of a request, resolved to a user, and what an account
must have done before it may use the routes."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from server.auth.tokens import InvalidToken
from server.auth.types import SignedIn
from server.context import services
from server.errors import ApiError
from server.settings import Settings
from storage.tokens import RefreshTokenRepository
from storage.types import User
from storage.users import UserRepository

# The routes an account may use before it confirmed it is 16 or over: reading its profile
# and giving the confirmation, or deleting the account (someone who cannot confirm must
# still be able to erase what signing in with a provider created). Sign-out takes a
# refresh token, not an access token, so it is never held back.
BEFORE_AGE_CONFIRMATION = frozenset(
    {("GET", "/v1/me"), ("PATCH", "/v1/me"), ("DELETE", "/v1/account")}
)


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_age_confirmed(user: User) -> None:
    """Raise 403 ``age_confirmation_required`` until the account confirmed its age (done
    at registration; once, in the profile, for accounts made by a sign-in provider)."""
    if user.age_confirmed_at is None:
        raise ApiError(
            403,
            "age_confirmation_required",
            'Confirm that you are 16 or over first: PATCH /v1/me with {"confirm_age_16": true}.',
        )


def require_local_accounts(settings: Settings) -> None:
    """Raise 409 ``managed_by_identity_provider`` when Supabase keeps the accounts: their
    addresses, verification and passwords are changed on its pages, not here."""
    if settings.auth_provider == "supabase":
        raise ApiError(
            409,
            "managed_by_identity_provider",
            "Accounts are managed by Supabase here: verify, reset or change e-mail addresses"
            " and passwords through it.",
        )


async def signed_in(conn: HTTPConnection) -> SignedIn:
    """The user behind the request's bearer token and when they signed in, or a 401."""
    token = bearer_token(conn)
    if token is None:
        raise ApiError(
            401,
            "not_authenticated",
            "Sign in first: send an Authorization: Bearer <access token> header.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    svc = services(conn)
    invalid = ApiError(
        401,
        "invalid_token",
        "The access token is invalid or expired.",
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
    try:
        claims = svc.tokens.verify_access(token)
    except InvalidToken:
        external = await svc.external_auth.sign_in(svc.db, token) if svc.external_auth else None
        if external is None:
            raise invalid from None
        return external
    found = await UserRepository(svc.db).get(claims.user_id)
    if found is None:
        raise invalid
    # A session that was signed out (from the list of sessions, by a password change, or
    # on reuse of a refresh token) ends now, not when its last access token expires.
    if claims.family_id is not None and await RefreshTokenRepository(svc.db).family_revoked(
        claims.family_id
    ):
        raise invalid
    return SignedIn(found, claims.auth_time, claims.family_id)


async def authenticate(conn: HTTPConnection) -> User:
    """The signed-in user, or a 401 ``ApiError``; a 403 for an account that has not
    confirmed its age, on every route but those of ``BEFORE_AGE_CONFIRMATION``.

    Sets ``conn.state.auth_time``: when the person signed in (None: unknown), and
    ``conn.state.session_id``: the refresh-token family of the token (None: not known)."""
    who = await signed_in(conn)
    conn.state.auth_time = who.auth_time
    conn.state.session_id = who.family_id
    if _route(conn) not in BEFORE_AGE_CONFIRMATION:
        require_age_confirmed(who.user)
    return who.user


def _route(conn: HTTPConnection) -> tuple[str, str]:
    """(method, path template) of the route the request matched."""
    method = conn.scope.get("method", "")
    route = conn.scope.get("route")
    path = getattr(route, "path", conn.url.path)
    return ("GET" if method == "HEAD" else method, path)
