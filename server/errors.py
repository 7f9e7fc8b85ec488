"""The one JSON error shape: ``{"error": {"code": "...", "message": "..."}}``.

Handlers raise ``ApiError``; anything else that escapes becomes a 500 with a generic
message (the details go to the log with the request id, never to the client).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger("intrvuer.errors")

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answered to the client with a status, a machine code and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.details = details

    def response(self) -> JSONResponse:
        """The error as the client gets it: the JSON error shape, with its headers."""
        return JSONResponse(
            error_body(self.code, self.message, self.details),
            status_code=self.status,
            headers=self.headers,
        )


def error_body(
    code: str, message: str, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = "No such route."
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on this route."
    else:
        message = exc.detail if isinstance(exc.detail, str) else "Request failed."
    headers = dict(exc.headers) if exc.headers else None
    code = _DEFAULT_CODES.get(exc.status_code, "error")
    return ApiError(exc.status_code, code, message, headers=headers).response()


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    request_id = getattr(request.state, "request_id", None)
    log.error(
        "unhandled error",
        exc_info=exc,
        extra={"request_id": request_id, "method": request.method, "route": request.url.path},
    )
    return ApiError(500, "internal_error", "Something went wrong on our side.").response()


EXCEPTION_HANDLERS = {
    ApiError: handle_api_error,
    HTTPException: handle_http_exception,
    Exception: handle_unexpected,
}
