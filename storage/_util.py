"""Small helpers shared by the repositories."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from storage.database import Executor


class Repository:
    """Queries of one kind of record, on the database or on an open transaction."""

    def __init__(self, db: Executor) -> None:
        self._db = db


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


# Headers are the client's to choose; the audit log and the session list keep this much.
_USER_AGENT_MAX = 512


def clip_user_agent(user_agent: str | None) -> str | None:
    """A request's User-Agent as stored: at most 512 characters, None when absent or empty."""
    return (user_agent or "")[:_USER_AGENT_MAX] or None
