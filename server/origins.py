"""Which browser origins may use the session cookie and open live interviews.

Allowed: the origin the browser used to reach this server (the request's own scheme and
``Host``; with ``TRUST_PROXY_HEADERS`` the proxy's ``X-Forwarded-Proto`` and
``X-Forwarded-Host``), ``PUBLIC_URL``, and every entry of ``ALLOWED_ORIGINS``. So
``http://localhost:8000``, ``http://127.0.0.1:9000`` and a LAN address all work without
configuration, while a page of another site, and the opaque ``Origin: null`` of sandboxed
frames and ``file:`` pages, are refused.

Trusting ``Host`` is safe here: a page that reaches this server under a name of its own
(DNS rebinding) is on an origin for which the browser holds none of our cookies, and a
live ticket can only be had with an access token.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

from server.settings import Settings

_DEFAULT_PORTS = {"http": 80, "https": 443}
_WEB_SCHEMES = {"ws": "http", "wss": "https"}


def normalize(origin: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin or URL, with the default port filled in;
    None for what is not an http(s) origin (``null``, ``file://``, garbage)."""
    try:
        parts = urlsplit(origin.strip())
        scheme = parts.scheme.lower()
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    return scheme, host, port if port is not None else _DEFAULT_PORTS[scheme]


def _first(value: str) -> str:
    return value.split(",", 1)[0].strip()


def own_origin(conn: HTTPConnection, settings: Settings) -> tuple[str, str, int] | None:
    """The origin this request reached the server at, as the browser saw it."""
    scheme = _WEB_SCHEMES.get(conn.url.scheme, conn.url.scheme)
    host = conn.headers.get("host", "")
    if settings.trust_proxy_headers:
        scheme = _first(conn.headers.get("x-forwarded-proto", "")) or scheme
        host = _first(conn.headers.get("x-forwarded-host", "")) or host
    if not host:
        return None
    return normalize(f"{scheme}://{host}")


def origin_allowed(conn: HTTPConnection, settings: Settings) -> bool:
    """Whether the request's ``Origin`` may act on this server; a request without one
    (not sent by a browser page) is not refused here."""
    given = conn.headers.get("origin")
    if given is None:
        return True
    origin = normalize(given)
    if origin is None:
        return False
    if origin == own_origin(conn, settings):
        return True
    allowed = (normalize(item) for item in (*settings.allowed_origins, settings.public_url))
    return origin in allowed
