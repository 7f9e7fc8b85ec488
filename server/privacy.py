"""Privacy machinery of a running server: sealed job payloads, the retention purge (run
hourly by one instance at a time, with dead letters and expired credentials) and account
deletion."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any, Unpack

from server.settings import Settings
from storage._util import utcnow
from storage.audit import AuditRepository
from storage.crypto import FieldCipher
from storage.database import Database
from storage.email_tokens import EmailTokenRepository
from storage.queue import DeadLetter, EnqueueOptions, Handler, Job, JobQueue
from storage.retention import PurgeReport, RetentionPolicy, purge
from storage.rotation import existing_tables
from storage.tokens import OAuthStateRepository, RefreshTokenRepository, TicketRepository

log = logging.getLogger("intrvuer.privacy")

_SEALED = "sealed"


def unseal(cipher: FieldCipher, payload: dict[str, Any]) -> dict[str, Any]:
    """The payload a ``SealedQueue`` sealed (a payload that was not sealed, as it is)."""
    sealed = payload.get(_SEALED)
    if isinstance(sealed, str) and len(payload) == 1:
        opened: dict[str, Any] = cipher.decrypt_json(sealed)
        return opened
    return payload


def unsealing(cipher: FieldCipher, handler: Handler) -> Handler:
    """``handler`` given the payload as it was before ``SealedQueue`` sealed it."""

    async def handle(job: Job) -> None:
        await handler(replace(job, payload=unseal(cipher, dict(job.payload))))

    return handle


class SealedQueue:
    """A ``JobQueue`` whose payloads of the given kinds are Fernet tokens while they wait
    (in the outbox table or a Redis stream): a finalized turn carries a transcript."""

    def __init__(self, inner: JobQueue, cipher: FieldCipher, kinds: frozenset[str]) -> None:
        self.inner = inner
        self._cipher = cipher
        self._kinds = kinds

    def _open(self, payload: dict[str, Any]) -> dict[str, Any]:
        return unseal(self._cipher, payload)

    def _wrap(self, handlers: Mapping[str, Handler]) -> dict[str, Handler]:
        return {kind: unsealing(self._cipher, handler) for kind, handler in handlers.items()}

    async def enqueue(
        self, kind: str, payload: dict[str, Any], **options: Unpack[EnqueueOptions]
    ) -> str:
        if kind in self._kinds:
            payload = {_SEALED: self._cipher.encrypt_json(payload)}
        return await self.inner.enqueue(kind, payload, **options)

    async def run_worker(
        self, handlers: Mapping[str, Handler], *, consumer: str, stop: asyncio.Event
    ) -> None:
        await self.inner.run_worker(self._wrap(handlers), consumer=consumer, stop=stop)

    async def process_available(self, handlers: Mapping[str, Handler], *, consumer: str) -> int:
        return await self.inner.process_available(self._wrap(handlers), consumer=consumer)

    async def dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        letters = await self.inner.dead_letters(limit)
        return [replace(letter, payload=self._open(letter.payload)) for letter in letters]

    async def retry_dead_letter(self, job_id: str) -> bool:
        return await self.inner.retry_dead_letter(job_id)

    async def purge_dead_letters(self, before: datetime) -> int:
        return await self.inner.purge_dead_letters(before)

    async def drop_user_jobs(self, user_id: str) -> int:
        return await self.inner.drop_user_jobs(user_id)

    async def pending_count(self) -> int:
        return await self.inner.pending_count()

    async def unfinished(self, kind: str, user_id: str) -> list[dict[str, Any]]:
        return [self._open(payload) for payload in await self.inner.unfinished(kind, user_id)]

    async def ping(self) -> None:
        await self.inner.ping()

    async def close(self) -> None:
        await self.inner.close()


def retention_policy(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        interview_days=settings.retention_interview_days,
        archived_resume_days=settings.retention_archived_resume_days,
        audit_days=settings.retention_audit_days,
    )


async def run_purge(
    db: Database,
    settings: Settings,
    *,
    queue: JobQueue | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
) -> PurgeReport:
    """One purge: what is past its retention period, the queue's dead letters past
    ``RETENTION_DEAD_LETTER_DAYS`` (when given the queue; not counted in a dry run), and
    credentials past their expiry. A purge that deleted data is recorded in the audit log.
    """
    now = now or utcnow()
    report = await purge(db, retention_policy(settings), now=now, dry_run=dry_run)
    if not report.ran or dry_run:
        return report
    if queue is not None:
        # A job that died may carry a sealed transcript or a document's text.
        died_before = now - timedelta(days=settings.retention_dead_letter_days)
        report.deleted["dead_letters"] = await queue.purge_dead_letters(died_before)
    report.expired = await delete_expired_credentials(db)
    if report.total:
        await AuditRepository(db).record(
            "retention.purged", user_id=None, details=dict(report.deleted), at=now
        )
    if report.total or any(report.expired.values()):
        log.info("retention purge", extra={"deleted": report.deleted, "expired": report.expired})
    return report


async def delete_expired_credentials(db: Database) -> dict[str, int]:
    """Delete refresh tokens, OAuth sign-in states, live-interview tickets and e-mailed
    links past their expiry: they can no longer be used, and are no one's business (an
    e-mailed link's row holds the address it went to). Idempotent."""
    return {
        "refresh_tokens": await RefreshTokenRepository(db).delete_expired(utcnow()),
        "oauth_states": await OAuthStateRepository(db).delete_expired(),
        "live_tickets": await TicketRepository(db).delete_expired(),
        "email_tokens": await EmailTokenRepository(db).delete_expired(),
    }


