"""Schemathesis fuzzes every documented operation; none may answer with a 5xx."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import httpx

from tests.serving import RunningServer


async def test_fuzzing_the_openapi_document_finds_no_server_errors(
    server: RunningServer, client: httpx.AsyncClient, tmp_path: Path
) -> None:
    registered = await client.post(
        "/v1/auth/register",
        json={
            "email": "fuzz@example.org",
            "password": "fuzzing password",
            "name": "Fuzz",
            "confirm_age_16": True,
        },
    )
    token = registered.json()["access_token"]
    st = shutil.which("st", path=str(Path(sys.executable).parent)) or "st"
    process = await asyncio.create_subprocess_exec(
        st,
        "--no-color",
        "run",
        f"{server.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--max-examples",
        os.environ.get("INTRVUER_FUZZ_EXAMPLES", "25"),
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
        cwd=tmp_path,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
