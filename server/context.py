"""Per-request helpers: the services, the caller's IP and user agent, audit records."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection

from server.services import Services
from storage.audit import AuditRepository


def services(conn: HTTPConnection) -> Services:
    value: Services = conn.app.state.services
    return value


def client_ip(conn: HTTPConnection) -> str | None:
    if services(conn).settings.trust_proxy_headers:
        forwarded = conn.headers.get("x-forwarded-for", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return conn.client.host if conn.client else None


def user_agent(conn: HTTPConnection) -> str | None:
    return conn.headers.get("user-agent")


async def audit(
    conn: HTTPConnection,
    action: str,
    *,
    user_id: str | None,
    target_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a state-changing action with who, from where and when; never content."""
    await AuditRepository(services(conn).db).record(
        action,
        user_id=user_id,
        target_id=target_id,
        ip=client_ip(conn),
        user_agent=user_agent(conn),
        details=details,
    )
