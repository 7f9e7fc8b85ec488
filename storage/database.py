"""The database interface both backends implement, and ``connect`` to pick one by URL.

Queries are written once, in Postgres style with ``$1`` placeholders; the SQLite backend
rewrites them to SQLite's numbered ``?1`` form. Timestamps are timezone-aware UTC
``datetime`` objects on both backends.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, Protocol

from storage.dialect import Dialect
from storage.types import Row


class Executor(Protocol):
    """Runs queries; a ``Database`` or an open transaction."""

    async def execute(self, query: str, *args: Any) -> int:
        """Run a statement; returns the number of rows it changed."""
        ...

    async def fetch(self, query: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, query: str, *args: Any) -> Row | None: ...

    async def fetchval(self, query: str, *args: Any) -> Any: ...


class Database(Executor, Protocol):
    """A connection pool (Postgres) or a single WAL-mode connection (SQLite)."""

    dialect: Dialect

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """A transaction; it commits when the block exits normally, else rolls back."""
        ...

    def iterate(self, query: str, *args: Any) -> AsyncIterator[Row]:
        """Rows one by one, without loading the whole result in memory."""
        ...

    async def migrate(self) -> list[str]:
        """Apply pending migrations; returns the names applied."""
        ...

    async def applied_migrations(self) -> list[str]: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...

    def advisory_lock(self, name: str) -> AbstractAsyncContextManager[bool]:
        """A lock held across instances for the block; yields whether it was taken."""
        ...


def postgres_ssl(mode: str, root_cert: Path | None) -> ssl.SSLContext | bool | str:
    """The ``ssl`` argument for asyncpg from a libpq-style ``sslmode``."""
    if mode in ("disable", "prefer", "require") and root_cert is None:
        return mode if mode != "disable" else False
    context = ssl.create_default_context(cafile=str(root_cert) if root_cert else None)
    if mode != "verify-full":
        context.check_hostname = False
    if mode in ("prefer", "require"):
        context.verify_mode = ssl.CERT_NONE
    return context


async def connect(
    url: str,
    *,
    ssl_mode: str = "prefer",
    ssl_root_cert: Path | None = None,
    pool_min: int = 1,
    pool_max: int = 10,
) -> Database:
    """Open the database named by ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    if url.startswith("sqlite:"):
        from storage.backends.sqlite import SQLiteDatabase

        return await SQLiteDatabase.open(url)
    if url.startswith(("postgres://", "postgresql://")):
        from storage.backends.postgres import PostgresDatabase

        return await PostgresDatabase.open(
            url,
            ssl=postgres_ssl(ssl_mode, ssl_root_cert),
            min_size=pool_min,
            max_size=pool_max,
        )
    scheme = url.split(":", 1)[0] or "(empty)"
    raise ValueError(f"unsupported DATABASE_URL scheme {scheme!r}; use sqlite:/// or postgresql://")
