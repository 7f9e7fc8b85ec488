"""What a chat model is to the rest of the engine: messages in, text or JSON out.

Two shapes of answer, one provider behind both: ``TextChat`` streams a reply as text
deltas (the interviewer speaks them as they come); ``JsonChat`` answers once, with JSON
constrained to a schema (document parsing, question plans, feedback, quizzes). A failure
of the provider is ``LlmCallError`` whose message names the error's class, HTTP status and
provider code, never the provider's text, which may echo what was sent.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from typing import Any, Protocol

# One chat-completions message in wire form: {"role": "system" | "user" | "assistant",
# "content": "..."}. A dict, because it is posted as it is.
ChatMessage = dict[str, str]


class LlmCallError(Exception):
    """The provider did not answer (network, HTTP status, timeout, refusal, an error
    reported inside the stream)."""


class LlmParseError(Exception):
    """No valid answer after every attempt; ``reason`` says why, without any content."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class JsonChat(Protocol):
    """One chat completion constrained to a JSON schema; the adapter of a provider."""

    name: str  # "openai:gpt-4o-mini"
    model: str

    async def complete(
        self, messages: list[ChatMessage], *, schema_name: str, schema: dict[str, Any]
    ) -> str:
        """The answer's text. Raises ``LlmCallError`` when the provider fails."""
        ...

    async def aclose(self) -> None: ...


class TextChat(Protocol):
    """One streamed chat completion at a time; the adapter of a provider."""

    name: str
    model: str

    def stream(
        self, messages: Sequence[ChatMessage], *, temperature: float, max_tokens: int
    ) -> AsyncGenerator[str, None]:
        """The reply's non-empty text deltas as they arrive; ``LlmCallError`` on any
        failure. Closing the iterator early closes the HTTP stream."""
        ...

    async def warm(self) -> None:
        """Be ready to answer without a connection handshake; never raises."""
        ...

    async def aclose(self) -> None: ...
