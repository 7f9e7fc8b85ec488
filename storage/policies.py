"""Published versions of the privacy policy, the notices sent about them, and who has
acknowledged which version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage._util import Repository, utcnow
from storage.types import Row, from_row


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    version: str
    summary: str
    material: bool  # a material change: every user is told by e-mail and by a banner
    published_at: datetime


@dataclass(frozen=True, slots=True)
class NoticeRecipient:
    user_id: str
    email: str
    name: str


class PolicyVersionTaken(Exception):
    """A version of that name was published already, with another summary or weight."""


def _version(row: Row) -> PolicyVersion:
    return from_row(PolicyVersion, row, material=bool(row["material"]))


class PolicyRepository(Repository):
    async def publish(self, version: str, *, summary: str, material: bool) -> PolicyVersion:
        """Record a new version. Publishing the same version again (a command run a second
        time after it was stopped) returns it; another summary under its name is refused."""
        await self._db.execute(
            "INSERT INTO policy_versions (version, summary, material, published_at)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (version) DO NOTHING",
            version,
            summary,
            material,
            utcnow(),
        )
        stored = await self.get(version)
        assert stored is not None
        if (stored.summary, stored.material) != (summary, material):
            raise PolicyVersionTaken(version)
        return stored

    async def get(self, version: str) -> PolicyVersion | None:
        row = await self._db.fetchrow("SELECT * FROM policy_versions WHERE version = $1", version)
        return _version(row) if row else None

    async def latest(self, *, material_only: bool = False) -> PolicyVersion | None:
        condition = " WHERE material" if material_only else ""
        row = await self._db.fetchrow(
            f"SELECT * FROM policy_versions{condition} ORDER BY published_at DESC LIMIT 1"  # noqa: S608
        )
        return _version(row) if row else None

    async def not_yet_notified(
        self, version: PolicyVersion, *, limit: int
    ) -> list[NoticeRecipient]:
        """Users with an address who had their account before the version was published
        and have no notice of it queued yet, in a stable order (resumable)."""
        rows = await self._db.fetch(
            "SELECT u.id, u.email, u.name FROM users u"
            " WHERE u.email <> '' AND u.created_at < $2 AND NOT EXISTS ("
            "   SELECT 1 FROM policy_notices n WHERE n.version = $1 AND n.user_id = u.id)"
            " ORDER BY u.id LIMIT $3",
            version.version,
            version.published_at,
            limit,
        )
        return [NoticeRecipient(row["id"], row["email"], row["name"]) for row in rows]

    async def notice_queued(self, version: str, user_id: str) -> None:
        await self._db.execute(
            "INSERT INTO policy_notices (version, user_id, queued_at) VALUES ($1, $2, $3)"
            " ON CONFLICT (version, user_id) DO NOTHING",
            version,
            user_id,
            utcnow(),
        )

    async def notices_queued(self, version: str) -> int:
        count = await self._db.fetchval(
            "SELECT count(*) FROM policy_notices WHERE version = $1", version
        )
        return int(count)

    async def acknowledge(self, user_id: str, version: str) -> None:
        await self._db.execute(
            "UPDATE users SET policy_acked_version = $2 WHERE id = $1", user_id, version
        )

    async def unacknowledged(self, user_id: str) -> PolicyVersion | None:
        """The material change the user should see a banner for, if any: the newest one,
        published after their account was made and not acknowledged by them."""
        latest = await self.latest(material_only=True)
        if latest is None:
            return None
        user = await self._db.fetchrow(
            "SELECT created_at, policy_acked_version FROM users WHERE id = $1", user_id
        )
        if user is None or user["policy_acked_version"] == latest.version:
            return None
        return latest if latest.published_at > user["created_at"] else None
