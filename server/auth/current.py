"""Who is calling: the bearer token of a request, resolved to a user."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from server.auth.tokens import InvalidToken
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


async def authenticate(conn: HTTPConnection) -> User:
    """The signed-in user, or a 401 ``ApiError``."""
    token = bearer_token(conn)
    if token is None:
        raise ApiError(
            401,
            "not_authenticated",
            "Sign in first: send an Authorization: Bearer <access token> header.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    svc = services(conn)
    try:
        claims = svc.tokens.verify_access(token)
    except InvalidToken:
        if svc.external_auth is not None:
            user = await svc.external_auth.authenticate(svc.db, token)
            if user is not None:
                return user
        raise ApiError(
            401,
            "invalid_token",
            "The access token is invalid or expired.",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    found = await UserRepository(svc.db).get(claims.user_id)
    if found is None:
        raise ApiError(401, "invalid_token", "The access token is invalid or expired.")
    conn.state.auth_time = claims.auth_time
    return found
