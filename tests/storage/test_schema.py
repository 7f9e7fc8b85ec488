"""Migrations build exactly the declared schema, on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import connect
from storage.schema import DECLARED, inspect
from tests.conftest import create_postgres_database, drop_postgres_database

MIGRATIONS = [
    "0001_initial",
    "0002_interviews",
    "0003_documents",
    "0004_feedback",
    "0005_turn_timing",
    "0006_auth_time",
    "0007_account_mail",
    "0008_drills",
]


@pytest.fixture
async def empty_url(backend: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    name, url = await create_postgres_database(migrated=False)
    yield url
    await drop_postgres_database(name)


async def test_migrations_produce_declared_schema(empty_url: str) -> None:
    db = await connect(empty_url, ssl_mode="disable")
    try:
        applied = await db.migrate()
        assert applied == MIGRATIONS
        actual = await inspect(db)
        assert {t: actual.get(t) for t in DECLARED} == DECLARED
        assert set(actual) - set(DECLARED) <= {"sqlite_sequence"}
    finally:
        await db.close()


async def test_migrate_twice_is_a_no_op(empty_url: str) -> None:
    db = await connect(empty_url, ssl_mode="disable")
    try:
        await db.migrate()
        assert await db.migrate() == []
        assert await db.applied_migrations() == MIGRATIONS
    finally:
        await db.close()