async def purge_periodically(
    db: Database, settings: Settings, stop: asyncio.Event, *, queue: JobQueue | None = None
) -> None:
    """Run the purge every ``PURGE_INTERVAL_S`` until ``stop``; one failed run is logged
    and the next one tries again. Without ``queue``, dead letters are left alone."""
    while not stop.is_set():
        try:
            await run_purge(db, settings, queue=queue)
        except Exception:  # a database hiccup must not end the loop
            log.exception("retention purge failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=settings.purge_interval_s)


async def delete_account(db: Database, queue: JobQueue, user_id: str) -> None:
    """Erase a user: every row of every table that holds a ``user_id`` column (resumes
    and their files, job descriptions, interviews with turns and feedback, quizzes, tokens,
    identities, the user's audit events, queued jobs), then the user. One audit entry
    remains: the deletion itself, with the user id and the time only."""
    tables = await existing_tables(db)
    owned = [
        table
        for table in sorted(tables - {"users", "audit_events"})
        if "user_id" in await _columns(db, table)
    ]
    async with db.transaction() as tx:
        # Children first: interview turns hang off interviews, not off the user.
        if "interview_turns" in tables:
            await tx.execute(
                "DELETE FROM interview_turns WHERE interview_id IN"
                " (SELECT id FROM interviews WHERE user_id = $1)",
                user_id,
            )
        for table in _children_first(owned):
            await tx.execute(f"DELETE FROM {table} WHERE user_id = $1", user_id)  # noqa: S608
        await tx.execute("DELETE FROM audit_events WHERE user_id = $1", user_id)
        await tx.execute("DELETE FROM users WHERE id = $1", user_id)
        await AuditRepository(tx).record("account.deleted", user_id=user_id)
    # Redis Streams hold jobs outside the database (the outbox's rows went above).
    await queue.drop_user_jobs(user_id)
    log.info("account deleted", extra={"user_id": user_id})


# Tables that reference others of the same user go before them.
_ORDER = ("quiz_attempts", "interview_feedback", "live_tickets", "quizzes", "interviews")


def _children_first(tables: list[str]) -> list[str]:
    return sorted(tables, key=lambda name: _ORDER.index(name) if name in _ORDER else len(_ORDER))


async def _columns(db: Database, table: str) -> set[str]:
    if db.dialect == "postgres":
        rows = await db.fetch(
            "SELECT column_name AS name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = $1",
            table,
        )
    else:
        rows = await db.fetch(f"PRAGMA table_info('{table}')")
    return {str(row["name"]) for row in rows}
