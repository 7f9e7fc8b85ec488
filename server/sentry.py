"""Error reports to Sentry (``SENTRY_DSN``) that carry no personal data.

``sentry-sdk`` is initialised with ``send_default_pii`` off (its default), no local
variables in stack frames and no request bodies; ``scrub`` then removes, from every event
and breadcrumb, cookies, credential headers, query strings (tickets and OAuth codes travel
there), the user's e-mail and name, and any field whose name says it holds resume,
transcript or feedback content. E-mail addresses, phone numbers and links left in
messages are redacted."""

from __future__ import annotations

import logging
from typing import Any, Final

from pipeline.llm.redact import redact
from server.settings import Settings

log = logging.getLogger("intrvuer.sentry")

FILTERED: Final = "[Filtered]"
# Keys (in any nesting) whose values are content or credentials.
SENSITIVE_KEYS: Final = frozenset(
    {"text", "answer", "answers", "words", "transcript", "question", "questions", "resume",
     "parsed", "feedback", "body", "summary", "results", "background", "content", "messages",
     "password", "token", "access_token", "refresh_token", "ticket", "code", "state",
     "code_verifier", "secret", "email", "name", "phone", "data", "cookies", "authorization",
     "cookie", "set-cookie", "x-csrf-token", "x-api-key", "api_key", "env"}
)  # fmt: skip


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > 20:
        return FILTERED
    if isinstance(value, dict):
        return {
            key: FILTERED if str(key).lower() in SENSITIVE_KEYS else _clean(item, depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(item, depth + 1) for item in value]
    if isinstance(value, str):
        return redact(value)
    return value


def scrub(event: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    """``before_send``: the event without personal data (never dropped: the error matters)."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("data", None)
        request.pop("cookies", None)
        request.pop("env", None)
        if request.get("query_string"):
            request["query_string"] = FILTERED
        headers = request.get("headers")
        if isinstance(headers, dict):
            request["headers"] = {
                key: FILTERED if key.lower() in SENSITIVE_KEYS else value
                for key, value in headers.items()
            }
        url = request.get("url")
        if isinstance(url, str) and "?" in url:
            request["url"] = url.split("?", 1)[0]
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    for key in ("extra", "contexts", "breadcrumbs", "exception", "logentry", "message", "tags"):
        if key in event:
            event[key] = _clean(event[key])
    return event


def scrub_breadcrumb(crumb: dict[str, Any], hint: dict[str, Any] | None = None) -> dict[str, Any]:
    cleaned: dict[str, Any] = _clean(crumb)
    return cleaned


def init_sentry(settings: Settings) -> bool:
    """Start error reporting when ``SENTRY_DSN`` is set; whether it was started."""
    if settings.sentry_dsn is None:
        return False
    try:
        import sentry_sdk
    except ImportError as error:
        raise RuntimeError(
            "SENTRY_DSN is set but sentry-sdk is not installed: pip install 'intrvuer[sentry]'"
        ) from error
    sentry_sdk.init(
        dsn=settings.sentry_dsn.get_secret_value(),
        environment=settings.env.value,
        # send_default_pii is left at its default, False (newer SDKs deprecate passing it
        # in favour of ``data_collection``; either way no user data is attached).
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,
        before_send=scrub,  # type: ignore[arg-type]
        before_breadcrumb=scrub_breadcrumb,
    )
    log.info("error reports go to Sentry (scrubbed of personal data)")
    return True
