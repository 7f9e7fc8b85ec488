"""Whole live interviews through a real server, the real Deepgram/OpenAI/Groq SDKs and
wire-level fakes of those providers on 127.0.0.1: the happy path, barge-in, provider
faults and what each provider gets to see."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from pipeline.llm import sdk
from server.settings import Settings
from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram, silence, tone
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai
from tests.live_client import LiveClient, live
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.serving import RunningServer, run_server

pytest.importorskip("voices.deepgram_stt")

RATE = 16000
FRAME_S = 0.02
ANSWERS = [
    "In my last role I led a migration of the billing system and we cut failed payments "
    "by forty percent in two months, which saved the support team many hours.",
    "We disagreed about the rollout plan, so I set up a short trial with both approaches; "
    "the result was a thirty percent faster release, which settled it.",
    "I once shipped a bug that double charged ten customers; I fixed it within an hour, "
    "refunded everyone and added a check that reduced such incidents to zero.",
]
REPLIES = [
    "Hello and welcome. Let's begin with the first question: tell me about a deadline.",
    "Thank you. Next, describe a disagreement with a colleague and how it ended.",
    "Thanks. Tell me about a mistake you made and what you learned.",
    "Thank you for your time today. Your feedback will be ready shortly. Goodbye.",
]


@pytest.fixture
async def deepgram() -> AsyncIterator[FakeDeepgram]:
    fake = FakeDeepgram(speak_ms_per_char=8.0, ms_per_word=100)
    async with run_fake_deepgram(fake) as running:
        yield running


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as running:
        yield running


@pytest.fixture
def provider_settings(settings: Settings, deepgram: FakeDeepgram, llm: FakeOpenAI) -> Settings:
    return settings.model_copy(
        update={
            "deepgram_api_key": SecretStr(deepgram.api_key),
            "deepgram_base_url": deepgram.url,
            "openai_api_key": SecretStr(llm.api_key),
            "openai_base_url": llm.openai_base_url,
            "groq_api_key": SecretStr(llm.api_key),
            "groq_base_url": llm.url,
            "llm_providers": ["openai", "groq"],
            "llm_first_token_timeout_s": 1.0,
            "interview_patience_s": 0.1,
            "deepgram_endpointing_ms": 200,
        }
    )


@pytest.fixture
async def server(provider_settings: Settings) -> AsyncIterator[RunningServer]:
    async with run_server(provider_settings) as running:
        yield running


@pytest.fixture
async def http(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
        yield client


async def start_interview(
    http: httpx.AsyncClient, server: RunningServer, email: str, questions: int = 3
) -> tuple[str, str, str]:
    tokens = await register(http, email)
    token = tokens["access_token"]
    created = await http.post(
        "/v1/interviews",
        json={"type": "behavioral", "question_count": questions},
        headers=bearer(token),
    )
    iid = created.json()["id"]
    ticket = (await http.post(f"/v1/interviews/{iid}/ticket", headers=bearer(token))).json()
    return token, iid, f"{server.ws_url}/v1/interviews/{iid}/live?ticket={ticket['ticket']}"


async def speak(client: LiveClient, seconds: float, *, speed: float = 4.0) -> None:
    """Send ``seconds`` of speech-like audio then enough silence to end the utterance,
    ``speed`` times faster than real time (the fake times everything in audio time)."""
    audio = tone(seconds, RATE) + silence(0.6, RATE)
    step = int(RATE * FRAME_S) * 2
    for start in range(0, len(audio), step):
        await client.send(audio[start : start + step])
        await asyncio.sleep(FRAME_S / speed)


async def turns_of(http: httpx.AsyncClient, token: str, iid: str) -> dict[str, Any]:
    response = await http.get(f"/v1/interviews/{iid}", headers=bearer(token))
    return dict(response.json())


async def test_whole_interview_through_real_sdks(
    server: RunningServer, http: httpx.AsyncClient, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    deepgram.script(*ANSWERS)
    llm.script(*REPLIES)
    token, iid, url = await start_interview(http, server, "sdk@example.org")
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("ready")
        for number in range(1, 4):
            await client.wait_for("agent_turn_end", number)
            await speak(client, 3.0)
            ended = await client.wait_for("user_turn_end", number)
            assert ended["text"] == ANSWERS[number - 1]
        end = await client.wait_for("interview_end", within=20)
        assert end["reason"] == "completed"
    assert client.matching("transcript", final=True)
    assert [e["text"] for e in client.matching("agent_turn_end")] == REPLIES
    actions = [e["action"] for e in client.matching("agent_turn_start")]
    assert actions == ["greet", "next_question", "next_question", "close"]
    metrics = client.matching("metrics")
    assert len(metrics) == 4
    for event in metrics[1:]:
        values = event["metrics"]
        assert {"voice_to_voice_ms", "llm_first_token_ms", "tts_first_byte_ms"} <= set(values)
    assert client.audio_frames > 0

    detail = await eventually(
        lambda: turns_of(http, token, iid),
        lambda d: len(d["turns"]) == 3 and d["status"] == "completed",
    )
    assert [t["answer"] for t in detail["turns"]] == ANSWERS
    assert all(t["interviewer_source"] == "openai:gpt-4o-mini" for t in detail["turns"])
    assert all(t["words"] for t in detail["turns"])

    # What each provider saw: speech synthesis got only the interviewer's words, and the
    # listen socket asked for filler words so they stay countable.
    spoken = [text for log in deepgram.speak_connections for text in log.texts]
    assert spoken and all(any(text in reply for reply in REPLIES) for text in spoken)
    assert deepgram.listen_connections[0].query["filler_words"] == "true"
    assert deepgram.listen_connections[0].query["model"] == "nova-3"
    # The interviewer's four streamed replies (feedback scoring, after the end, is not streamed).
    assert len([request for request in llm.requests if request.stream]) == 4


async def test_every_connection_a_reply_needs_is_open_before_the_first_answer_ends(
    server: RunningServer,
    http: httpx.AsyncClient,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if the greeting's connection had long expired: the session warms one anyway.
    monkeypatch.setattr(sdk, "WARM_IDLE_S", 0.0)
    deepgram.script(ANSWERS[0])
    llm.script(*REPLIES)
    _, _, url = await start_interview(http, server, "warm@example.org")
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_turn_end", 1)
        # Before the candidate says a word: the listen socket, the speak socket and a
        # connection to the LLM (the greeting's, or the warming request's) are open.
        assert [log.ended for log in deepgram.listen_connections] == [None]
        assert [log.ended for log in deepgram.speak_connections] == [None]
        assert llm.model_lists, "the session warmed the LLM connection"
        opened = {request.peer for request in llm.requests} | set(llm.model_lists)
        await speak(client, 3.0)
        await client.wait_for("agent_turn_end", 2)
        await client.send({"type": "stop"})
    first_reply = llm.requests[1]
    assert first_reply.peer in opened, "the first reply opened no new connection"
    assert len(deepgram.listen_connections) == 1 and len(deepgram.speak_connections) == 1


async def test_barge_in_keeps_only_the_spoken_words_in_context(
    server: RunningServer, http: httpx.AsyncClient, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    deepgram.speak_ms_per_char = 60.0  # a long greeting, so the candidate can cut in
    long_greeting = (
        "Welcome to this practice interview, it is good to have you here today. "
        "Before we begin, let me explain how this will work, step by step, slowly. "
        "I will ask a few questions and you can take your time with each of them."
    )
    llm.script(long_greeting, "Of course. Tell me about a deadline you met.")
    deepgram.script("Sorry, could you repeat the question please")
    _, _, url = await start_interview(http, server, "barge@example.org")
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_text")
        await asyncio.sleep(1.0)
        frames_before = client.audio_frames
        await speak(client, 2.0, speed=1.0)
        end = await client.wait_for("agent_turn_end")
        assert end["interrupted"] is True
        assert 0 < len(end["text"]) < len(long_greeting)
        assert long_greeting.startswith(end["text"])
        await client.wait_for("user_turn_end")
        await client.wait_for("agent_turn_end", 2)
        # The interrupted turn's audio stopped: far less than the whole greeting was sent.
        greeting_audio_s = len(long_greeting) * 0.06
        assert (frames_before * 0.08) < greeting_audio_s
        await client.send({"type": "stop"})
    second = llm.requests[1].messages
    assistant = [m["content"] for m in second if m["role"] == "assistant"]
    assert assistant == [end["text"]]
    assert sum(log.clears for log in deepgram.speak_connections) >= 1


async def test_stt_socket_drop_loses_no_words(
    server: RunningServer, http: httpx.AsyncClient, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    deepgram.drop_after_audio_s = 1.5  # the first listen socket dies mid-answer
    deepgram.script(ANSWERS[0])
    llm.script(*REPLIES)
    _, _, url = await start_interview(http, server, "drop@example.org")
    async with live(url) as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_turn_end")
        await speak(client, 3.0)
        ended = await client.wait_for("user_turn_end", within=20)
        assert ended["text"] == ANSWERS[0]
        await client.wait_for("agent_turn_end", 2)
        await client.send({"type": "stop"})
    assert len(deepgram.listen_connections) >= 2
    assert not [e for e in client.matching("error") if e.get("fatal")]


async def test_llm_failure_and_silence_fall_back_to_the_next_provider(
    server: RunningServer, http: httpx.AsyncClient, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    llm.fail_next = 1  # OpenAI answers 500 to the greeting; Groq takes over
    llm.script("Hello from the fallback. Tell me about a deadline.", "Thanks. Next one?")
    token, iid, url = await start_interview(http, server, "fallback@example.org")
    async with live(url) as client:
        await client.send({"type": "start"})
        first = await client.wait_for("agent_turn_end")
        assert first["text"].startswith("Hello from the fallback")
        llm.hang_next = 1  # OpenAI sends no first token for the next reply
        await client.send({"type": "text", "text": ANSWERS[0]})
        second = await client.wait_for("agent_turn_end", 2, within=20)
        assert second["text"] == "Thanks. Next one?"
        await client.send({"type": "stop"})
    providers = [request.provider for request in llm.requests]
    assert providers == ["openai", "groq", "openai", "groq"]  # both replies came from Groq
    detail = await eventually(lambda: turns_of(http, token, iid), lambda d: len(d["turns"]) == 1)
    assert detail["turns"][0]["interviewer_source"].startswith("groq:")


async def test_tts_websocket_failure_falls_back_to_rest(
    server: RunningServer, http: httpx.AsyncClient, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    deepgram.speak_refuse_status = 503
    llm.script(REPLIES[0])
    _, _, url = await start_interview(http, server, "rest@example.org")
    async with live(url) as client:
        await client.send({"type": "start"})
        end = await client.wait_for("agent_turn_end")
        assert end["text"] == REPLIES[0]
        assert client.audio_frames > 0
        assert not client.matching("error")
        await client.send({"type": "stop"})
    texts = [request.text or "" for request in deepgram.rest_requests]
    assert texts and all(text in REPLIES[0] for text in texts)


async def test_providers_never_see_contact_details(
    provider_settings: Settings, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    # Documents parsed offline, so the resume's real content reaches the interviewer.
    offline_parsing = provider_settings.model_copy(update={"document_parser": "heuristic"})
    async with (
        run_server(offline_parsing) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        await _contact_details_stay_private(server, http, deepgram, llm)


async def _contact_details_stay_private(
    server: RunningServer, http: httpx.AsyncClient, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> None:
    from tests.documents import pdf

    tokens = await register(http, "private@example.org")
    auth = bearer(tokens["access_token"])
    uploaded = await http.post(
        "/v1/resumes", headers=auth, files={"file": ("ada.pdf", pdf(), "application/pdf")}
    )
    assert uploaded.status_code == 201, uploaded.text
    resume_id = uploaded.json()["id"]
    job = await http.post(
        "/v1/jobs",
        headers=auth,
        json={
            "text": "Senior Python Engineer at Acme\nRequirements:\n- Python and PostgreSQL\n"
            "- Kubernetes in production\nApply: jobs@acme.example or +1 415 555 0100, "
            "https://acme.example/careers"
        },
    )
    assert job.status_code == 201, job.text

    async def resume_state() -> str:
        response = await http.get(f"/v1/resumes/{resume_id}", headers=auth)
        return str(response.json()["status"])

    await eventually(resume_state, lambda status: status in ("ready", "failed"))
    created = await http.post(
        "/v1/interviews",
        headers=auth,
        json={
            "type": "mixed",
            "question_count": 2,
            "resume_id": resume_id,
            "job_id": job.json()["id"],
        },
    )
    assert created.status_code == 201, created.text
    iid = created.json()["id"]
    ticket = (await http.post(f"/v1/interviews/{iid}/ticket", headers=auth)).json()["ticket"]
    llm.requests.clear()
    async with live(f"{server.ws_url}/v1/interviews/{iid}/live?ticket={ticket}") as client:
        await client.send({"type": "start"})
        await client.wait_for("agent_turn_end")
        await client.send({"type": "text", "text": ANSWERS[0] + " Call me on 020 7946 0958."})
        await client.wait_for("agent_turn_end", 2)
        await client.send({"type": "stop"})

    sent = "\n".join(str(request.body) for request in llm.requests)
    assert "Analytical Engines" in sent  # the interviewer knows the background...
    for secret in (
        "ada.lovelace@example.org",
        "010-0199",
        "github.com/ada",
        "jobs@acme.example",
        "415 555 0100",
        "acme.example/careers",
        "7946 0958",
    ):
        assert secret not in sent  # ...but never a contact detail
    spoken = [text for log in deepgram.speak_connections for text in log.texts]
    said = " ".join(e["text"] for e in client.matching("agent_turn_end"))
    assert spoken and all(text in said for text in spoken)
