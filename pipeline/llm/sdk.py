"""Chat models through their vendors' SDKs: OpenAI (and whatever speaks its API at another
base URL: Ollama, vLLM, the llama.cpp server) and Groq.

Both SDKs expose the same chat-completions API and chunk shape; they differ in a client
class, a path, the name of the length limit and their error classes, which is one row of
``VENDORS`` each. Each SDK is imported only when a chat of its vendor is made: an install
with only one of them works. Nothing here retries: the callers own their retry
(``ask_validated``) or failover (``FallbackInterviewer``), so a failure surfaces at once as
``LlmCallError``.

A streamed reply goes through the SDK client's ``post`` (its auth, base URL, headers and
error classes) with the body already in wire form, and comes back as the raw HTTP
response: the typed ``chat.completions.create`` first walks every message through the
union of the SDK's message types (about 1.2 ms of CPU for eight messages, growing with the
conversation), then builds a model of every chunk. On aiohttp, the HTTP library the SDKs
offer for concurrency, a streamed reply costs about 1 ms of CPU instead of 3.3 ms.
"""

from __future__ import annotations

import importlib
import json
import logging
import math
import time
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Final, NotRequired, TypedDict, Unpack

from pipeline.llm.redact import redact
from pipeline.llm.sse import ChunkStream, RawResponse, StreamBroken
from pipeline.llm.types import ChatMessage, LlmCallError

log = logging.getLogger("intrvuer.llm")

MAX_OUTPUT_TOKENS: Final = 4_000  # of a JSON answer: a long resume's structure fits
# Connections kept open to a provider between streamed replies: a burst of replies (every
# session's answer ending within a second or two) reuses them instead of opening new TCP
# and TLS connections, which cost round trips on the turn path. The SDKs keep 20 or 100.
POOL_KEEPALIVE: Final = 256
POOL_KEEPALIVE_S: Final = 30.0
# ``warm`` opens a connection only when none was used this recently: one used since is
# still in the pool (POOL_KEEPALIVE_S), with time to spare for the reply it is kept for.
WARM_IDLE_S: Final = 20.0


@dataclass(frozen=True, slots=True)
class Vendor:
    """What differs between two SDKs of the same chat-completions API."""

    name: str  # the prefix of a chat's name: "openai:gpt-4o-mini"
    package: str  # the SDK's module, and the package to install
    client: str  # the SDK's async client class
    completions_path: str  # relative to the client's base URL
    length_limit: str  # the request field that caps the answer's tokens
    errors: tuple[str, ...]  # "module.Class" of the exceptions that mean the provider failed


VENDORS: Final = {
    "openai": Vendor(
        "openai",
        "openai",
        "AsyncOpenAI",
        "/chat/completions",
        # Not max_completion_tokens: Ollama and llama.cpp read only max_tokens.
        "max_tokens",
        ("openai.OpenAIError",),
    ),
    "groq": Vendor(
        "groq",
        "groq",
        "AsyncGroq",
        "/openai/v1/chat/completions",
        "max_completion_tokens",  # Groq's name; max_tokens is deprecated
        # The groq SDK wraps transport errors while sending the request but not while
        # reading the stream: a connection dropped mid-reply arrives as a bare httpx error.
        ("groq.GroqError", "httpx.HTTPError"),
    ),
}


class Account(TypedDict):
    """Where and how to reach a vendor's chat model."""

    api_key: str
    base_url: str
    model: str
    timeout_s: float  # bounds connecting and each wait for data, not a whole reply
    # On the SDK's aiohttp transport with POOL_KEEPALIVE connections kept alive: for the
    # replies on a live turn's path.
    pooled: NotRequired[bool]


