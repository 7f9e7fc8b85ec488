"""The handler of every durable job kind. Later features register theirs here."""

from __future__ import annotations

import os
import socket

from server import conclusion, privacy
from server.auth import account_mail
from server.jobs import documents as document_jobs
from server.jobs import feedback as feedback_jobs
from server.jobs import turns as turn_writer
from server.mail import outbox
from server.services import SEALED_JOB_KINDS, Services
from storage.interviews import turn_from_json
from storage.queue import Handler, Job


def consumer_name(role: str) -> str:
    """A name unique to this process, so the queue can tell consumers apart."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


def handlers(svc: Services) -> dict[str, Handler]:
    async def save_turn(job: Job) -> None:
        # Idempotent: a redelivered turn hits the (interview, turn) key and changes nothing.
        await conclusion.store_turn(svc, turn_from_json(job.payload))

    async def save_turn_metrics(job: Job) -> None:
        await conclusion.store_turn_metrics(
            svc,
            str(job.payload["interview_id"]),
            int(job.payload["turn"]),
            {str(name): float(value) for name, value in dict(job.payload["metrics"]).items()},
        )

    by_kind: dict[str, Handler] = {
        turn_writer.JOB_KIND: save_turn,
        turn_writer.METRICS_JOB_KIND: save_turn_metrics,
        **document_jobs.handlers(svc),
        **feedback_jobs.handlers(svc),
        **outbox.handlers(svc.mailer),
        **account_mail.handlers(svc.account_mail),
    }
    return {
        kind: privacy.unsealing(svc.cipher, handler) if kind in SEALED_JOB_KINDS else handler
        for kind, handler in by_kind.items()
    }
