"""Deepgram Flux through a real server and the real SDK: its eager end of turn begins
the reply, ``TurnResumed`` cancels it, ``EndOfTurn`` confirms it — and nothing of a
cancelled reply is ever spoken or kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from server.settings import Settings
from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram, silence, tone
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai
from tests.live_client import LiveClient, live
from tests.polling import eventually
from tests.server.test_live_providers import start_interview, turns_of
from tests.serving import RunningServer, run_server

RATE = 16000
FRAME_S = 0.02
ANSWER = (
    "In my last role I led a migration of the billing system. We cut failed payments "
    "by forty percent in two months, which saved the support team many hours."
)
FIRST_SENTENCE = 12  # words


def reply_to(messages: list[dict[str, Any]]) -> str:
    """A reply that shows which words it answers: how many the candidate said last."""
    said = [m for m in messages if m.get("role") == "user"]
    count = len(str(said[-1].get("content", "")).split()) if said else 0
    return f"Thank you. I heard {count} words. Next, tell me about a deadline."


@pytest.fixture
async def deepgram() -> AsyncIterator[FakeDeepgram]:
    # Flux's confidence reaches the eager threshold (0.5) after 500 ms of silence and the
    # end-of-turn one (0.7) after 700 ms.
    fake = FakeDeepgram(speak_ms_per_char=8.0, ms_per_word=100)
    async with run_fake_deepgram(fake) as running:
        yield running


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai(FakeOpenAI(responder=reply_to)) as running:
        yield running


@pytest.fixture
async def server(
    settings: Settings, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> AsyncIterator[RunningServer]:
    flux = settings.model_copy(
        update={
            "deepgram_api_key": SecretStr(deepgram.api_key),
            "deepgram_base_url": deepgram.url,
            "deepgram_flux": True,
            "openai_api_key": SecretStr(llm.api_key),
            "openai_base_url": llm.openai_base_url,
            "llm_providers": ["openai"],
            "interview_patience_s": 0.1,
            # Short waits whatever the answer's length, so that a reply is begun at every
            # eager end of turn (a long wait begins it only its lead before the end).
            "interview_unfinished_patience_s": 0.5,
            "interview_follow_ups": 0,
        }
    )
    async with run_server(flux) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


async def say(client: LiveClient, *pieces: tuple[float, float]) -> None:
    """Speech and silence in turn, (speech seconds, silence seconds) each, in real time."""
    audio = b"".join(tone(voiced, RATE) + silence(quiet, RATE) for voiced, quiet in pieces)
    step = int(RATE * FRAME_S) * 2
    for start in range(0, len(audio), step):
        await client.send(audio[start : start + step])
        await asyncio.sleep(FRAME_S)


async def reply_metrics(client: LiveClient, turn: int) -> dict[str, float]:
    return dict((await client.wait_for("metrics", turn))["metrics"])


async def test_the_eager_end_of_turn_begins_the_reply_that_the_end_of_turn_speaks(
    server: RunningServer, http: httpx.AsyncClient, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    deepgram.script(ANSWER)
    token, iid, url = await start_interview(http, server, "flux@example.org")
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_turn_end", 1, within=20)
        await say(client, (2.6, 1.2))
        ended = await client.wait_for("user_turn_end", 1)
        assert ended["text"] == ANSWER
        values = await reply_metrics(client, 2)
        await client.wait_for("agent_turn_end", 2)
        await client.send({"type": "stop"})
    assert values["speculative_started"] == 1 and values["speculative_used"] == 1
    assert values["speculative_discarded"] == 0
    # One request for the greeting, one for the reply, begun at the eager end of turn.
    assert len(llm.requests) == 2
    [reply] = [e["text"] for e in client.matching("agent_turn_end")][1:]
    assert f"I heard {len(ANSWER.split())} words" in reply
    [connection] = deepgram.flux_connections
    assert connection.query["eager_eot_threshold"] == "0.5"


async def test_speech_that_resumes_cancels_the_reply_begun_on_the_eager_end(
    server: RunningServer, http: httpx.AsyncClient, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    deepgram.script(ANSWER)
    token, iid, url = await start_interview(http, server, "resumed@example.org")
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_turn_end", 1, within=20)
        # After the first sentence (a word at once, then one per 100 ms of speech), a
        # thinking pause long enough for the eager end (0.5 s), too short for the end.
        await say(client, (1.15, 0.6), (1.6, 1.2))
        ended = await client.wait_for("user_turn_end", 1)
        assert ended["text"] == ANSWER
        values = await reply_metrics(client, 2)
        await client.wait_for("agent_turn_end", 2)
        await client.send({"type": "stop"})
    assert values["speculative_started"] == 2 and values["speculative_used"] == 1
    assert values["speculative_discarded"] == 1
    # The cancelled request answered the first words; nothing of it was spoken or kept.
    replies = [e["text"] for e in client.matching("agent_turn_end")]
    spoken = " ".join(replies) + " ".join(e["text"] for e in client.matching("agent_text"))
    heard = f"I heard {len(ANSWER.split())} words"
    assert heard in replies[1]
    early = f"I heard {FIRST_SENTENCE} words"
    assert early in " ".join(r.reply or "" for r in llm.requests)  # begun on the first words
    assert early not in spoken

    async def stored() -> dict[str, Any]:
        return await turns_of(http, token, iid)

    detail = await eventually(stored, lambda d: len(d["turns"]) == 1)
    assert detail["turns"][0]["answer"] == ANSWER
