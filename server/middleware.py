"""ASGI middleware: request ids and access log, body limits, security headers, drain."""

from __future__ import annotations

import json
import logging
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.drain import RETRY_AFTER_S, Drain, starts_live_session
from server.errors import error_body

access_log = logging.getLogger("intrvuer.access")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' blob:; connect-src 'self' ws: wss:; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), geolocation=(), microphone=(self)"),
]


class RequestContextMiddleware:
    """Gives every request an id (kept from a sane ``X-Request-ID``), answers it in the
    response, adds security headers, and writes one access-log line per request."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 8 <= len(incoming) <= 64 and incoming.isprintable() else ""
        request_id = request_id or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 0

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = MutableHeaders(scope=message)
                headers["x-request-id"] = request_id
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name.decode(), value.decode())
                if self.hsts:
                    headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            if scope["type"] == "http":
                access_log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],  # never the query string: it may hold tickets
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )


DRAINING_MESSAGE = "This server is restarting; ask again to continue on another one."


class DrainMiddleware:
    """While the instance drains, refuses what would start a live session (a ticket, the
    live upgrade) with 503 ``draining`` and ``Retry-After``; the client asks again and the
    load balancer, which sees ``/readyz`` fail, sends it to another instance. Everything
    else is served as usual."""

    def __init__(self, app: ASGIApp, *, drain: Drain) -> None:
        self.app = app
        self.drain = drain

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if not self.drain.draining or kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET") if kind == "http" else "GET"
        if not starts_live_session(method, scope["path"]):
            await self.app(scope, receive, send)
            return
        body = json.dumps(error_body("draining", DRAINING_MESSAGE)).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"retry-after", str(RETRY_AFTER_S).encode()),
        ]
        if kind == "http":
            await send({"type": "http.response.start", "status": 503, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        if "websocket.http.response" not in scope.get("extensions", {}):
            await send({"type": "websocket.close", "code": 1013})  # "try again later"
            return
        # A refused upgrade: an HTTP answer instead of the handshake (the server's
        # websocket.http.response extension, as ``WebSocket.send_denial_response`` uses).
        await send({"type": "websocket.http.response.start", "status": 503, "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})


class BodyLimitMiddleware:
    """Refuses request bodies over a limit with 413, before a handler reads them.

    JSON bodies get ``json_limit``; routes that accept uploads declare larger limits by
    path prefix. A declared ``Content-Length`` over the limit is refused at once; a chunked
    body is counted as it streams in.
    """

    def __init__(
        self, app: ASGIApp, *, json_limit: int, upload_limits: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limits = upload_limits or {}

    def _limit_for(self, path: str) -> int:
        for prefix, limit in self.upload_limits.items():
            if path.startswith(prefix):
                return limit
        return self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit_for(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _reply(send, 400, "bad_request", "Content-Length is not a number.")
                return
            if too_big:
                await _drain(receive)
                await _reply(send, 413, "payload_too_large", _too_large(limit))
                return

        received = 0
        exceeded = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        response_started = False

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _drain(receive)
                await _reply(send, 413, "payload_too_large", _too_large(limit))
        except Exception:
            if exceeded and not response_started:
                await _reply(send, 413, "payload_too_large", _too_large(limit))
                return
            raise


class _BodyTooLarge(Exception):
    pass


def _too_large(limit: int) -> str:
    return f"The request body is larger than the {limit} bytes this route accepts."


async def _drain(receive: Receive) -> None:
    # Read (and discard) the rest of the body, up to a bound, so that a client still
    # sending gets to read the error response instead of a reset connection.
    budget = 32 << 20
    while budget > 0:
        message = await receive()
        if message["type"] != "http.request":
            return
        budget -= len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _reply(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
