"""The caller's own records, read by the ids a request names.

Repositories scope every read to the owner, so another user's record reads as missing;
the answer is the same 404 for both, and ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from server.errors import ApiError
from storage.types import User

Found = TypeVar("Found")
# A repository's ``get(user_id, record_id)``.
Lookup = Callable[[str, str], Awaitable[Found | None]]


async def owned(
    lookup: Lookup[Found], user: User, record_id: str, what: str, *, code: str = "not_found"
) -> Found:
    """The caller's record ``record_id``; a 404 ``code`` ("No such <what>.") when there is
    none."""
    found = await lookup(user.id, record_id)
    if found is None:
        raise ApiError(404, code, f"No such {what}.")
    return found


async def referenced(
    lookup: Lookup[Found], user: User, record_id: str | None, what: str, *, code: str
) -> Found | None:
    """The caller's record a request body may name: None when it names none."""
    return None if record_id is None else await owned(lookup, user, record_id, what, code=code)
