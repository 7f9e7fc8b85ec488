"""E-mail leaves through the durable job queue, never from a request handler.

``send_later`` renders the message and queues it (the payload is sealed while it waits:
it holds an address and, for some messages, a single-use link). The ``mail.send`` job
hands it to the mailer; a failure is retried with the queue's backoff and ends among the
dead letters after ``QUEUE_MAX_ATTEMPTS``, while the request that asked for it has long
succeeded.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from server.mail.templates import render
from server.mail.types import Email, Mailer
from server.settings import Settings
from storage.queue import Handler, Job, JobQueue

MAIL_JOB = "mail.send"


async def send_later(
    queue: JobQueue,
    settings: Settings,
    template: str,
    *,
    to: str,
    user_id: str | None,
    idempotency_key: str | None = None,
    **context: Any,
) -> str:
    """Queue message ``template`` for ``to``; returns the job id."""
    email = render(
        template,
        to=to,
        user_id=user_id,
        support_email=settings.support_email,
        public_url=settings.public_url.rstrip("/"),
        **context,
    )
    return await queue.enqueue(
        MAIL_JOB, asdict(email), idempotency_key=idempotency_key, user_id=user_id
    )


def handlers(mailer: Mailer) -> dict[str, Handler]:
    async def send(job: Job) -> None:
        await mailer.send(Email(**job.payload))

    return {MAIL_JOB: send}
