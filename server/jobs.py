"""Handlers for durable jobs, by kind. Later features register theirs here."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from server import conclusion, document_jobs, feedback_jobs, privacy, turn_writer
from server.services import Services
from storage.queue import Handler, Job
from storage.types import InterviewTurn


def consumer_name(role: str) -> str:
    """A name unique to this process, so the queue can tell consumers apart."""
    return f"{role}-{socket.gethostname()}-{os.getpid()}"


def handlers(svc: Services) -> dict[str, Handler]:
    async def save_turn(job: Job) -> None:
        # Idempotent: a redelivered turn hits the (interview, turn) key and changes nothing.
        payload = privacy.unseal(svc.cipher, dict(job.payload))
        payload["created_at"] = datetime.fromisoformat(payload["created_at"])
        await conclusion.store_turn(svc, InterviewTurn(**payload))

    return {
        turn_writer.JOB_KIND: save_turn,
        **document_jobs.handlers(svc),
        **feedback_jobs.handlers(svc),
    }
