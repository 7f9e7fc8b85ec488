"""The retention schedule: what is deleted, and when.

- completed (or abandoned) interviews, with their turns, tickets and feedback: a period
  after they ended;
- archived resumes: a period after they were archived;
- audit events: a period after they were recorded.

``purge`` is idempotent (a second run at the same ``now`` deletes nothing) and takes a
lock shared by every instance, so hourly runners on several servers do not collide.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from storage._util import utcnow
from storage.database import Database

PURGE_LOCK = "intrvuer.retention.purge"


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    interview_days: int = 90
    archived_resume_days: int = 365
    audit_days: int = 730


@dataclass
class PurgeReport:
    ran: bool  # False when another runner held the lock
    dry_run: bool = False
    deleted: dict[str, int] = field(default_factory=dict)  # what -> rows
    # Credentials past their expiry (no use to anyone, not data kept for a period).
    expired: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


async def purge(
    db: Database, policy: RetentionPolicy, *, now: datetime | None = None, dry_run: bool = False
) -> PurgeReport:
    """Delete what is past its retention period at ``now`` (default: the current time)."""
    now = now or utcnow()
    async with db.advisory_lock(PURGE_LOCK) as taken:
        if not taken:
            return PurgeReport(ran=False, dry_run=dry_run)
        report = PurgeReport(ran=True, dry_run=dry_run)
        # Turns, tickets and feedback go with their interview (ON DELETE CASCADE).
        interviews_before = now - timedelta(days=policy.interview_days)
        resumes_before = now - timedelta(days=policy.archived_resume_days)
        audit_before = now - timedelta(days=policy.audit_days)
        steps = (
            (
                "interviews",
                "FROM interviews WHERE status IN ('completed', 'abandoned')"
                " AND COALESCE(ended_at, last_activity_at, created_at) < $1",
                interviews_before,
            ),
            (
                "archived_resumes",
                "FROM resumes WHERE archived_at IS NOT NULL AND archived_at < $1",
                resumes_before,
            ),
            ("audit_events", "FROM audit_events WHERE created_at < $1", audit_before),
        )
        for name, condition, before in steps:
            if dry_run:
                count = await db.fetchval(f"SELECT count(*) {condition}", before)  # noqa: S608
            else:
                count = await db.execute(f"DELETE {condition}", before)
            report.deleted[name] = int(count)
        return report
