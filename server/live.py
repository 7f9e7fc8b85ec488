"""The live interview WebSocket: ``GET /v1/interviews/{id}/live``.

The handshake is authenticated before it is accepted: a single-use ticket bound to the
user and the interview (``?ticket=``), or ``Authorization: Bearer`` for non-browser
clients; a present ``Origin`` must be allowed. Refusals are HTTP 401/403/404/409 answers
with the JSON error shape. After that, frames go to a ``pipeline.Session``; what it emits
goes out through a bounded queue, and a client that stops reading is disconnected.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from starlette.responses import JSONResponse
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from pipeline.background import summarize
from pipeline.protocol import ErrorEvent, ServerEvent
from pipeline.session import FinalizedTurn, Session, SessionConfig
from server.auth.current import require_age_confirmed, signed_in
from server.conclusion import conclude
from server.context import audit, services
from server.drain import Drain
from server.errors import ApiError, error_body
from server.jobs.turns import JOB_KIND as TURN_JOB_KIND
from server.live_sessions import LiveClaim
from server.origins import origin_allowed
from server.routes.interviews import hash_ticket
from server.services import Services
from storage._util import utcnow
from storage.documents import JobRepository, ResumeRepository
from storage.interviews import InterviewRepository, TurnRepository, turn_from_json
from storage.tokens import TicketRepository
from storage.types import Interview, InterviewTurn
from storage.users import UserRepository

log = logging.getLogger("intrvuer.live")

# Why a connection had to give its interview up: (error code, message, close code).
REPLACED = ("session_replaced", "This interview continued in another tab or window.", 4409)
DELETED = ("interview_deleted", "This interview was deleted.", 4404)
TAKEN_AWAY = {REPLACED[0], DELETED[0]}
# The instance drains and its drain timeout passed: the client reconnects (a new ticket)
# and continues on another instance. 1012: "service restart".
RESTARTING = (
    "server_restarting",
    "This server is restarting; reconnect to continue the interview.",
    1012,
)
SESSION_END_GRACE_S = 10.0  # how long a session may take to end once its client is gone
HEARTBEAT_MAX_S = 30.0  # a live session refreshes its interview's activity at least this often
# The largest frame the socket layer accepts; frames between the protocol's 64 KiB and
# this get an ``error`` event and the session goes on, bigger ones close the connection.
MAX_FRAME_BYTES = 1024 * 1024
CLOSE_TIMEOUT_S = 2.0  # how long closing waits for the client to take the close frame


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


async def _authorize(websocket: WebSocket, svc: Services, interview_id: str) -> Interview:
    if not origin_allowed(websocket, svc.settings):
        raise Refused(403, "origin_not_allowed", "This origin may not open live interviews.")
    ticket = websocket.query_params.get("ticket")
    if ticket:
        claim = await TicketRepository(svc.db).redeem(hash_ticket(ticket))
        if claim is None:
            raise Refused(401, "invalid_ticket", "The ticket is invalid, expired or used.")
        if claim.interview_id != interview_id:
            raise Refused(403, "ticket_mismatch", "The ticket is for another interview.")
        user_id = claim.user_id
    else:
        # Clients that are not browsers: a bearer token, held to what every route holds it to.
        try:
            who = await signed_in(websocket)
            require_age_confirmed(who.user)
        except ApiError as refusal:
            raise Refused(refusal.status, refusal.code, refusal.message) from None
        user_id = who.user.id
    interview = await InterviewRepository(svc.db, svc.cipher).get(user_id, interview_id)
    if interview is None:
        raise Refused(404, "not_found", "No such interview.")
    if interview.status not in ("created", "live"):
        raise Refused(409, "interview_ended", f"This interview is {interview.status}.")
    last = interview.last_activity_at
    window = timedelta(seconds=svc.settings.interview_resume_window_s)
    if (
        interview.status == "live"
        and interview.id not in svc.live_sessions
        and last is not None
        and utcnow() - last > window
    ):
        reason = "disconnected" if interview.end_reason == "disconnected" else "server_restart"
        await conclude(svc, interview_id=interview.id, user_id=user_id, reason=reason)
        raise Refused(409, "interview_expired", "This interview can no longer be resumed.")
    return interview


async def _inbound(
    websocket: WebSocket, leave: asyncio.Event, gone: asyncio.Event
) -> AsyncIterator[bytes | str]:
    """The client's frames, until it disconnects or the session must ``leave`` (a newer
    connection took over, or the drain timeout passed); then ``gone`` is set."""
    taken_over = asyncio.ensure_future(leave.wait())
    try:
        while True:
            receiving = asyncio.ensure_future(websocket.receive())
            await asyncio.wait({receiving, taken_over}, return_when=asyncio.FIRST_COMPLETED)
            if not receiving.done():
                receiving.cancel()
                with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
                    await receiving
                return
            message = receiving.result()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                yield message["bytes"]
            elif message.get("text") is not None:
                yield message["text"]
    finally:
        taken_over.cancel()
        gone.set()


async def _send(websocket: WebSocket, session: Session) -> None:
    closed = False
    while (item := await session.outgoing.get()) is not None:
        if closed:
            continue  # taken off the queue, so the session never waits on a full one
        try:
            if isinstance(item, bytes):
                await websocket.send_bytes(item)
            else:
                await websocket.send_text(item.to_json())
        except RuntimeError:
            # uvicorn closed the socket itself (a keepalive ping went unanswered) and
            # refuses more sends. Nobody is left to hear the rest; the receiving side gets
            # the disconnect and the session ends as after any other, its turns stored.
            closed = True


async def live_interview(websocket: WebSocket) -> None:
    svc = services(websocket)
    interview_id = websocket.path_params["interview_id"]
    try:
        interview = await _authorize(websocket, svc, interview_id)
    except Refused as refusal:
        await websocket.send_denial_response(
            JSONResponse(error_body(refusal.code, refusal.message), status_code=refusal.status)
        )
        return

    background = await _background(svc, interview)
    user = await UserRepository(svc.db).get(interview.user_id)
    try:
        recognizer, synthesizer, interviewer = svc.providers.for_interview(interview)
    except LookupError as missing:
        await websocket.send_denial_response(
            JSONResponse(error_body("provider_unavailable", str(missing)), status_code=503)
        )
        return
    await websocket.accept()
    stored = await _turns_so_far(svc, interview)
    claim = await svc.live_sessions.claim(interview.id, stored)

    def finalized(turn: FinalizedTurn) -> None:
        claim.add_turns((turn.record,))
        svc.turn_writer.submit(turn)

    session = Session(
        interview=interview,
        recognizer=recognizer,
        synthesizer=synthesizer,
        interviewer=interviewer,
        candidate_first_name=user.first_name if user else None,
        background=background,
        prior_turns=claim.ordered_turns(),
        on_turn=finalized,
        on_metrics=svc.live_metrics.observe_turn,
        config=svc.session_config,
    )
    try:
        reason = await _hold(websocket, svc, claim, session)
    finally:
        svc.live_sessions.release(claim)
    if reason not in TAKEN_AWAY:
        await _record_end(svc, interview, reason, claim)


async def _hold(websocket: WebSocket, svc: Services, claim: LiveClaim, session: Session) -> str:
    """Run the session of one connection; returns why it ended."""
    interview = session.interview
    if claim.replaced.is_set():  # a newer connection came while this one waited its turn
        return await _close_taken(websocket, claim, turn=session.turn)
    await InterviewRepository(svc.db, svc.cipher).mark_live(interview.id)
    await audit(websocket, "interview.connected", user_id=interview.user_id, target_id=interview.id)
    svc.live_metrics.sessions.inc()
    reason = "disconnected"
    drain: Drain = websocket.app.state.drain
    restarting = asyncio.Event()
    leave = asyncio.Event()
    replaced = asyncio.ensure_future(claim.replaced.wait())
    replaced.add_done_callback(lambda _: leave.set())

    def restart() -> None:
        restarting.set()
        leave.set()

    try:
        with drain.holding(restart):
            async with asyncio.TaskGroup() as group:
                sender = group.create_task(_send(websocket, session))
                gone = asyncio.Event()
                heartbeat = group.create_task(_heartbeat(svc, interview.id, gone))
                inbound = _inbound(websocket, leave, gone)
                reason = await _run_session(session, inbound, gone)
                heartbeat.cancel()
                if leave.is_set() and reason == "disconnected" or reason == "client_too_slow":
                    sender.cancel()
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(sender), timeout=5)
                    sender.cancel()
    except* (WebSocketDisconnect, OSError):
        pass
    finally:
        replaced.cancel()
        svc.live_metrics.sessions.dec()
    if claim.replaced.is_set() and reason == "disconnected":
        return await _close_taken(websocket, claim, turn=session.turn)
    if restarting.is_set() and reason == "disconnected":
        return await _close_with(websocket, RESTARTING, turn=session.turn, fatal=False)
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect, TimeoutError):
        code = 1008 if reason == "client_too_slow" else 1000
        # A client that stopped reading never takes the close frame: the server's write
        # buffer is full and sending waits for it to drain. Stop waiting; what is left is
        # the transport's bounded buffer, closed when the client reads or goes away.
        await asyncio.wait_for(websocket.close(code=code), timeout=CLOSE_TIMEOUT_S)
    return reason


async def _close_taken(websocket: WebSocket, claim: LiveClaim, *, turn: int) -> str:
    """Tell a connection its interview was taken away — by a newer connection (4409) or
    by its deletion (4404) — and close it; returns the reason."""
    return await _close_with(websocket, DELETED if claim.deleted else REPLACED, turn=turn)


async def _close_with(
    websocket: WebSocket, why: tuple[str, str, int], *, turn: int, fatal: bool = True
) -> str:
    """Send ``error`` with why's code and message, close with its close code; returns
    the code."""
    code, message, close_code = why
    event = ErrorEvent(turn, code, message, fatal=fatal)
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect, TimeoutError):
        await asyncio.wait_for(websocket.send_text(event.to_json()), timeout=CLOSE_TIMEOUT_S)
        await asyncio.wait_for(websocket.close(code=close_code), timeout=CLOSE_TIMEOUT_S)
    return code


async def _run_session(
    session: Session, inbound: AsyncIterator[bytes | str], gone: asyncio.Event
) -> str:
    """``session.run``, which must end soon after its client is gone: a session still
    running ``SESSION_END_GRACE_S`` later (a provider that never answers) is cancelled, so
    that its interview is recorded as disconnected and concluded like any other."""
    run = asyncio.ensure_future(session.run(inbound))
    left = asyncio.ensure_future(gone.wait())
    try:
        await asyncio.wait({run, left}, return_when=asyncio.FIRST_COMPLETED)
        if not run.done():
            await asyncio.wait({run}, timeout=SESSION_END_GRACE_S)
        if not run.done():
            log.error(
                "live session did not end after its client left; cancelling it",
                extra={"interview_id": session.interview.id},
            )
            run.cancel()
            await asyncio.wait({run}, timeout=SESSION_END_GRACE_S)
            return "disconnected"
        return run.result()
    finally:
        left.cancel()


async def _heartbeat(svc: Services, interview_id: str, gone: asyncio.Event) -> None:
    """Keep the interview's last sign of life fresh while its client is connected, so
    that no sweep (on any instance) takes it for one whose server died."""
    every = min(HEARTBEAT_MAX_S, svc.settings.interview_resume_window_s / 4)
    repository = InterviewRepository(svc.db, svc.cipher)
    while not gone.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gone.wait(), timeout=every)
            return
        try:
            await repository.touch(interview_id)
        except Exception:  # the database is down for a moment: the next beat tries again
            log.warning("live heartbeat failed", extra={"interview_id": interview_id})


async def _turns_so_far(svc: Services, interview: Interview) -> list[InterviewTurn]:
    """The interview's stored turns, and those finalized by another instance's session
    that are still on the durable queue (that instance drained or was killed just now):
    the session continues after them instead of numbering its turns over theirs."""
    listed = await TurnRepository(svc.db, svc.cipher).list(interview.id)
    stored = {turn.turn: turn for turn in listed}
    try:
        queued = await svc.sealed_queue.unfinished(TURN_JOB_KIND, interview.user_id)
    except Exception:  # the queue's store is down: the stored turns are what is known
        log.warning("could not read queued turns", extra={"interview_id": interview.id})
        queued = []
    for payload in queued:
        if payload.get("interview_id") == interview.id:
            turn = turn_from_json(payload)
            stored.setdefault(turn.turn, turn)
    return [stored[number] for number in sorted(stored)]


async def _background(svc: Services, interview: Interview) -> str:
    """What the interviewer may know of the resume and the job (read once, at connect)."""
    resume = (
        await ResumeRepository(svc.db, svc.cipher).get(interview.user_id, interview.resume_id)
        if interview.resume_id
        else None
    )
    job = (
        await JobRepository(svc.db, svc.cipher).get(interview.user_id, interview.job_id)
        if interview.job_id
        else None
    )
    return summarize(resume.parsed if resume else None, job.parsed if job else None)


async def _record_end(svc: Services, interview: Interview, reason: str, claim: LiveClaim) -> None:
    if reason in ("completed", "stopped"):
        # The session's own turns count: the last ones may still be on the queue.
        await conclude(
            svc,
            interview_id=interview.id,
            user_id=interview.user_id,
            reason=reason,
            known_turns=claim.ordered_turns(),
        )
    else:
        # The candidate may come back within the resume window; the sweep concludes the
        # interview after it.
        await InterviewRepository(svc.db, svc.cipher).mark_disconnected(interview.id)
    log.info("live session ended", extra={"interview_id": interview.id, "reason": reason})


def routes() -> list[WebSocketRoute]:
    return [WebSocketRoute("/v1/interviews/{interview_id}/live", live_interview)]


__all__ = ["MAX_FRAME_BYTES", "ServerEvent", "SessionConfig", "routes"]