class SdkChat:
    """A chat model of one vendor's SDK, both a ``TextChat`` and a ``JsonChat``.

    Build one with ``SdkChat.openai(...)``, ``SdkChat.groq(...)`` or ``SdkChat.connect``;
    call ``aclose()`` when done with it to release its connection pool.
    """

    def __init__(
        self,
        vendor: Vendor,
        client: Any,
        model: str,
        *,
        errors: tuple[type[Exception], ...],
        response_class: type = object,
    ) -> None:
        """``client`` is the SDK's client; ``errors`` the exceptions that mean the provider
        failed; ``response_class`` makes the client's ``post`` return a streamed response
        unread (see ``_response_class``)."""
        self.vendor = vendor
        self.name = f"{vendor.name}:{model}"
        self.model = model
        self._client = client
        self._errors = errors
        # A broken or malformed stream is the provider's failure too, not a bug of ours.
        self._stream_errors: tuple[type[Exception], ...] = (
            *errors,
            StreamBroken,
            json.JSONDecodeError,
        )
        self._response_class = response_class
        self._used_at = -math.inf  # time.monotonic() of the last request begun

    @classmethod
    def connect(cls, vendor: Vendor, **account: Unpack[Account]) -> SdkChat:
        """A chat of ``vendor`` on ``account`` (see ``Account``)."""
        try:
            sdk = importlib.import_module(vendor.package)
            errors = tuple(_resolve(name) for name in vendor.errors)
        except ImportError as missing:
            raise ModuleNotFoundError(
                f"{vendor.name} chat models need the {vendor.package} package:"
                f" pip install {vendor.package}"
            ) from missing
        transport = {"http_client": _http_client(sdk)} if account.get("pooled") else {}
        client = getattr(sdk, vendor.client)(
            api_key=account["api_key"],
            base_url=account["base_url"],
            timeout=account["timeout_s"],
            max_retries=0,
            **transport,
        )
        model = account["model"]
        return cls(vendor, client, model, errors=errors, response_class=_response_class(sdk))

    @classmethod
    def openai(cls, **account: Unpack[Account]) -> SdkChat:
        """OpenAI, or any OpenAI-compatible server at ``base_url`` (Ollama, vLLM, llama.cpp)."""
        return cls.connect(VENDORS["openai"], **account)

    @classmethod
    def groq(cls, **account: Unpack[Account]) -> SdkChat:
        """Groq; the SDK posts to ``{base_url}/openai/v1/chat/completions``."""
        return cls.connect(VENDORS["groq"], **account)

    async def stream(
        self, messages: Sequence[ChatMessage], *, temperature: float, max_tokens: int
    ) -> AsyncGenerator[str, None]:
        """The reply's non-empty text deltas as they arrive; ``LlmCallError`` on any
        failure. Closing the iterator early closes the HTTP stream."""
        self._used_at = time.monotonic()
        body = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "temperature": temperature,
            self.vendor.length_limit: max_tokens,
        }
        try:
            response: RawResponse = await self._client.post(
                self.vendor.completions_path,
                cast_to=self._response_class,
                body=body,
                stream=True,
            )
        except self._stream_errors as error:
            # "from None": the SDK's error may quote the provider's answer, which can echo
            # what was sent; only the short description is kept.
            raise LlmCallError(describe(error)) from None
        chunks = ChunkStream(response)
        try:
            async for chunk in chunks:
                if chunk.get("error") is not None:  # an error reported inside the stream
                    raise LlmCallError(_stream_error(chunk["error"]))
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta") if isinstance(choice, dict) else None
                    text = delta.get("content") if isinstance(delta, dict) else None
                    if isinstance(text, str) and text:
                        yield text  # not the role-only first chunk, finish or usage chunks
        except self._stream_errors as error:
            raise LlmCallError(describe(error)) from None
        finally:
            await _close_quietly(chunks)

    async def complete(
        self, messages: list[ChatMessage], *, schema_name: str, schema: dict[str, Any]
    ) -> str:
        """One answer constrained to ``schema`` (OpenAI's structured outputs; Groq and most
        OpenAI-compatible servers accept it too)."""
        # The one place every JSON completion leaves through (documents, question plans,
        # quizzes, feedback): whatever the caller did, no contact detail passes it.
        outgoing = [
            message
            if message["role"] == "system"
            else {**message, "content": redact(message["content"])}
            for message in messages
        ]
        try:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=outgoing,
                temperature=0,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "schema": schema, "strict": True},
                },
                **{self.vendor.length_limit: MAX_OUTPUT_TOKENS},
            )
        except self._errors as error:
            raise LlmCallError(describe(error)) from None
        choices = getattr(response, "choices", None) or []
        content = choices[0].message.content if choices else None
        if not content:
            raise LlmCallError("empty answer")
        return str(content)

    async def warm(self) -> None:
        """Open a connection to the provider ahead of a reply, so that the reply pays no
        TCP or TLS handshake: a list of the models (no tokens), kept in the pool. Nothing
        when a connection was used within ``WARM_IDLE_S``; a failure is only logged (the
        reply that follows reports its own)."""
        if time.monotonic() - self._used_at < WARM_IDLE_S:
            return
        self._used_at = time.monotonic()
        try:
            await self._client.models.list()
        except Exception as error:  # warming is a courtesy: any failure is the reply's to see
            log.info(
                "could not warm the chat connection",
                extra={"chat": self.name, "error": describe(error)},
            )

    async def aclose(self) -> None:
        """Release the SDK client's connections."""
        await self._client.close()


def describe(error: Exception) -> str:
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


def _stream_error(error: object) -> str:
    """An error event in the stream, by its type and code only (never its message)."""
    parts = ["stream error"]
    if isinstance(error, dict):
        for key in ("type", "code"):
            value = error.get(key)
            if isinstance(value, str) and value.isidentifier():
                parts.append(value)
    return " ".join(parts)


def _resolve(dotted: str) -> type[Exception]:
    module, _, name = dotted.rpartition(".")
    found: type[Exception] = getattr(importlib.import_module(module), name)
    return found


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


async def _close_quietly(stream: ChunkStream) -> None:
    try:
        await stream.close()
    except Exception:  # closing must not hide the outcome of the reply; the stream is gone
        log.debug("closing a chat stream raised", exc_info=True)
