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
from pipeline.protocol import ServerEvent
from pipeline.session import Session, SessionConfig
from server.auth.current import bearer_token
from server.auth.tokens import InvalidToken
from server.context import audit, services
from server.errors import error_body
from server.feedback_jobs import request_feedback
from server.origins import origin_allowed
from server.routes.interviews import hash_ticket
from server.services import Services
from storage._util import utcnow
from storage.documents import JobRepository, ResumeRepository
from storage.interviews import InterviewRepository, TicketRepository, TurnRepository
from storage.types import Interview
from storage.users import UserRepository

log = logging.getLogger("intrvuer.live")

RECONNECT_WINDOW = timedelta(minutes=10)
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
        if claim["interview_id"] != interview_id:
            raise Refused(403, "ticket_mismatch", "The ticket is for another interview.")
        user_id = str(claim["user_id"])
    else:
        token = bearer_token(websocket)
        if token is None:
            raise Refused(401, "not_authenticated", "Open the socket with a ticket or a token.")
        try:
            user_id = svc.tokens.verify_access(token).user_id
        except InvalidToken:
            user = (
                await svc.external_auth.authenticate(svc.db, token) if svc.external_auth else None
            )
            if user is None:
                raise Refused(
                    401, "invalid_token", "The access token is invalid or expired."
                ) from None
            user_id = user.id
    interview = await InterviewRepository(svc.db, svc.cipher).get(user_id, interview_id)
    if interview is None:
        raise Refused(404, "not_found", "No such interview.")
    if interview.status not in ("created", "live"):
        raise Refused(409, "interview_ended", f"This interview is {interview.status}.")
    last = interview.last_activity_at
    if interview.status == "live" and last is not None and utcnow() - last > RECONNECT_WINDOW:
        raise Refused(409, "interview_expired", "This interview can no longer be resumed.")
    return interview


async def _inbound(websocket: WebSocket) -> AsyncIterator[bytes | str]:
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("bytes") is not None:
            yield message["bytes"]
        elif message.get("text") is not None:
            yield message["text"]


async def _send(websocket: WebSocket, session: Session) -> None:
    while (item := await session.outgoing.get()) is not None:
        if isinstance(item, bytes):
            await websocket.send_bytes(item)
        else:
            await websocket.send_text(item.to_json())


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

    db = svc.db
    prior = await TurnRepository(db, svc.cipher).list(interview.id)
    background = await _background(svc, interview)
    user = await UserRepository(db).get(interview.user_id)
    first_name = user.first_name if user else None
    try:
        recognizer, synthesizer, interviewer = svc.providers.for_interview(interview)
    except LookupError as missing:
        await websocket.send_denial_response(
            JSONResponse(error_body("provider_unavailable", str(missing)), status_code=503)
        )
        return
    await websocket.accept()
    await InterviewRepository(db, svc.cipher).mark_live(interview.id)
    await audit(websocket, "interview.connected", user_id=interview.user_id, target_id=interview.id)

    session = Session(
        interview=interview,
        recognizer=recognizer,
        synthesizer=synthesizer,
        interviewer=interviewer,
        candidate_first_name=first_name,
        background=background,
        prior_turns=prior,
        on_turn=svc.turn_writer.submit,
        on_metrics=svc.live_metrics.observe_turn,
        config=svc.session_config,
    )
    svc.live_metrics.sessions.inc()
    reason = "disconnected"
    try:
        async with asyncio.TaskGroup() as group:
            sender = group.create_task(_send(websocket, session))
            reason = await session.run(_inbound(websocket))
            if reason == "client_too_slow":
                sender.cancel()
            else:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(sender), timeout=5)
                sender.cancel()
    except* (WebSocketDisconnect, OSError):
        pass
    finally:
        svc.live_metrics.sessions.dec()
    with contextlib.suppress(RuntimeError, OSError, WebSocketDisconnect, TimeoutError):
        code = 1008 if reason == "client_too_slow" else 1000
        # A client that stopped reading never takes the close frame: the server's write
        # buffer is full and sending waits for it to drain. Stop waiting; what is left is
        # the transport's bounded buffer, closed when the client reads or goes away.
        await asyncio.wait_for(websocket.close(code=code), timeout=CLOSE_TIMEOUT_S)
    await _record_end(svc, interview, reason)


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


async def _record_end(svc: Services, interview: Interview, reason: str) -> None:
    repository = InterviewRepository(svc.db, svc.cipher)
    if reason in ("completed", "stopped"):
        await repository.mark_ended(interview.id, status="completed", reason=reason)
        await svc.audit_repository.record(
            "interview.ended",
            user_id=interview.user_id,
            target_id=interview.id,
            details={"reason": reason},
        )
        await request_feedback(svc, user_id=interview.user_id, interview_id=interview.id)
    else:
        await repository.touch(interview.id)
    log.info("live session ended", extra={"interview_id": interview.id, "reason": reason})


def routes() -> list[WebSocketRoute]:
    return [WebSocketRoute("/v1/interviews/{interview_id}/live", live_interview)]


__all__ = ["MAX_FRAME_BYTES", "ServerEvent", "SessionConfig", "routes"]
