"""The audit log: who did what, from where, and when — never the content."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage._util import Repository, clip_user_agent, utcnow
from storage.types import AuditEvent, Row, from_row


def _event(row: Row) -> AuditEvent:
    return from_row(AuditEvent, row, id=int(row["id"]), details=json.loads(row["details"]))


class AuditRepository(Repository):
    async def record(
        self,
        action: str,
        *,
        user_id: str | None,
        target_id: str | None = None,
        ip: str | None = None,
        user_agent: str | None = None,
        details: dict[str, Any] | None = None,
        at: datetime | None = None,
    ) -> None:
        await self._db.execute(
            "INSERT INTO audit_events (user_id, action, target_id, ip, user_agent, details,"
            " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            user_id,
            action,
            target_id,
            ip,
            clip_user_agent(user_agent),
            json.dumps(details or {}, sort_keys=True),
            at or utcnow(),
        )

    async def list_for_user(
        self, user_id: str, *, limit: int = 50, before_id: int | None = None
    ) -> list[AuditEvent]:
        rows = await self._db.fetch(
            "SELECT * FROM audit_events WHERE user_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3",
            user_id,
            before_id if before_id is not None else 2**62,
            limit,
        )
        return [_event(row) for row in rows]

    async def list_by_action(self, action: str) -> list[AuditEvent]:
        rows = await self._db.fetch(
            "SELECT * FROM audit_events WHERE action = $1 ORDER BY id", action
        )
        return [_event(row) for row in rows]
