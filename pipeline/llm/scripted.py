"""The scripted chat model of tests: an in-memory ``JsonChat``."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from pipeline.llm.types import ChatMessage, LlmCallError


class ScriptedJsonChat:
    """A ``JsonChat`` fake: answers from a script (a string, or an exception to raise),
    and records what it was asked."""

    def __init__(self, answers: Iterable[str | Exception] = (), *, model: str = "scripted") -> None:
        self.name = f"scripted:{model}"
        self.model = model
        self.answers: deque[str | Exception] = deque(answers)
        self.requests: list[list[ChatMessage]] = []

    async def complete(
        self, messages: list[ChatMessage], *, schema_name: str, schema: dict[str, Any]
    ) -> str:
        self.requests.append([dict(message) for message in messages])
        answer = self.answers.popleft() if self.answers else LlmCallError("script ran out")
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def aclose(self) -> None:
        return None
