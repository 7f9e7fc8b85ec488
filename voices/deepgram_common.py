"""What the Deepgram adapters share: the SDK imports (its socket clients too), the client
for a base URL, and telling a dropped connection from other failures without logging a
secret."""

from __future__ import annotations

import contextlib
import functools
import importlib
import ssl
from typing import Any

import httpx
import websockets.exceptions

try:
    from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
    from deepgram.core.api_error import ApiError
    from deepgram.listen.v1.socket_client import AsyncV1SocketClient as ListenV1Socket
    from deepgram.listen.v2.socket_client import AsyncV2SocketClient as ListenV2Socket
    from deepgram.speak.v1.socket_client import AsyncV1SocketClient as SpeakV1Socket
    from deepgram.speak.v1.types import SpeakV1Text
except ImportError as missing:  # pragma: no cover - depends on the installed extras
    raise ImportError(
        "the Deepgram speech adapters need deepgram-sdk: pip install 'intrvuer[deepgram]'"
    ) from missing

__all__ = [
    "CONNECT_ERRORS",
    "ApiError",
    "AsyncDeepgramClient",
    "ListenV1Socket",
    "ListenV2Socket",
    "SpeakV1Socket",
    "SpeakV1Text",
    "describe_failure",
    "import_clients",
    "is_refusal",
    "http_client",
    "make_client",
    "message_type",
    "shorten_close",
    "websocket_base",
]

DEFAULT_BASE_URL = "https://api.deepgram.com"

# What opening or using a Deepgram socket raises when the network or the service fails:
# a refused handshake (ApiError), a socket error, a timeout, or a closed connection.
CONNECT_ERRORS: tuple[type[BaseException], ...] = (
    ApiError,
    OSError,
    TimeoutError,
    websockets.exceptions.WebSocketException,
)


def import_clients() -> None:
    """Import now the listen and speak clients, which the SDK imports on first use."""
    for name in ("listen.v1.client", "speak.v1.client", "core.websocket_compat"):
        with contextlib.suppress(ImportError):  # another SDK release, another layout
            importlib.import_module(f"deepgram.{name}")


def websocket_base(base_url: str) -> str:
    """``https://host`` → ``wss://host`` (and ``http`` → ``ws``), for the socket APIs."""
    base = base_url.rstrip("/")
    for plain, secure in (("https://", "wss://"), ("http://", "ws://")):
        if base.startswith(plain):
            return secure + base[len(plain) :]
    return base


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Building a context loads the CA bundle: ~50 ms of CPU, too much to pay for every
    # session that joins. One per process is safe to share across event loops.
    return httpx.create_ssl_context()


def http_client(timeout_s: float, *, connect_timeout_s: float = 5.0) -> httpx.AsyncClient:
    """An HTTP client for one stream's REST calls, cheap to make (a shared TLS context)."""
    return httpx.AsyncClient(
        verify=_tls_context(), timeout=httpx.Timeout(timeout_s, connect=connect_timeout_s)
    )


def make_client(api_key: str, base_url: str, http: httpx.AsyncClient) -> AsyncDeepgramClient:
    """An SDK client whose REST calls go to ``base_url`` and sockets to its ws twin.
    The caller owns ``http`` (the SDK never closes a client it is given, nor one it made)."""
    base = base_url.rstrip("/")
    socket = websocket_base(base)
    environment = DeepgramClientEnvironment(
        base=base, production=socket, agent=socket, agent_rest=base
    )
    return AsyncDeepgramClient(api_key=api_key, environment=environment, httpx_client=http)


def message_type(message: Any) -> str | None:
    """The ``type`` field of a parsed server message.

    The SDK parses text frames by shape into a union of models, so the Python class is
    not to be trusted (a ``Cleared`` comes back as a ``SpeakV1Flushed``), and a type it
    does not know becomes ``None`` or a plain dict.
    """
    if message is None or isinstance(message, bytes | bytearray):
        return None
    kind = message.get("type") if isinstance(message, dict) else getattr(message, "type", None)
    return kind if isinstance(kind, str) else None


def is_refusal(error: BaseException) -> bool:
    """A handshake refused for a reason that retrying will not fix (bad key, bad query)."""
    status = getattr(error, "status_code", None)
    return isinstance(error, ApiError) and status in (400, 401, 402, 403)


def describe_failure(error: BaseException) -> str:
    """A short account of a failure for logs: status or close code, never headers (an
    ``ApiError`` carries the request headers, and with them the API key)."""
    if isinstance(error, ApiError):
        return f"HTTP {error.status_code}"
    if isinstance(error, websockets.exceptions.ConnectionClosed):
        received = error.rcvd
        if received is None:
            return "connection lost without a close frame"
        return f"closed with {received.code}"
    return type(error).__name__


def shorten_close(connection: Any, seconds: float) -> None:
    """Bound how long leaving the SDK's ``connect()`` block may wait for the closing
    handshake (websockets' legacy client waits up to 10 s per step by default, and the
    SDK offers no way to pass ``close_timeout``). Best effort: the SDK keeps the
    protocol object in a private attribute, so nothing happens if that changes."""
    protocol = getattr(connection, "_websocket", None)
    if protocol is not None and hasattr(protocol, "close_timeout"):
        protocol.close_timeout = seconds
