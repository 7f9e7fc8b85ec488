"""Who is calling: the bearer token of a request, resolved to a user."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from server.auth.tokens import InvalidToken
from server.auth.types import SignedIn
from server.context import services
from server.errors import ApiError
from storage.types import User
from storage.users import UserRepository


def bearer_token(conn: HTTPConnection) -> str | None:
    header = conn.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


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
    return SignedIn(found, claims.auth_time)


async def authenticate(conn: HTTPConnection) -> User:
    """The signed-in user, or a 401 ``ApiError``. Sets ``conn.state.auth_time``: when
    the person signed in (None: unknown)."""
    who = await signed_in(conn)
    conn.state.auth_time = who.auth_time
    return who.user
