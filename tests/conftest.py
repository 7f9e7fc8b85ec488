"""Shared fixtures: a fresh database per test on every backend, and real Redis.

Services are used when they answer; with ``CI=true`` a missing service fails the tests
that need it instead of skipping them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis.asyncio as aioredis

from storage import Database, connect

POSTGRES_URL = os.environ.get(
    "INTRVUER_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("INTRVUER_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# One template per test process, so that concurrent test runs never share one.
TEMPLATE_DB = f"intrvuer_tpl_{os.getpid()}"


def service_missing(name: str, error: BaseException) -> None:
    message = f"{name} is not reachable ({error.__class__.__name__}: {error})"
    if IN_CI:
        pytest.fail(f"{message}; CI=true requires it", pytrace=False)
    pytest.skip(message)


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


_template_ready: dict[str, bool] = {}


async def _admin_connection() -> asyncpg.Connection:
    try:
        return await asyncpg.connect(POSTGRES_URL, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        service_missing("PostgreSQL", error)
        raise


async def _ensure_template(admin: asyncpg.Connection) -> None:
    """Create, once per test run, a migrated database that each test copies."""
    if _template_ready.get(TEMPLATE_DB):
        return
    await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{TEMPLATE_DB}" TEMPLATE template0')
    db = await connect(_with_database(POSTGRES_URL, TEMPLATE_DB), ssl_mode="disable")
    try:
        await db.migrate()
    finally:
        await db.close()
    _template_ready[TEMPLATE_DB] = True


async def create_postgres_database(*, migrated: bool = True) -> tuple[str, str]:
    """A new uniquely named database; returns (name, url)."""
    admin = await _admin_connection()
    try:
        name = f"intrvuer_t_{uuid.uuid4().hex[:12]}"
        if migrated:
            await _ensure_template(admin)
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE_DB}"')
        else:
            await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
    finally:
        await admin.close()
    return name, _with_database(POSTGRES_URL, name)


async def drop_postgres_database(name: str) -> None:
    admin = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _template_ready.get(TEMPLATE_DB):
        return

    async def drop() -> None:
        admin = await asyncpg.connect(POSTGRES_URL, timeout=5)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        finally:
            await admin.close()

    asyncio.run(drop())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def database_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """URL of an empty-but-migrated database of the requested backend, private to the test."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'intrvuer.db'}"
        db = await connect(url)
        await db.migrate()
        await db.close()
        yield url
        return
    name, url = await create_postgres_database()
    yield url
    await drop_postgres_database(name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = await connect(database_url, ssl_mode="disable")
    yield database
    await database.close()


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """A Redis URL whose keys are private to the test (a unique key prefix is not enough
    for streams and groups, so each test flushes its own logical database)."""
    client = aioredis.from_url(REDIS_URL)
    try:
        await asyncio.wait_for(client.ping(), timeout=5)
    except (OSError, aioredis.ConnectionError, TimeoutError) as error:
        await client.aclose()
        service_missing("Redis", error)
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "data"
    path.mkdir()
    yield path
