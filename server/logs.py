"""Structured JSON logs that never carry credentials or personal content.

Log records get their context through ``extra=``. Keys that could hold secrets or a
candidate's words are dropped by name, whatever the caller passes, and values that look
like bearer tokens or JWTs are masked — a second line of defence, not a licence to log them.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

SENSITIVE_KEYS = frozenset(
    {
        "password",
        "new_password",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "ticket",
        "authorization",
        "cookie",
        "secret",
        "client_secret",
        "code",
        "code_verifier",
        "api_key",
        "resume_text",
        "text",
        "transcript",
        "body",
        "email",
    }
)
_TOKENISH = re.compile(
    r"(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*|Bearer\s+\S+)", re.IGNORECASE
)
# Credentials in a query string: uvicorn logs a WebSocket's whole path ("... /live?ticket=
# ... [accepted]"), and OAuth callbacks carry their code and state there.
_QUERY_SECRET = re.compile(
    r"([?&](?:ticket|token|access_token|refresh_token|code|state)=)[^&\s\"']+", re.IGNORECASE
)
_RESERVED = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def scrub(value: Any) -> Any:
    if isinstance(value, str):
        return _QUERY_SECRET.sub(r"\1[redacted]", _TOKENISH.sub("[redacted]", value))
    if isinstance(value, dict):
        return {
            key: "[redacted]" if str(key).lower() in SENSITIVE_KEYS else scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": scrub(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key in _RESERVED or key.startswith("_"):
                continue
            entry[key] = "[redacted]" if key.lower() in SENSITIVE_KEYS else scrub(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_type"] = record.exc_info[0].__name__
            entry["traceback"] = scrub(self.formatException(record.exc_info))
        return json.dumps(entry, default=str)


# Libraries whose debug output carries query parameters or request details (aiosqlite logs
# every statement with its arguments, password hashes and e-mail addresses included).
NOISY_LIBRARIES = ("aiosqlite", "asyncpg", "httpcore", "httpx", "websockets", "hpack")


def quiet_libraries() -> None:
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str = "INFO") -> None:
    quiet_libraries()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Our own access log replaces uvicorn's: uvicorn's prints query strings (tickets).
    logging.getLogger("uvicorn.access").disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
