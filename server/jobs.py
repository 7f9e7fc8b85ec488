"""Handlers for durable jobs, by kind. Later features register theirs here."""

from __future__ import annotations

import os
import socket
from dataclasses import replace
from datetime import datetime

from server import conclusion, document_jobs, feedback_jobs, privacy, turn_writer
from server.auth import account_mail
from server.mail import outbox
from server.services import SEALED_JOB_KINDS, Services
from storage.crypto import FieldCipher
from storage.queue import Handler, Job
from storage.types import InterviewTurn


def consumer_name(role: str) -> str:
    """A name unique to this process, so the queue can tell consumers apart."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


def _unsealing(cipher: FieldCipher, handler: Handler) -> Handler:
    """``handler`` given the payload as it was before ``SealedQueue`` sealed it."""

    async def handle(job: Job) -> None:
        await handler(replace(job, payload=privacy.unseal(cipher, dict(job.payload))))

    return handle


def handlers(svc: Services) -> dict[str, Handler]:
    async def save_turn(job: Job) -> None:
        # Idempotent: a redelivered turn hits the (interview, turn) key and changes nothing.
        payload = dict(job.payload)
        payload["created_at"] = datetime.fromisoformat(payload["created_at"])
        await conclusion.store_turn(svc, InterviewTurn(**payload))

    by_kind: dict[str, Handler] = {
        turn_writer.JOB_KIND: save_turn,
        **document_jobs.handlers(svc),
        **feedback_jobs.handlers(svc),
        **outbox.handlers(svc.mailer),
        **account_mail.handlers(svc.account_mail),
    }
    return {
        kind: _unsealing(svc.cipher, handler) if kind in SEALED_JOB_KINDS else handler
        for kind, handler in by_kind.items()
    }
