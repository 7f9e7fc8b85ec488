"""The LLM interviewer: each reply streamed from a chat model (``pipeline.llm``).

Nothing here retries or waits for a first token: ``FallbackInterviewer`` owns failover
and the first-token timeout, so a failure must surface at once as ``InterviewerError``.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Final

from pipeline.interviewer.prompt import build_messages
from pipeline.interviewer.types import InterviewContext, InterviewerError
from pipeline.llm.types import LlmCallError, TextChat

TEMPERATURE: Final = 0.6  # varied enough to sound natural, low enough to keep to the rules
MAX_TOKENS: Final = 180  # about three spoken sentences with room to spare; caps a runaway


class ChatInterviewer:
    """An ``Interviewer`` that phrases each reply with a chat model, streamed token by token.

    ``aclose()`` releases the chat's connection pool.
    """

    def __init__(self, chat: TextChat) -> None:
        self.chat = chat
        self.name = chat.name
        self.source = chat.name  # a chat model phrases its own replies

    async def respond(self, context: InterviewContext) -> AsyncGenerator[str, None]:
        """The reply's text deltas as they arrive; ``InterviewerError`` on any failure.

        Stopping early (``aclose()``, or cancelling the consuming task) closes the HTTP
        stream, so a reply interrupted by the candidate stops costing tokens at once.
        """
        messages = [
            {"role": message.role, "content": message.content}
            for message in build_messages(context)
        ]
        deltas = self.chat.stream(messages, temperature=TEMPERATURE, max_tokens=MAX_TOKENS)
        started = False
        try:
            async for text in deltas:
                if not started:
                    # Leading blank lines would count as a first token to the fallback
                    # chain and as speech to the chunker; a reply starts with words.
                    text = text.lstrip()
                    if not text:
                        continue
                    started = True
                yield text
        except LlmCallError as error:
            where = " mid-reply" if started else ""
            raise InterviewerError(self.name, f"{error}{where}") from None
        finally:
            await deltas.aclose()
        if not started:
            raise InterviewerError(self.name, "empty reply")

    async def warm(self) -> None:
        await self.chat.warm()

    async def aclose(self) -> None:
        """Release the chat model's connections."""
        await self.chat.aclose()
