"""Schemathesis fuzzes every documented operation; none may answer with a 5xx."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import httpx

from tests.serving import RunningServer


async def _token(client: httpx.AsyncClient) -> str:
    registered = await client.post(
        "/v1/auth/register",
        json={
            "email": "fuzz@example.org",
            "password": "fuzzing password",
            "name": "Fuzz",
            "confirm_age_16": True,
        },
    )
    return str(registered.json()["access_token"])


async def _schemathesis(server: RunningServer, token: str, cwd: Path, *options: str) -> str:
    """Run ``st run`` against the server's OpenAPI document; returns its output."""
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    process = await asyncio.create_subprocess_exec(
        st,
        "--no-color",
        "run",
        f"{server.url}/openapi.json",
        *options,
        "--header",
        f"Authorization: Bearer {token}",
        "--workers",
        "1",
        "--request-timeout",
        "10",
        "--seed",
        "1",
        "--max-failures",
        "5",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=cwd,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
    return text


async def test_fuzzing_the_openapi_document_finds_no_server_errors(
    server: RunningServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    await _schemathesis(
        server,
        await _token(client),
        tmp_path,
        "--checks",
        "not_a_server_error",
        "--max-examples",
        os.environ.get("INTRVUER_FUZZ_EXAMPLES", "25"),
    )


async def test_numbers_in_a_query_past_their_bounds_are_refused_not_a_server_error(
    server: RunningServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    # The coverage phase sends each bound and the values just past it (2**63 for the
    # audit log's ``before``, which overflowed SQLite into a 500); invalid input must get
    # a 4xx.
    await _schemathesis(
        server,
        await _token(client),
        tmp_path,
        "--include-path",
        "/v1/account/audit",
        "--phases",
        "coverage,fuzzing",
        "--checks",
        "not_a_server_error,negative_data_rejection",
        "--max-examples",
        "50",
    )
