"""The LLM interviewer through the real openai and groq SDKs (``pipeline.llm.sdk``), against
the wire-level fake."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable

import pytest

from pipeline.interviewer.fallback import FallbackInterviewer
from pipeline.interviewer.llm import MAX_TOKENS, ChatInterviewer
from pipeline.interviewer.offline import OfflineInterviewer
from pipeline.interviewer.types import (
    Action,
    Instruction,
    InterviewContext,
    Interviewer,
    InterviewerError,
    Message,
)
from pipeline.llm.sdk import VENDORS, SdkChat
from storage.types import PlannedQuestion
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai, tokenize

OPENAI_MODEL = "gpt-4o-mini"
GROQ_MODEL = "llama-3.3-70b-versatile"
PLAN = (
    PlannedQuestion("Tell me about a time you led a team through a hard deadline.", "leadership"),
    PlannedQuestion("Describe a disagreement with a colleague and how it ended.", "collaboration"),
)
REPLY = "Thanks for that. Describe a disagreement with a colleague and how it ended."


def context(
    action: Action = "next_question",
    *,
    background: str = "Backend engineer applying for a platform role.",
    history: tuple[Message, ...] = (),
) -> InterviewContext:
    question = PLAN[1] if action == "next_question" else PLAN[0]
    number = 2 if action == "next_question" else 1
    return InterviewContext(
        kind="behavioral",
        candidate_first_name="Ada",
        background=background,
        plan=PLAN,
        history=history,
        instruction=Instruction(action, question=question, question_number=number),
    )


def make(
    provider: str, fake: FakeOpenAI, *, timeout_s: float = 5.0, api_key: str | None = None
) -> ChatInterviewer:
    api_key = api_key or fake.api_key
    if provider == "openai":
        chat = SdkChat.openai(
            api_key=api_key,
            base_url=fake.openai_base_url,
            model=OPENAI_MODEL,
            timeout_s=timeout_s,
            pooled=True,
        )
    else:
        chat = SdkChat.groq(
            api_key=api_key, base_url=fake.url, model=GROQ_MODEL, timeout_s=timeout_s, pooled=True
        )
    return ChatInterviewer(chat)


async def reply_of(interviewer: Interviewer, ctx: InterviewContext) -> list[str]:
    return [delta async for delta in interviewer.respond(ctx)]


async def until(condition: Callable[[], bool], timeout_s: float = 2.0) -> None:
    """Wait for the fake to record something that happens on its side of the socket.

    The fake logs a disconnect as a flag on its request record and offers no event to
    wait on, so this polls the flag, bounded by a timeout.
    """
    async with asyncio.timeout(timeout_s):
        while not condition():  # noqa: ASYNC110  (a flag of the fake, no event exists)
            await asyncio.sleep(0.005)


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as running:
        yield running


@pytest.fixture(params=["openai", "groq"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def interviewer(provider: str, fake: FakeOpenAI) -> AsyncIterator[ChatInterviewer]:
    chat = make(provider, fake)
    yield chat
    await chat.aclose()


async def test_reply_streams_as_deltas_and_names_its_provider(
    interviewer: ChatInterviewer, provider: str, fake: FakeOpenAI
) -> None:
    fake.script(REPLY)

    deltas = await reply_of(interviewer, context())

    assert "".join(deltas) == REPLY and len(deltas) > 5
    assert all(deltas), "empty and role-only chunks are skipped"
    assert interviewer.name == f"{provider}:{OPENAI_MODEL if provider == 'openai' else GROQ_MODEL}"
    [request] = fake.requests
    # The groq SDK posts to {base_url}/openai/v1/chat/completions, the openai one to /v1/...
    assert request.provider == provider and request.completed


async def test_warming_opens_the_connection_the_reply_then_uses(
    interviewer: ChatInterviewer, fake: FakeOpenAI
) -> None:
    await interviewer.warm()
    await interviewer.warm()  # just warmed: nothing more
    fake.script(REPLY)

    await reply_of(interviewer, context())

    [warmed_on] = fake.model_lists
    [request] = fake.requests
    assert warmed_on is not None and request.peer == warmed_on, "no new connection for the reply"


async def test_warming_after_a_reply_asks_nothing_and_a_failed_warm_is_quiet(
    interviewer: ChatInterviewer, fake: FakeOpenAI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "intrvuer.llm")
    fake.script(REPLY)
    await reply_of(interviewer, context())
    await interviewer.warm()
    assert not fake.model_lists, "the reply's connection is still in the pool"

    broken = make("openai", fake, api_key="sk-wrong-key")
    try:
        await broken.warm()  # a 401: logged, not raised
    finally:
        await broken.aclose()
    assert "could not warm" in caplog.text and "sk-wrong-key" not in caplog.text


async def test_request_carries_model_stream_prompt_and_history_in_order(
    interviewer: ChatInterviewer, provider: str, fake: FakeOpenAI
) -> None:
    history = (
        Message("interviewer", "Hi Ada. " + PLAN[0].text),
        Message("candidate", "I led the billing migration in three phases."),
        Message("interviewer", "What was the result in the end?"),
        Message("candidate", "We cut failed payments by forty percent."),
    )

    await reply_of(interviewer, context(history=history))

    [request] = fake.requests
    body = request.body
    assert body["model"] == (OPENAI_MODEL if provider == "openai" else GROQ_MODEL)
    assert body["stream"] is True and body["temperature"] == pytest.approx(0.6)
    assert MAX_TOKENS in (body.get("max_tokens"), body.get("max_completion_tokens"))
    roles = [message["role"] for message in request.messages]
    assert roles == ["system", "assistant", "user", "assistant", "user", "system"]
    rules = request.messages[0]["content"]
    assert "interviewer" in rules and "Never give feedback" in rules
    assert all(question.text in rules for question in PLAN)
    assert [message["content"] for message in request.messages[1:-1]] == [
        message.text for message in history
    ]
    assert PLAN[1].text in request.messages[-1]["content"]


async def test_leading_blank_text_is_dropped_and_an_empty_reply_fails(
    interviewer: ChatInterviewer, fake: FakeOpenAI
) -> None:
    fake.script("\n\n  Tell me more.", "", "  \n ")

    assert "".join(await reply_of(interviewer, context())) == "Tell me more."
    for _ in range(2):
        with pytest.raises(InterviewerError, match="empty reply"):
            await reply_of(interviewer, context())


async def test_server_error_raises_interviewer_error_without_the_request(
    interviewer: ChatInterviewer, fake: FakeOpenAI
) -> None:
    fake.fail_next = 1
    secret_background = "Led the Zanzibar payments rewrite."

    with pytest.raises(InterviewerError) as failure:
        await reply_of(interviewer, context(background=secret_background))

    assert failure.value.source == interviewer.name
    assert "HTTP 500" in str(failure.value)
    assert "Zanzibar" not in str(failure.value)
    assert failure.value.__cause__ is None and failure.value.__suppress_context__


async def test_wrong_key_names_the_code_but_not_the_key(provider: str, fake: FakeOpenAI) -> None:
    chat = make(provider, fake, api_key="sk-wrong-key")
    try:
        with pytest.raises(InterviewerError) as failure:
            await reply_of(chat, context())
    finally:
        await chat.aclose()

    assert "HTTP 401" in str(failure.value) and "invalid_api_key" in str(failure.value)
    assert "sk-" not in str(failure.value)


async def test_stream_dropped_mid_reply_raises_interviewer_error(
    interviewer: ChatInterviewer, fake: FakeOpenAI
) -> None:
    fake.script(REPLY)
    fake.drop_next, fake.drop_after_tokens = 1, 3
    received: list[str] = []

    with pytest.raises(InterviewerError, match="mid-reply"):
        async for delta in interviewer.respond(context()):
            received.append(delta)

    assert received == tokenize(REPLY)[:3]


async def test_silent_provider_times_out_after_timeout_s(provider: str, fake: FakeOpenAI) -> None:
    fake.hang_next = 1
    chat = make(provider, fake, timeout_s=0.2)
    started = time.monotonic()
    try:
        with pytest.raises(InterviewerError):
            await reply_of(chat, context())
    finally:
        await chat.aclose()

    assert time.monotonic() - started < 2


async def test_cancelling_the_consumer_closes_the_http_stream(
    interviewer: ChatInterviewer, fake: FakeOpenAI
) -> None:
    fake.script("One two three four five six seven eight nine ten eleven twelve.")
    fake.inter_token_ms = 50
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in interviewer.respond(context()):
            first.set()

    task = asyncio.create_task(consume())
    async with asyncio.timeout(2):
        await first.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    [request] = fake.requests
    await until(lambda: request.client_disconnected)
    assert not request.completed


async def test_closing_the_reply_early_closes_the_http_stream(
    interviewer: ChatInterviewer, fake: FakeOpenAI
) -> None:
    fake.script("One two three four five six seven eight nine ten eleven twelve.")
    fake.inter_token_ms = 50
    reply = interviewer.respond(context())

    first = await anext(reply)
    await reply.aclose()

    [request] = fake.requests
    await until(lambda: request.client_disconnected)
    assert first == "One" and request.tokens_sent < 12


async def test_fallback_answers_from_groq_when_openai_fails(fake: FakeOpenAI) -> None:
    fake.fail_next = 1
    fake.script(REPLY)
    openai_chat, groq_chat = make("openai", fake), make("groq", fake)
    chain = FallbackInterviewer(
        [openai_chat, groq_chat, OfflineInterviewer()], first_token_timeout_s=2
    )
    try:
        reply = "".join(await reply_of(chain, context()))
    finally:
        await openai_chat.aclose()
        await groq_chat.aclose()

    assert reply == REPLY
    assert chain.source == f"groq:{GROQ_MODEL}"
    assert [(r.provider, r.status) for r in fake.requests] == [("openai", 500), ("groq", 200)]


async def test_fallback_skips_a_provider_silent_past_the_first_token_timeout(
    fake: FakeOpenAI,
) -> None:
    fake.hang_next = 1
    openai_chat = make("openai", fake)
    offline = OfflineInterviewer()
    chain = FallbackInterviewer([openai_chat, offline], first_token_timeout_s=0.3)
    ctx = context()
    started = time.monotonic()
    try:
        reply = "".join(await reply_of(chain, ctx))
    finally:
        await openai_chat.aclose()

    assert time.monotonic() - started < 2
    assert reply.strip() == offline.reply_text(ctx)
    assert chain.source == "offline"
    [hung] = fake.requests
    await until(lambda: hung.client_disconnected)


async def test_contact_details_never_reach_the_provider(
    interviewer: ChatInterviewer, fake: FakeOpenAI
) -> None:
    background = (
        "Ada Lovelace, ada.lovelace@example.com, +44 20 7946 0958, "
        "https://github.com/ada-lovelace and linkedin.com/in/ada-l-1815. Led a team of 12 "
        "through a 2019-2021 migration that cut costs by 40 percent."
    )
    history = (
        Message("interviewer", PLAN[0].text),
        Message(
            "candidate", "Sure. Also you can call me on (555) 123-4567 or mail ada@lovelace.dev."
        ),
    )

    await reply_of(interviewer, context(background=background, history=history))

    [request] = fake.requests
    sent = json.dumps(request.body)
    for detail in (
        "ada.lovelace@example.com",
        "7946",
        "github.com",
        "ada-lovelace",
        "linkedin.com",
        "1815",
        "123-4567",
        "ada@lovelace.dev",
    ):
        assert detail not in sent, detail
    for kept in ("team of 12", "2019-2021", "40 percent", "[email]", "[phone]", "[link]"):
        assert kept in sent, kept


async def test_a_missing_sdk_names_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "openai", None)
    monkeypatch.setitem(sys.modules, "groq", None)

    with pytest.raises(ModuleNotFoundError, match="pip install openai"):
        SdkChat.openai(api_key="k", base_url="http://x", model="m", timeout_s=1, pooled=True)
    with pytest.raises(ModuleNotFoundError, match="pip install groq"):
        SdkChat.groq(api_key="k", base_url="http://x", model="m", timeout_s=1)


class _Lines:
    """The streamed HTTP response as the SDKs hand it over: lines of text, then close."""

    def __init__(self, lines: list[str], fail_after: int | None = None) -> None:
        self.lines = lines
        self.fail_after = fail_after
        self.closed = False

    async def aiter_lines(self) -> AsyncIterator[str]:
        for index, line in enumerate(self.lines):
            if index == self.fail_after:
                raise OSError("connection reset")
            yield line

    async def aclose(self) -> None:
        self.closed = True


def _sse(*payloads: object) -> list[str]:
    lines: list[str] = []
    for payload in payloads:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        lines += [f"data: {text}", ""]
    return lines


def _delta(text: str) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": text}}]}


class _Client:
    """The SDK client as ``SdkChat`` uses it for a streamed reply: ``post`` and ``close``."""

    def __init__(self, response: _Lines) -> None:
        self.response = response

    async def post(self, path: str, **options: object) -> _Lines:
        return self.response

    async def close(self) -> None:
        return None


async def _reply_of(response: _Lines) -> list[str]:
    chat = SdkChat(VENDORS["openai"], _Client(response), "raw", errors=())
    interviewer = ChatInterviewer(chat)
    return [text async for text in interviewer.respond(context())]


async def test_server_sent_events_are_read_per_the_format() -> None:
    lines = [
        ": keep-alive comment",
        *_sse({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}),
        "event: message",
        'data: {"choices": [{"index": 0,',
        'data:"delta": {"content": "Hello"}}]}',  # one event split over two data lines
        "",
        "",
        *_sse(_delta(" there."), {"choices": [], "usage": {"total_tokens": 3}}, "[DONE]"),
        *_sse(_delta(" never read")),
    ]
    response = _Lines(lines)
    assert await _reply_of(response) == ["Hello", " there."]
    assert response.closed


async def test_an_error_inside_the_stream_fails_the_reply_without_its_message() -> None:
    secret = "echo of the prompt: jane@example.com"
    lines = _sse(_delta("Hi"), {"error": {"message": secret, "type": "server_error"}})
    with pytest.raises(InterviewerError) as raised:
        await _reply_of(_Lines(lines))
    assert "server_error" in str(raised.value)
    assert secret not in str(raised.value)


async def test_a_transport_failure_mid_stream_is_an_interviewer_error() -> None:
    response = _Lines(_sse(_delta("Hi"), _delta(" there")), fail_after=2)
    with pytest.raises(InterviewerError, match="StreamBroken.*mid-reply"):
        await _reply_of(response)
    assert response.closed
