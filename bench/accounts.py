"""The benchmark's candidates on the server: accounts, their interviews, live tickets."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import httpx
from websockets.asyncio.client import connect

from bench.processes import Server

PASSWORD = "bench-candidate-password"
SETUP_CONCURRENCY = 4  # registrations at once (Argon2 is deliberately slow)


@dataclass(frozen=True)
class Account:
    token: str
    interview_id: str


async def create_accounts(http: httpx.AsyncClient, count: int, questions: int) -> list[Account]:
    """Register ``count`` candidates, each with an interview of ``questions`` questions."""
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(index: int) -> Account:
        async with limit:
            registered = await http.post(
                "/v1/auth/register",
                json={
                    "email": f"candidate{index}@example.org",
                    "password": PASSWORD,
                    "name": f"Candidate {index}",
                    "confirm_age_16": True,
                },
            )
            registered.raise_for_status()
            token = registered.json()["access_token"]
            # A mixed interview: its question bank is the largest (12), so every answer
            # count the protocol allows gets a question of its own.
            created = await http.post(
                "/v1/interviews",
                json={"type": "mixed", "question_count": questions},
                headers={"authorization": f"Bearer {token}"},
            )
            created.raise_for_status()
            planned = len(created.json()["questions"])
            if planned != questions:
                raise RuntimeError(f"asked for {questions} questions, the plan has {planned}")
            return Account(token, created.json()["id"])

    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(one(index)) for index in range(count)]
    return [task.result() for task in tasks]


async def ticket_url(http: httpx.AsyncClient, server: Server, account: Account) -> str:
    response = await http.post(
        f"/v1/interviews/{account.interview_id}/ticket",
        headers={"authorization": f"Bearer {account.token}"},
    )
    response.raise_for_status()
    ticket = response.json()["ticket"]
    return f"{server.ws_url}/v1/interviews/{account.interview_id}/live?ticket={ticket}"


async def warm_up(url: str, compression: str | None) -> None:
    """One short session before the baseline, so the server's first-use work (lazy imports
    of the provider SDKs, first connections) is not counted as the sessions' cost."""
    async with connect(url, max_size=2**20, compression=compression, open_timeout=30) as ws:
        await ws.send(json.dumps({"type": "start"}))
        async with asyncio.timeout(30):
            async for message in ws:
                if isinstance(message, bytes):  # the greeting is being spoken
                    break
        await ws.send(json.dumps({"type": "stop"}))
        async with asyncio.timeout(10):
            async for _ in ws:
                pass
