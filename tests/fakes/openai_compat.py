"""A fake OpenAI-compatible chat-completions server (OpenAI and Groq), over real HTTP.

One Starlette app under uvicorn on 127.0.0.1 and a free port answers where the real SDKs
post, so they work unchanged once their base URL points here:

- ``openai.AsyncOpenAI(base_url=fake.url + "/v1")`` posts to ``/v1/chat/completions``;
- ``groq.AsyncGroq(base_url=fake.url)`` posts to ``/openai/v1/chat/completions`` (the
  path is built into the groq SDK); both send ``Authorization: Bearer <key>``.

Wire format (as the SDKs parse it, openai ``_streaming.py`` and ``types/chat``):

- ``stream: false``: one JSON ``chat.completion``: ``{"id": "chatcmpl-...", "object":
  "chat.completion", "created", "model", "system_fingerprint", "choices": [{"index": 0,
  "message": {"role": "assistant", "content": ..., "refusal": null, "annotations": []},
  "logprobs": null, "finish_reason": "stop"}], "usage": {"prompt_tokens",
  "completion_tokens", "total_tokens"}}``;
- ``stream: true``: ``text/event-stream`` of ``data: <chat.completion.chunk JSON>\\n\\n``:
  first ``delta: {"role": "assistant", "content": ""}``, then one chunk per token with
  ``delta: {"content": "..."}``, then ``delta: {}`` with ``finish_reason: "stop"`` (or
  ``"length"`` when ``max_completion_tokens``/``max_tokens`` cut it), then, with
  ``stream_options: {"include_usage": true}``, a chunk with ``choices: []`` and ``usage``
  (every earlier chunk then carries ``usage: null``), and last ``data: [DONE]``. Groq adds
  ``x_groq: {"id"}`` to the first chunk and ``x_groq: {"id", "usage"}`` to the last;
- errors: ``{"error": {"message", "type", "param", "code"}}`` with the HTTP status (401
  ``invalid_api_key``; 400 ``invalid_request_error``; 500 ``server_error``).

Replies are scripted: ``replies`` (a queue, one per request), else ``responder(messages)``,
else a default: an echo of the last user message, or for ``response_format`` of type
``json_schema`` an example instance of the schema (``json_object``: ``{}``). Tokens are
runs of up to five characters with their leading space, as tokenizers split text.

Knobs (attributes, read live): ``first_token_ms``, ``inter_token_ms``; ``fail_next`` (the
next N requests fail with ``fail_status``, and ``retry-after-ms: retry_after_ms`` when
set, which the SDKs' retry loops honour instead of their 0.5-8 s backoff); ``hang_next``
(the next N requests send nothing, after the headers when streaming, until the client
gives up or the fake stops); ``drop_next`` (the next N streams drop the TCP connection
after ``drop_after_tokens`` content tokens; a non-streaming answer is cut in half).
Every request lands in ``requests`` (bounded), with what was sent back and whether the
client left early.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Send

from tests.fakes.serving import serve_app

LOG_LIMIT: Final = 1000  # requests kept in the log; the oldest fall off
_TOKEN = re.compile(r"\s*\S{1,5}|\s+")

Provider = Literal["openai", "groq"]
Responder = Callable[[list[dict[str, Any]]], str]


@dataclass
class ChatRequest:
    """One chat-completions request as the fake saw it and answered it."""

    provider: Provider
    body: dict[str, Any]
    peer: tuple[str, int] | None = None  # the client's address: one per TCP connection
    status: int = 200
    reply: str | None = None
    tokens_sent: int = 0  # content chunks streamed
    completed: bool = False  # the whole answer went out
    client_disconnected: bool = False  # the client left before the end of the stream

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages = self.body.get("messages")
        return messages if isinstance(messages, list) else []

    @property
    def model(self) -> str | None:
        model = self.body.get("model")
        return model if isinstance(model, str) else None

    @property
    def stream(self) -> bool:
        return self.body.get("stream") is True


def tokenize(text: str) -> list[str]:
    """Split text into the fake's tokens; they join back to exactly ``text``."""
    return _TOKEN.findall(text)


