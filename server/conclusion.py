"""How an interview ends, whichever way it ends: no interview stays ``live``.

- ``stop`` or the last question answered: concluded at once (reason ``stopped`` or
  ``completed``).
- The socket closed without ``stop`` (tab closed, network lost): the interview stays
  ``live`` for ``INTERVIEW_RESUME_WINDOW_S`` so the candidate can reconnect and go on;
  then the sweep concludes it (reason ``disconnected``).
- Its server was killed or restarted (the interview was ``live`` and never marked
  disconnected): the sweep concludes it once the window has passed since its last sign
  of life (reason ``server_restart``). A live session keeps that sign fresh with a
  heartbeat, so a sweep on one instance never ends a session held by another.

Concluded means ``completed`` with its feedback scored when at least one answer was given,
``abandoned`` otherwise; one ``interview.ended`` audit row names the reason. Both states
are purged after ``RETENTION_INTERVIEW_DAYS``. The sweep runs at start-up and then every
``INTERVIEW_SWEEP_INTERVAL_S``, behind a lock so that one instance at a time does it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from server.jobs.feedback import feedback_repository, request_feedback
from server.services import Services
from storage._util import utcnow
from storage.interviews import InterviewRepository, TurnRepository
from storage.types import InterviewTurn

log = logging.getLogger("intrvuer.conclusion")

SWEEP_LOCK = "intrvuer.interviews.sweep"


async def conclude(
    svc: Services,
    *,
    interview_id: str,
    user_id: str,
    reason: str,
    known_turns: Iterable[InterviewTurn] = (),
) -> str | None:
    """End the interview now; returns its final status, or None when it had ended
    already (another concluder won, or it was deleted). ``known_turns`` are turns the
    caller holds that may still be on their way to the database (a live session's)."""
    turns = TurnRepository(svc.db, svc.cipher)
    status = "completed" if _answered(await turns.list(interview_id), known_turns) else "abandoned"
    repository = InterviewRepository(svc.db, svc.cipher)
    if not await repository.mark_ended(interview_id, status=status, reason=reason):
        return None
    if status == "abandoned" and _answered(await turns.list(interview_id)):
        # An answer was stored between the count and the end: it counts after all.
        await repository.reopen_abandoned(interview_id)
        status = "completed"
    await svc.audit_repository.record(
        "interview.ended",
        user_id=user_id,
        target_id=interview_id,
        details={"reason": reason, "status": status},
    )
    if status == "completed":
        await request_feedback(svc, user_id=user_id, interview_id=interview_id)
    log.info(
        "interview concluded",
        extra={"interview_id": interview_id, "reason": reason, "status": status},
    )
    return status


def _answered(*turn_lists: Iterable[InterviewTurn]) -> bool:
    return any(turn.answer.strip() for turns in turn_lists for turn in turns)


async def store_turn(svc: Services, turn: InterviewTurn) -> None:
    """Write a finalized turn that came through the queue (idempotent).

    The turn of a deleted interview is dropped. A turn that reaches the database after its
    interview was concluded (it waited on the queue, e.g. across a restart) still counts:
    an answer makes an ``abandoned`` interview ``completed``, and the feedback of a
    concluded interview is scored again with it, unless its scoring has not begun (it
    waits for the interview's queued turns, then reads them all)."""
    interviews = InterviewRepository(svc.db, svc.cipher)
    found = await interviews.owner_and_status(turn.interview_id)
    if found is None:
        log.info("turn of a deleted interview dropped", extra={"interview_id": turn.interview_id})
        return
    user_id, status = found
    saved = await TurnRepository(svc.db, svc.cipher).save(turn)
    await interviews.touch(turn.interview_id)
    if not saved or status not in ("completed", "abandoned") or not turn.answer.strip():
        return
    if status == "abandoned":
        await interviews.reopen_abandoned(turn.interview_id)
    feedback = await feedback_repository(svc).get(user_id, turn.interview_id)
    if feedback is not None and feedback.status == "pending":
        return  # not begun: its scoring waits for the turns on the queue, then reads them all
    await request_feedback(svc, user_id=user_id, interview_id=turn.interview_id)


class TurnNotStoredYet(Exception):
    """The metrics of a reply came before the turn they belong to (another worker is
    writing it): the job is tried again."""


async def store_turn_metrics(
    svc: Services, interview_id: str, turn: int, metrics: dict[str, float]
) -> None:
    """Add the metrics of the reply to a stored turn (idempotent)."""
    if await TurnRepository(svc.db, svc.cipher).set_metrics(interview_id, turn, metrics):
        return
    if await InterviewRepository(svc.db, svc.cipher).owner_and_status(interview_id) is None:
        return  # the interview was deleted; its turns went with it
    raise TurnNotStoredYet(f"turn {turn} of the interview is not stored yet")


async def sweep(svc: Services, *, now: datetime | None = None) -> int:
    """Conclude every interview whose resume window has passed; returns how many."""
    window = timedelta(seconds=svc.settings.interview_resume_window_s)
    concluded = 0
    async with svc.db.advisory_lock(SWEEP_LOCK) as taken:
        if not taken:
            return 0
        idle = await InterviewRepository(svc.db, svc.cipher).idle_live((now or utcnow()) - window)
        for interview in idle:
            reason = "disconnected" if interview.end_reason == "disconnected" else "server_restart"
            ended = await conclude(
                svc, interview_id=interview.id, user_id=interview.user_id, reason=reason
            )
            concluded += ended is not None
    return concluded


async def sweep_periodically(svc: Services, stop: asyncio.Event) -> None:
    """Sweep at start-up, then every ``INTERVIEW_SWEEP_INTERVAL_S`` until ``stop``."""
    while not stop.is_set():
        try:
            await sweep(svc)
        except Exception:  # a database hiccup must not end the loop
            log.exception("interview sweep failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=svc.settings.interview_sweep_interval_s)
