"""SQLite backend: one file, WAL mode, one connection serialised by a lock.

aiosqlite runs every statement on its own thread, so the event loop never blocks on disk.
SQLite allows one writer at a time anyway; a single connection with an ``asyncio.Lock``
keeps transactions from interleaving without "database is locked" retries.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from storage.dialect import Dialect, pending_migrations, record_migration
from storage.types import Row

_PLACEHOLDER = re.compile(r"\$(\d+)")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%f+00:00"


def _adapt_datetime(value: datetime) -> str:
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the database; use timezone-aware UTC")
    # One fixed format in UTC, so that string comparison in SQL orders like time does.
    return value.astimezone(UTC).strftime(_TIME_FORMAT)


def _convert_timestamp(raw: bytes) -> datetime:
    return datetime.fromisoformat(raw.decode())


sqlite3.register_adapter(datetime, _adapt_datetime)
sqlite3.register_converter("TIMESTAMPTZ", _convert_timestamp)
sqlite3.register_converter("BOOLEAN", lambda raw: raw not in (b"0", b""))


def _translate(query: str) -> str:
    return _PLACEHOLDER.sub(r"?\1", query)


def _path_from_url(url: str) -> str:
    rest = url.removeprefix("sqlite:")
    if rest in ("", "//", "///:memory:", ":memory:"):
        return ":memory:"
    return rest.removeprefix("//")


class _SQLiteExecutor:
    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, query: str, *args: Any) -> int:
        cursor = await self._conn.execute(_translate(query), args)
        count = cursor.rowcount
        await cursor.close()
        return max(count, 0)

    async def fetch(self, query: str, *args: Any) -> list[Row]:
        cursor = await self._conn.execute(_translate(query), args)
        rows = await cursor.fetchall()
        await cursor.close()
        return [dict(row) for row in rows]

    async def fetchrow(self, query: str, *args: Any) -> Row | None:
        cursor = await self._conn.execute(_translate(query), args)
        row = await cursor.fetchone()
        await cursor.close()
        return dict(row) if row is not None else None

    async def fetchval(self, query: str, *args: Any) -> Any:
        row = await self.fetchrow(query, *args)
        return next(iter(row.values())) if row else None


class SQLiteDatabase:
    """The embedded backend."""

    dialect: Dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._executor = _SQLiteExecutor(conn)
        self._advisory: dict[str, asyncio.Lock] = {}
        self.path = path

    @classmethod
    async def open(cls, url: str) -> SQLiteDatabase:
        path = _path_from_url(url)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(
            path, detect_types=sqlite3.PARSE_DECLTYPES, isolation_level=None
        )
        conn.row_factory = sqlite3.Row
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
            "PRAGMA foreign_keys=ON",
            "PRAGMA busy_timeout=5000",
        ):
            await conn.execute(pragma)
        return cls(conn, path)

    async def execute(self, query: str, *args: Any) -> int:
        async with self._lock:
            return await self._executor.execute(query, *args)

    async def fetch(self, query: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await self._executor.fetch(query, *args)

    async def fetchrow(self, query: str, *args: Any) -> Row | None:
        async with self._lock:
            return await self._executor.fetchrow(query, *args)

    async def fetchval(self, query: str, *args: Any) -> Any:
        async with self._lock:
            return await self._executor.fetchval(query, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_SQLiteExecutor]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._executor
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def iterate(self, query: str, *args: Any) -> AsyncIterator[Row]:
        # Page through with LIMIT/OFFSET so the lock is never held while the caller works.
        offset, page = 0, 200
        while True:
            rows = await self.fetch(f"{query} LIMIT {page} OFFSET {offset}", *args)
            for row in rows:
                yield row
            if len(rows) < page:
                return
            offset += page

    async def migrate(self) -> list[str]:
        applied: list[str] = []
        async with self.transaction() as tx:
            for path in await pending_migrations(tx, "sqlite"):
                for statement in _split_statements(path.read_text()):
                    await tx.execute(statement)
                await record_migration(tx, path)
                applied.append(path.stem)
        return applied

    async def applied_migrations(self) -> list[str]:
        rows = await self.fetch("SELECT name FROM schema_migrations ORDER BY version")
        return [row["name"] for row in rows]

    async def ping(self) -> None:
        await self.fetchval("SELECT 1")

    @asynccontextmanager
    async def advisory_lock(self, name: str) -> AsyncIterator[bool]:
        # One process owns an SQLite file, so a process-local lock is enough.
        lock = self._advisory.setdefault(name, asyncio.Lock())
        if lock.locked():
            yield False
            return
        async with lock:
            yield True

    async def close(self) -> None:
        await self._conn.close()


def _split_statements(script: str) -> list[str]:
    """Statements of a migration file (our migrations keep ';' out of string literals)."""
    lines = [line for line in script.splitlines() if not line.strip().startswith("--")]
    return [part.strip() for part in "\n".join(lines).split(";") if part.strip()]
