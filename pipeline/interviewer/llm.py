"""The LLM interviewer: each reply streamed from an OpenAI-compatible chat-completions API.

One class serves OpenAI (and whatever speaks its API at another base URL: Ollama, vLLM,
the llama.cpp server) and Groq. Both SDKs expose the same ``chat.completions.create``
and the same chunk shape; they differ in their client and error classes, so each has a
constructor here, and each SDK is imported only inside its constructor: an install with
only one of them works.

Nothing here retries or waits for a first token: ``FallbackInterviewer`` owns failover
and the first-token timeout, so a failure must surface at once as ``InterviewerError``.

The request goes through the SDK client's ``post`` (its auth, base URL, headers and error
classes) with the body already in wire form, and the stream comes back as the raw HTTP
response: the typed ``chat.completions.create`` first walks every message through the
union of the SDK's message types (about 1.2 ms of CPU for eight messages, growing with the
conversation), then builds a model of every chunk. On aiohttp, the HTTP library the SDKs
offer for concurrency, a streamed reply costs about 1 ms of CPU instead of 3.3 ms.
"""

from __future__ import annotations

import importlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from types import ModuleType
from typing import Any, Final, Protocol

from pipeline.interviewer.prompt import ChatMessage, build_messages
from pipeline.interviewer.types import InterviewContext, InterviewerError

log = logging.getLogger("intrvuer.interviewer")

TEMPERATURE: Final = 0.6  # varied enough to sound natural, low enough to keep to the rules
MAX_TOKENS: Final = 180  # about three spoken sentences with room to spare; caps a runaway
# Connections kept open to a provider between replies: a burst of replies (every session's
# answer ending within a second or two) reuses them instead of opening new TCP and TLS
# connections, which cost round trips on the turn path. The SDKs keep 20 or 100.
POOL_KEEPALIVE: Final = 256
POOL_KEEPALIVE_S: Final = 30.0


class RawResponse(Protocol):
    """The streamed HTTP response of the SDK's HTTP library (httpx or httpx2)."""

    def aiter_lines(self) -> AsyncIterator[str]: ...

    async def aclose(self) -> None: ...


class StreamBroken(ConnectionError):
    """The HTTP stream failed mid-reply (the SDKs use httpx or httpx2; either one's error)."""


