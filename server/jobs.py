"""Handlers for durable jobs, by kind. Later features register theirs here."""

from __future__ import annotations

import os
import socket

from storage.queue import Handler, Job

from server.services import Services
from storage._util import utcnow
from storage.tokens import OAuthStateRepository, RefreshTokenRepository


def consumer_name(role: str) -> str:
    """A name unique to this process, so the queue can tell consumers apart."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


def handlers(svc: Services) -> dict[str, Handler]:
    async def cleanup_tokens(job: Job) -> None:
        # Idempotent: deleting what has expired twice deletes nothing the second time.
        await RefreshTokenRepository(svc.db).delete_expired(utcnow())
        await OAuthStateRepository(svc.db).delete_expired()

    return {"auth.cleanup": cleanup_tokens}
