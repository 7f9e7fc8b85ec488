"""A real uvicorn server on a free port, per test, on the backend under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from server.settings import Settings
from tests.serving import RunningServer, run_server


@pytest.fixture
def settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        database_ssl="disable",
        jwt_secret="test-secret-that-is-long-enough-for-hs256-0123456789",
        queue_poll_interval_s=0.05,
    )


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with run_server(settings) as running:
        yield running


@pytest.fixture
async def client(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        yield http
