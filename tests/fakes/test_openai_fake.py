"""The fake OpenAI-compatible server against the real openai and groq SDKs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import groq
import openai
import pytest
from pydantic import BaseModel

from tests.fakes.openai_compat import FakeOpenAI, example_for_schema, run_fake_openai, tokenize

MESSAGES: list[Any] = [
    {"role": "system", "content": "You are an interviewer."},
    {"role": "user", "content": "I rebuilt our billing system."},
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as running:
        yield running


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(
        base_url=fake.openai_base_url, api_key=fake.api_key, max_retries=0
    ) as sdk:
        yield sdk


async def test_streaming_sends_role_then_tokens_then_stop_usage_and_done(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    reply = "What was the hardest trade-off you made?"
    fake.script(reply)
    stream = await client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]

    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content or "" for c in chunks[1:-2]]
    assert "".join(contents) == reply and len(contents) == len(tokenize(reply)) > 1
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == len(contents)
    [log] = fake.requests
    assert log.messages == MESSAGES and log.stream and log.model == "gpt-4o-mini"
    assert (log.reply, log.tokens_sent, log.completed) == (reply, len(contents), True)


async def test_non_streaming_answers_with_a_chat_completion(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.responder = lambda messages: f"You sent {len(messages)} messages."
    completion = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    fake.responder = None
    echo = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    short = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, max_completion_tokens=2
    )

    assert completion.choices[0].message.content == "You sent 2 messages."
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.total_tokens > 0
    assert "I rebuilt our billing system." in (echo.choices[0].message.content or "")
    assert short.choices[0].finish_reason == "length"
    assert len(tokenize(short.choices[0].message.content or "")) == 2


class Question(BaseModel):
    text: str
    difficulty: int
    topics: list[str]


async def test_json_schema_replies_parse_into_the_model(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script('{"text": "Why Postgres?", "difficulty": 2, "topics": ["databases"]}')
    scripted = await client.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Question
    )
    default = await client.chat.completions.parse(
        model="gpt-4o-mini", messages=MESSAGES, response_format=Question
    )

    assert scripted.choices[0].message.parsed == Question(
        text="Why Postgres?", difficulty=2, topics=["databases"]
    )
    assert default.choices[0].message.parsed == Question(
        text="example", difficulty=0, topics=["example"]
    )
    assert fake.requests[0].body["response_format"]["type"] == "json_schema"


def test_schema_examples_follow_refs_enums_and_nullables() -> None:
    schema = {
        "type": "object",
        "properties": {
            "level": {"enum": ["junior", "senior"]},
            "note": {"anyOf": [{"type": "null"}, {"type": "string"}]},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "minItems": 2},
        },
        "$defs": {"Item": {"type": "object", "properties": {"ok": {"type": "boolean"}}}},
    }
    assert example_for_schema(schema) == {
        "level": "junior",
        "note": "example",
        "items": [{"ok": False}, {"ok": False}],
    }


async def test_server_error_raises_the_sdk_status_error(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.fail_next = 1
    with pytest.raises(openai.APIStatusError) as failed:
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    recovered = await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert isinstance(failed.value, openai.InternalServerError)
    assert failed.value.status_code == 500
    assert isinstance(failed.value.body, dict) and failed.value.body["type"] == "server_error"
    assert recovered.choices[0].message.content
    assert [log.status for log in fake.requests] == [500, 200]


async def test_the_sdk_retries_a_failure_after_retry_after_ms(fake: FakeOpenAI) -> None:
    fake.fail_next, fake.fail_status, fake.retry_after_ms = 2, 429, 10
    async with openai.AsyncOpenAI(
        base_url=fake.openai_base_url, api_key=fake.api_key, max_retries=2
    ) as retrying:
        completion = await retrying.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert completion.choices[0].message.content
    assert [log.status for log in fake.requests] == [429, 429, 200]


async def test_wrong_key_is_refused(fake: FakeOpenAI) -> None:
    async with openai.AsyncOpenAI(
        base_url=fake.openai_base_url, api_key="sk-wrong", max_retries=0
    ) as wrong:
        with pytest.raises(openai.AuthenticationError) as refused:
            await wrong.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["code"] == "invalid_api_key"


async def test_latency_knobs_delay_the_first_token(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    await client.models.list()  # the SDK's first request pays for its own set-up
    fake.first_token_ms, fake.inter_token_ms = 150, 10
    fake.script("one two three")
    started = time.perf_counter()
    stream = await client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    arrivals = [time.perf_counter() - started async for chunk in stream if chunk.choices]

    assert arrivals[0] >= 0.15
    # Three tokens, two gaps of 10 ms; the event loop may wake a timer up to its clock
    # resolution early, so a hair under 20 ms still means both gaps were kept.
    assert arrivals[-1] - arrivals[0] >= 0.018


async def test_a_dropped_stream_and_a_hang_surface_as_sdk_errors(
    fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    fake.script("one two three four five six")
    fake.drop_next, fake.drop_after_tokens = 1, 2
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        stream = await client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
        async for chunk in stream:
            received.append(chunk.choices[0].delta.content or "")

    fake.hang_next = 1
    with pytest.raises(openai.APITimeoutError):
        await client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, timeout=0.2)

    assert "".join(received) == "one two"
    dropped, hung = fake.requests
    assert (dropped.tokens_sent, dropped.completed) == (2, False)
    assert hung.tokens_sent == 0 and not hung.completed


async def test_groq_sdk_streams_from_the_openai_path(fake: FakeOpenAI) -> None:
    fake.script("Walk me through your design.")
    async with groq.AsyncGroq(base_url=fake.url, api_key=fake.api_key, max_retries=0) as sdk:
        stream = await sdk.chat.completions.create(
            model="llama-3.3-70b-versatile", messages=MESSAGES, stream=True
        )
        chunks = [chunk async for chunk in stream]
        models = await sdk.models.list()

    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
    assert text == "Walk me through your design."
    assert chunks[0].x_groq is not None and chunks[-1].x_groq is not None
    assert chunks[-1].x_groq.usage is not None
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert [model.id for model in models.data] == list(fake.models)
    [log] = fake.requests
    assert log.provider == "groq" and log.completed
