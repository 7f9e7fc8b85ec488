"""Postgres backend over an asyncpg connection pool."""

from __future__ import annotations

import ssl as ssl_module
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg

from storage.dialect import Dialect, pending_migrations, record_migration
from storage.types import Row

# Any constant works; it only has to be the same for every instance of the app.
_MIGRATION_LOCK_KEY = 0x1A7E_0001


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag, e.g. "UPDATE 3" or "INSERT 0 1".
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


class _PostgresExecutor:
    """Queries on a connection, or on the pool (which takes a connection per query)."""

    dialect: Dialect = "postgres"

    def __init__(self, conn: asyncpg.Connection | asyncpg.Pool) -> None:
        self._conn = conn

    async def execute(self, query: str, *args: Any) -> int:
        return _rowcount(await self._conn.execute(query, *args))

    async def fetch(self, query: str, *args: Any) -> list[Row]:
        return [dict(row) for row in await self._conn.fetch(query, *args)]

    async def fetchrow(self, query: str, *args: Any) -> Row | None:
        row = await self._conn.fetchrow(query, *args)
        return dict(row) if row is not None else None

    async def fetchval(self, query: str, *args: Any) -> Any:
        return await self._conn.fetchval(query, *args)


class PostgresDatabase(_PostgresExecutor):
    """The scale-out backend."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool)
        self._pool = pool

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        ssl: ssl_module.SSLContext | bool | str = "prefer",
        min_size: int = 1,
        max_size: int = 10,
    ) -> PostgresDatabase:
        pool = await asyncpg.create_pool(
            url,
            ssl=ssl,
            min_size=min_size,
            max_size=max_size,
            server_settings={"timezone": "UTC", "application_name": "intrvuer"},
        )
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_PostgresExecutor]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PostgresExecutor(conn)

    async def iterate(self, query: str, *args: Any) -> AsyncIterator[Row]:
        async with self._pool.acquire() as conn, conn.transaction():
            async for row in conn.cursor(query, *args, prefetch=200):
                yield dict(row)

    async def migrate(self) -> list[str]:
        applied: list[str] = []
        async with self._pool.acquire() as conn:
            # Several instances may start at once; one migrates, the others wait for it.
            await conn.execute("SELECT pg_advisory_lock($1)", _MIGRATION_LOCK_KEY)
            try:
                for path in await pending_migrations(conn, "postgres"):
                    async with conn.transaction():
                        await conn.execute(path.read_text())
                        await record_migration(conn, path)
                    applied.append(path.stem)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", _MIGRATION_LOCK_KEY)
        return applied

    async def applied_migrations(self) -> list[str]:
        rows = await self.fetch("SELECT name FROM schema_migrations ORDER BY version")
        return [row["name"] for row in rows]

    async def ping(self) -> None:
        await self._pool.fetchval("SELECT 1")

    @asynccontextmanager
    async def advisory_lock(self, name: str) -> AsyncIterator[bool]:
        async with self._pool.acquire() as conn:
            taken = await conn.fetchval("SELECT pg_try_advisory_lock(hashtext($1))", name)
            try:
                yield bool(taken)
            finally:
                if taken:
                    await conn.execute("SELECT pg_advisory_unlock(hashtext($1))", name)

    async def close(self) -> None:
        await self._pool.close()
