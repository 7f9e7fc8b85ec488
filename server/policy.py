"""Versions of the privacy policy and the notices of a material change.

The policy page shows the newest published version and its date (``GET /v1/policy``);
before anything was published, the version that ships beside the page
(``WEB_DIR/privacy.json``). ``intrvuer policy publish --version V --summary TEXT
[--material]`` records a version; a material one queues one notice e-mail per user who
had an account before it, in batches paced at ``MAIL_RATE_PER_MINUTE``. Each queued notice
is recorded, and its mail job carries an idempotency key of (version, user), so a run that
is stopped half-way and started again goes on where it stopped and never sends a user two
notices of one version. The web app shows a banner with the summary until the user
acknowledges it (``POST /v1/me/policy-ack``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from server.mail import send_later
from server.settings import Settings
from storage.database import Database
from storage.policies import PolicyRepository, PolicyVersion
from storage.queue import JobQueue

log = logging.getLogger("intrvuer.policy")

BATCH_MAX = 100  # notices queued per database read


@dataclass(frozen=True, slots=True)
class PolicyInfo:
    version: str
    updated: str  # ISO date of publication
    summary: str


def shipped_policy(settings: Settings) -> PolicyInfo:
    """The version that ships with the policy page (before any was published)."""
    try:
        shipped = json.loads((settings.web_dir / "privacy.json").read_text())
        return PolicyInfo(str(shipped["version"]), str(shipped["updated"]), shipped["summary"])
    except (OSError, ValueError, KeyError):
        return PolicyInfo("1", "", "")


async def current_policy(db: Database, settings: Settings) -> PolicyInfo:
    latest = await PolicyRepository(db).latest()
    if latest is None:
        return await asyncio.to_thread(shipped_policy, settings)
    return PolicyInfo(latest.version, latest.published_at.date().isoformat(), latest.summary)


def _long_date(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%-d %B %Y}"


async def publish(
    db: Database,
    queue: JobQueue,
    settings: Settings,
    *,
    version: str,
    summary: str,
    material: bool,
    progress: Callable[[int], None] = lambda queued: None,
) -> tuple[PolicyVersion, int]:
    """Record ``version`` (again, after a stopped run: then it goes on with the notices);
    returns it and how many notices this call queued."""
    published = await PolicyRepository(db).publish(version, summary=summary, material=material)
    if not published.material:
        return published, 0
    queued = await send_notices(db, queue, settings, published, progress=progress)
    return published, queued


async def send_notices(
    db: Database,
    queue: JobQueue,
    settings: Settings,
    version: PolicyVersion,
    *,
    progress: Callable[[int], None] = lambda queued: None,
) -> int:
    """Queue the notices of ``version`` not queued yet, at most ``MAIL_RATE_PER_MINUTE``
    a minute; returns how many this call queued."""
    policies = PolicyRepository(db)
    per_second = settings.mail_rate_per_minute / 60
    batch_size = max(1, min(BATCH_MAX, settings.mail_rate_per_minute))
    link = f"{settings.public_url.rstrip('/')}/privacy.html"
    queued = 0
    started = time.monotonic()
    while recipients := await policies.not_yet_notified(version, limit=batch_size):
        for recipient in recipients:
            # The job first, then the record: a stop between the two leaves a job whose
            # idempotency key makes the next run's enqueue of it a no-op.
            await send_later(
                queue,
                settings,
                "policy_notice",
                to=recipient.email,
                user_id=recipient.user_id,
                idempotency_key=f"policy:{version.version}:{recipient.user_id}",
                name=recipient.name,
                version=version.version,
                effective=_long_date(version.published_at),
                summary=version.summary,
                link=link,
            )
            await policies.notice_queued(version.version, recipient.user_id)
            queued += 1
        progress(queued)
        ahead_s = queued / per_second - (time.monotonic() - started)
        if ahead_s > 0:
            await asyncio.sleep(ahead_s)
    log.info("policy notices queued", extra={"version": version.version, "queued": queued})
    return queued
