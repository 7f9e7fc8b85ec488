"""What the two backends share below the ``Database`` interface: the dialect's name, its
migration files and the ``schema_migrations`` ledger of the ones applied.

Both ``storage.database`` (the interface) and ``storage.backends`` (the implementations)
need these, so they live here rather than in either.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

Dialect = Literal["sqlite", "postgres"]

_MIGRATIONS = Path(__file__).parent / "migrations"

# Postgres ledgers were always created with this default; a new database gets the same table.
_LEDGER_DEFAULT = {"postgres": " DEFAULT now()", "sqlite": ""}


class _Connection(Protocol):
    """A backend's raw connection or transaction, as far as the ledger needs one."""

    async def execute(self, query: str, *args: Any) -> Any: ...

    async def fetch(self, query: str, *args: Any) -> Any: ...


def migration_files(dialect: Dialect) -> list[Path]:
    """The dialect's migrations in the order they apply (``NNNN_name.sql``)."""
    return sorted((_MIGRATIONS / dialect).glob("[0-9][0-9][0-9][0-9]_*.sql"))


def _version(path: Path) -> int:
    return int(path.name[:4])


async def pending_migrations(conn: _Connection, dialect: Dialect) -> list[Path]:
    """The migration files not in the ledger yet, in order; creates the ledger if missing."""
    await conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        f" applied_at TIMESTAMPTZ NOT NULL{_LEDGER_DEFAULT[dialect]})"
    )
    rows = await conn.fetch("SELECT version FROM schema_migrations")
    done = {row["version"] for row in rows}
    return [path for path in migration_files(dialect) if _version(path) not in done]


async def record_migration(conn: _Connection, path: Path) -> None:
    """Enter an applied migration in the ledger (in the transaction that applied it)."""
    await conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        _version(path),
        path.stem,
        datetime.now(UTC),
    )