class ChunkStream:
    """The ``chat.completion.chunk`` objects of one streamed reply, as plain JSON.

    The request goes through the SDK (auth, base URL, errors for a refused request), but
    the server-sent events are read here: the SDKs build a typed model of every chunk,
    which cost about 60 % of the CPU of a 70-chunk reply, and only ``content`` is needed.
    """

    def __init__(self, response: RawResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[dict[str, Any]]:
        data: list[str] = []
        lines = aiter(self._response.aiter_lines())
        while True:
            try:
                line = await anext(lines)
            except StopAsyncIteration:
                break
            except Exception as error:  # a transport failure of the SDK's HTTP library
                raise StreamBroken(type(error).__name__) from error
            if line.startswith("data:"):
                value = line[5:]
                data.append(value[1:] if value.startswith(" ") else value)
                continue
            if line or not data:
                continue  # comments, "event:"/"id:" fields, keep-alive blank lines
            payload = "\n".join(data)
            data.clear()
            if payload == "[DONE]":
                return
            chunk = json.loads(payload)
            if isinstance(chunk, dict):
                yield chunk
        if data and (payload := "\n".join(data)) != "[DONE]":
            chunk = json.loads(payload)
            if isinstance(chunk, dict):
                yield chunk

    async def close(self) -> None:
        await self._response.aclose()


OpenStream = Callable[[list[ChatMessage]], Awaitable[ChunkStream]]


class ChatInterviewer:
    """An ``Interviewer`` that phrases each reply with a chat model, streamed token by token.

    Build one with ``ChatInterviewer.openai(...)`` or ``ChatInterviewer.groq(...)``; call
    ``aclose()`` when done with it to release its connection pool.
    """

    def __init__(
        self,
        name: str,
        open_stream: OpenStream,
        *,
        errors: tuple[type[Exception], ...],
        close: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """``open_stream`` starts one streaming completion; ``errors`` are the exceptions
        that mean the provider failed (they become ``InterviewerError``)."""
        self.name = name
        self._open_stream = open_stream
        # A malformed event from a provider is its failure too, not a bug of ours.
        self._errors: tuple[type[Exception], ...] = (*errors, json.JSONDecodeError)
        self._close = close

    @classmethod
    def openai(
        cls, *, api_key: str, base_url: str, model: str, timeout_s: float
    ) -> ChatInterviewer:
        """OpenAI, or any OpenAI-compatible server at ``base_url`` (Ollama, vLLM, llama.cpp).

        ``timeout_s`` bounds connecting and each wait for data, not the whole reply.
        """
        try:
            import openai
        except ImportError as missing:
            raise ModuleNotFoundError(
                "the OpenAI interviewer needs the openai package: pip install openai"
            ) from missing
        client = openai.AsyncOpenAI(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=_http_client(openai),
        )
        # Not max_completion_tokens: Ollama and llama.cpp read only max_tokens.
        limit = {"max_tokens": MAX_TOKENS}
        open_stream = _streamer(client, openai, "/chat/completions", model, limit)
        errors = (openai.OpenAIError, StreamBroken)
        return cls(f"openai:{model}", open_stream, errors=errors, close=client.close)

    @classmethod
    def groq(cls, *, api_key: str, base_url: str, model: str, timeout_s: float) -> ChatInterviewer:
        """Groq; the SDK posts to ``{base_url}/openai/v1/chat/completions``."""
        try:
            import groq
            import httpx
        except ImportError as missing:
            raise ModuleNotFoundError(
                "the Groq interviewer needs the groq package: pip install groq"
            ) from missing
        client = groq.AsyncGroq(
            api_key=api_key,
            base_url=base_url,
            timeout=timeout_s,
            max_retries=0,
            http_client=_http_client(groq),
        )
        limit = {"max_completion_tokens": MAX_TOKENS}  # Groq's name; max_tokens is deprecated
        open_stream = _streamer(client, groq, "/openai/v1/chat/completions", model, limit)
        # The groq SDK wraps transport errors while sending the request but not while
        # reading the stream: a connection dropped mid-reply arrives as a bare httpx error.
        errors = (groq.GroqError, httpx.HTTPError, StreamBroken)
        return cls(f"groq:{model}", open_stream, errors=errors, close=client.close)

    async def respond(self, context: InterviewContext) -> AsyncGenerator[str, None]:
        """The reply's text deltas as they arrive; ``InterviewerError`` on any failure.

        Stopping early (``aclose()``, or cancelling the consuming task) closes the HTTP
        stream, so a reply interrupted by the candidate stops costing tokens at once.
        """
        messages = build_messages(context)
        try:
            stream = await self._open_stream(messages)
        except self._errors as error:
            # "from None": the SDK's error may quote the provider's answer, which can echo
            # what was sent; only the short description below is kept.
            raise InterviewerError(self.name, _describe(error)) from None
        started = False
        try:
            async for chunk in stream:
                if chunk.get("error") is not None:  # an error reported inside the stream
                    raise InterviewerError(self.name, _stream_error(chunk["error"]))
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    text = delta.get("content") if isinstance(delta, dict) else None
                    if not isinstance(text, str):
                        continue
                    if not started and text:
                        # Leading blank lines would count as a first token to the fallback
                        # chain and as speech to the chunker; a reply starts with words.
                        text = text.lstrip()
                    if not text:
                        continue  # the role-only first chunk, the finish and usage chunks
                    started = True
                    yield text
        except self._errors as error:
            where = " mid-reply" if started else ""
            raise InterviewerError(self.name, _describe(error) + where) from None
        finally:
            await _close_quietly(stream)
        if not started:
            raise InterviewerError(self.name, "empty reply")

    async def aclose(self) -> None:
        """Release the SDK client's connections."""
        if self._close is not None:
            await self._close()


def _streamer(
    client: Any, sdk: ModuleType, path: str, model: str, limit: dict[str, int]
) -> OpenStream:
    """``open_stream`` for an SDK ``client``: one streamed completion posted to ``path``."""
    response_class = _response_class(sdk)

    async def open_stream(messages: list[ChatMessage]) -> ChunkStream:
        body = {
            "model": model,
            "messages": _wire(messages),
            "stream": True,
            "temperature": TEMPERATURE,
            **limit,
        }
        response: RawResponse = await client.post(
            path, cast_to=response_class, body=body, stream=True
        )
        return ChunkStream(response)

    return open_stream


def _http_client(sdk: ModuleType) -> Any:
    """The SDK's async HTTP client with a larger pool: on aiohttp when the SDK's
    ``aiohttp`` extra is installed (it is a dependency), else on the SDK's httpx."""
    defaults = sdk.DEFAULT_CONNECTION_LIMITS
    limits = type(defaults)(
        max_connections=defaults.max_connections,
        max_keepalive_connections=POOL_KEEPALIVE,
        keepalive_expiry=POOL_KEEPALIVE_S,
    )
    aiohttp_client = getattr(sdk, "DefaultAioHttpClient", None)
    if aiohttp_client is not None:
        try:
            return aiohttp_client(limits=limits)
        except RuntimeError:  # the SDK says its aiohttp extra is missing
            pass
    return sdk.DefaultAsyncHttpxClient(limits=limits)


def _response_class(sdk: ModuleType) -> type:
    """The ``Response`` class of the HTTP library the SDK is built on (httpx, or httpx2 in
    newer openai releases): passed as ``cast_to``, it makes ``post`` return the response
    itself, unread, for a streamed body."""
    library = type(sdk.DEFAULT_CONNECTION_LIMITS).__module__.partition(".")[0]
    response: type = importlib.import_module(library).Response
    return response


def _wire(messages: list[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in messages]


def _stream_error(error: object) -> str:
    """An error event in the stream, by its type and code only (never its message)."""
    parts = ["stream error"]
    if isinstance(error, dict):
        for key in ("type", "code"):
            value = error.get(key)
            if isinstance(value, str) and value.isidentifier():
                parts.append(value)
    return " ".join(parts)


def _describe(error: Exception) -> str:
    """The error's class, status and provider code ("rate_limit_exceeded"): never its text."""
    parts = [type(error).__name__]
    status = getattr(error, "status_code", None)
    if isinstance(status, int):
        parts.append(f"HTTP {status}")
    code = getattr(error, "code", None)
    body = getattr(error, "body", None)
    if code is None and isinstance(body, dict):
        nested = body.get("error")
        code = (nested if isinstance(nested, dict) else body).get("code")
    if isinstance(code, str) and code.isidentifier():  # a code, not a sentence
        parts.append(code)
    return " ".join(parts)


async def _close_quietly(stream: ChunkStream) -> None:
    try:
        await stream.close()
    except Exception:  # closing must not hide the outcome of the reply; the stream is gone
        log.debug("closing an interviewer stream raised", exc_info=True)