def example_for_schema(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> Any:
    """A small instance of a JSON schema (``$ref`` into ``$defs``, enums, anyOf, types)."""
    root = root if root is not None else schema
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        return example_for_schema(root.get("$defs", root.get("definitions", {}))[name], root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [option for option in schema.get(key, []) if option.get("type") != "null"]
        if options:
            return example_for_schema(options[0], root)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example_for_schema(sub, root) for name, sub in properties.items()}
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        return [example_for_schema(schema.get("items", {}), root) for _ in range(count)]
    return {"string": "example", "integer": 0, "number": 0, "boolean": False}.get(kind)


def _text_of(content: Any) -> str:
    """Message content as text: a string, or the text parts of a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        ).strip()
    return ""


def default_reply(body: Mapping[str, Any]) -> str:
    """What the fake says when nothing is scripted."""
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or {}
        return json.dumps(example_for_schema(schema))
    if response_format.get("type") == "json_object":
        return "{}"
    messages = body.get("messages") or []
    said = next(
        (_text_of(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    if not said:
        return "Hello! Let's begin. Could you introduce yourself?"
    snippet = said if len(said) <= 120 else said[:117] + "..."
    return f"Thanks. You said: {snippet} Could you tell me more?"


def _error(status: int, message: str, kind: str, code: str | None = None) -> JSONResponse:
    return JSONResponse(
        {"error": {"message": message, "type": kind, "param": None, "code": code}},
        status_code=status,
        headers={"x-request-id": f"req_{uuid.uuid4().hex}"},
    )


class _DropConnection(Exception):
    """Raised inside a response body: end it without completing it."""


class _DroppableStream(StreamingResponse):
    """A streaming response whose body may stop without its final empty chunk.

    uvicorn then closes the TCP connection, so the client sees a response cut short. A
    client that leaves makes Starlette cancel the body (ASGI spec 2.3).
    """

    async def stream_response(self, send: Send) -> None:
        with contextlib.suppress(_DropConnection):
            await super().stream_response(send)


@dataclass
class _Answer:
    """One reply on its way out, in either wire shape."""

    log: ChatRequest
    tokens: list[str]
    finish_reason: str
    hang: bool = False
    drop_after: int | None = None
    request_id: str = field(default_factory=lambda: f"req_{uuid.uuid4().hex}")
    completion_id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex[:24]}")
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def include_usage(self) -> bool:
        options = self.log.body.get("stream_options") or {}
        return options.get("include_usage") is True

    def usage(self) -> dict[str, int]:
        prompt = sum(len(tokenize(_text_of(m.get("content")))) + 4 for m in self.log.messages)
        completion = len(self.tokens)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {
            "id": self.completion_id,
            "object": kind,
            "created": self.created,
            "model": self.log.model,
            "system_fingerprint": "fp_fake",
        }

    def completion(self) -> dict[str, Any]:
        message: dict[str, Any] = {
            "role": "assistant",
            "content": "".join(self.tokens),
            "refusal": None,
            "annotations": [],
        }
        payload = self._envelope("chat.completion") | {
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
            "usage": self.usage(),
        }
        if self.log.provider == "groq":
            payload["x_groq"] = {"id": self.request_id}
        return payload

    def chunk(
        self, delta: dict[str, Any], *, first: bool = False, finish_reason: str | None = None
    ) -> bytes:
        payload = self._envelope("chat.completion.chunk") | {
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ]
        }
        if self.include_usage:
            payload["usage"] = None
        if self.log.provider == "groq" and first:
            payload["x_groq"] = {"id": self.request_id}
        if self.log.provider == "groq" and finish_reason is not None:
            payload["x_groq"] = {"id": self.request_id, "usage": self.usage()}
        return _event(payload)

    def usage_chunk(self) -> bytes:
        return _event(
            self._envelope("chat.completion.chunk") | {"choices": [], "usage": self.usage()}
        )


@dataclass
class FakeOpenAI:
    """OpenAI and Groq chat completions on one port. Attributes are knobs and logs."""

    api_key: str = "sk-test-key"
    replies: deque[str] = field(default_factory=deque)
    responder: Responder | None = None
    models: tuple[str, ...] = ("gpt-4o-mini", "llama-3.3-70b-versatile")
    first_token_ms: float = 0.0
    inter_token_ms: float = 0.0
    fail_next: int = 0
    fail_status: int = 500
    retry_after_ms: int | None = None  # sent with failures; the SDKs retry after it
    hang_next: int = 0
    drop_next: int = 0
    drop_after_tokens: int = 3
    requests: deque[ChatRequest] = field(default_factory=lambda: deque(maxlen=LOG_LIMIT))
    # the client address of each models list (a client warming its connection)
    model_lists: deque[tuple[str, int] | None] = field(
        default_factory=lambda: deque(maxlen=LOG_LIMIT)
    )
    url: str = ""  # http://127.0.0.1:<port>, set once serving
    _released: asyncio.Event = field(default_factory=asyncio.Event, init=False, repr=False)

    @property
    def openai_base_url(self) -> str:
        return self.url + "/v1"

    def script(self, *replies: str) -> None:
        """Queue the replies of the next requests."""
        self.replies.extend(replies)

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._openai, methods=["POST"]),
                Route("/openai/v1/chat/completions", self._groq, methods=["POST"]),
                Route("/v1/models", self._models),
                Route("/openai/v1/models", self._models),
            ]
        )

    def release(self) -> None:
        """End every hang; the fake does it when it stops."""
        self._released.set()

    def _authorized(self, request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(
            key.encode(), self.api_key.encode()
        )

    def _take(self, counter: Literal["fail_next", "hang_next", "drop_next"]) -> bool:
        left: int = getattr(self, counter)
        if left > 0:
            setattr(self, counter, left - 1)
        return left > 0

    def _reply(self, body: Mapping[str, Any]) -> str:
        if self.replies:
            return self.replies.popleft()
        if self.responder is not None:
            return self.responder(list(body.get("messages") or []))
        return default_reply(body)

    async def _models(self, request: Request) -> Response:
        self.model_lists.append(_peer(request))
        if not self._authorized(request):
            return _error(401, "Invalid API key.", "invalid_request_error", "invalid_api_key")
        data = [
            {"id": model, "object": "model", "created": 1_700_000_000, "owned_by": "fake"}
            for model in self.models
        ]
        return JSONResponse({"object": "list", "data": data})

    async def _openai(self, request: Request) -> Response:
        return await self._chat(request, "openai")

    async def _groq(self, request: Request) -> Response:
        return await self._chat(request, "groq")

    async def _chat(self, request: Request, provider: Provider) -> Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        log = ChatRequest(provider, body if isinstance(body, dict) else {}, _peer(request))
        self.requests.append(log)
        response = self._refusal(request, body)
        if response is None and self._take("fail_next"):
            response = _error(
                self.fail_status,
                "The server had an error while processing your request. Sorry about that!",
                "server_error",
            )
            if self.retry_after_ms is not None:
                response.headers["retry-after-ms"] = str(self.retry_after_ms)
        if response is not None:
            log.status = response.status_code
            return response
        hang = self._take("hang_next")
        # A request that hangs never answers, so it leaves the scripted replies alone.
        log.reply = "" if hang else self._reply(log.body)
        tokens = tokenize(log.reply)
        finish_reason = "stop"
        limit = log.body.get("max_completion_tokens") or log.body.get("max_tokens")
        if isinstance(limit, int) and len(tokens) > limit:
            tokens, finish_reason = tokens[:limit], "length"
        answer = _Answer(log, tokens, finish_reason, hang=hang)
        answer.drop_after = self.drop_after_tokens if self._take("drop_next") else None
        if log.stream:
            return _DroppableStream(
                self._stream(answer),
                media_type="text/event-stream",
                headers={"x-request-id": answer.request_id},
            )
        return await self._complete(request, answer)

    def _refusal(self, request: Request, body: Any) -> Response | None:
        if not self._authorized(request):
            key = request.headers.get("authorization", "").partition(" ")[2]
            return _error(
                401,
                f"Incorrect API key provided: {key[:3]}***. You can find your API key at "
                "https://platform.openai.com/account/api-keys.",
                "invalid_request_error",
                "invalid_api_key",
            )
        if not isinstance(body, dict):
            return _error(400, "We could not parse the JSON body.", "invalid_request_error")
        if not isinstance(body.get("model"), str):
            return _error(400, "you must provide a model parameter", "invalid_request_error")
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _error(400, "'messages' must be a non-empty array", "invalid_request_error")
        if not all(isinstance(message, dict) for message in messages):
            return _error(400, "each message must be an object", "invalid_request_error")
        return None

    async def _complete(self, request: Request, answer: _Answer) -> Response:
        """A non-streaming answer, after as long as streaming all of it would take."""
        if answer.hang:
            await self._hang(request, answer.log)
            return Response(status_code=204)
        await asyncio.sleep((self.first_token_ms + self.inter_token_ms * len(answer.tokens)) / 1000)
        payload = answer.completion()
        answer.log.tokens_sent = len(answer.tokens)
        headers = {"x-request-id": answer.request_id}
        if answer.drop_after is None:
            answer.log.completed = True
            return JSONResponse(payload, headers=headers)
        encoded = json.dumps(payload).encode()

        async def half() -> AsyncIterator[bytes]:
            yield encoded[: len(encoded) // 2]
            raise _DropConnection

        headers["content-length"] = str(len(encoded))
        return _DroppableStream(half(), media_type="application/json", headers=headers)

    async def _hang(self, request: Request, log: ChatRequest) -> None:
        """Wait until the client disconnects or the fake stops."""

        async def client_gone() -> None:
            while (await request.receive())["type"] != "http.disconnect":
                pass
            log.client_disconnected = True

        waiters = [
            asyncio.ensure_future(self._released.wait()),
            asyncio.ensure_future(client_gone()),
        ]
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _stream(self, answer: _Answer) -> AsyncIterator[bytes]:
        log = answer.log
        try:
            if answer.hang:
                await self._released.wait()
                return
            await asyncio.sleep(self.first_token_ms / 1000)
            yield answer.chunk({"role": "assistant", "content": "", "refusal": None}, first=True)
            for index, token in enumerate(answer.tokens):
                if index == answer.drop_after:
                    raise _DropConnection
                if index and self.inter_token_ms:
                    await asyncio.sleep(self.inter_token_ms / 1000)
                yield answer.chunk({"content": token})
                log.tokens_sent += 1
            yield answer.chunk({}, finish_reason=answer.finish_reason)
            if answer.include_usage:
                yield answer.usage_chunk()
            yield b"data: [DONE]\n\n"
            log.completed = True
        except asyncio.CancelledError:
            log.client_disconnected = True
            raise


def _event(payload: Mapping[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def _serve(app: Starlette) -> contextlib.AbstractAsyncContextManager[str]:
    return serve_app(app)


@contextlib.asynccontextmanager
async def run_fake_openai(
    fake: FakeOpenAI | None = None, *, replies: Iterable[str] = ()
) -> AsyncIterator[FakeOpenAI]:
    """Serve ``fake`` (a default one if None) for the block, with ``replies`` queued."""
    fake = fake if fake is not None else FakeOpenAI()
    fake.script(*replies)
    async with _serve(fake.app()) as url:
        fake.url = url
        try:
            yield fake
        finally:
            fake.release()


def _peer(request: Request) -> tuple[str, int] | None:
    return (request.client.host, request.client.port) if request.client is not None else None
