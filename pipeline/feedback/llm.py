"""Asking a chat model for JSON that must pass a schema and our own checks, twice at most.

The planner, the feedback scorer and the quiz generator all need the same thing as the
document parser: structured output, validated, one retry. Here the validation goes beyond
the schema: ``check`` may refuse an answer that is well formed but wrong (a quote that is
not in the transcript, a requirement that is not the job's); the retry tells the model
what was wrong, never what the candidate said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline.documents.llm import (
    ATTEMPTS,
    ChatMessage,
    JsonChat,
    LlmCallError,
    LlmParseError,
    strict_schema,
)

log = logging.getLogger("intrvuer.coaching")

M = TypeVar("M", bound=BaseModel)
MAX_PROBLEMS: Final = 5


async def ask_validated(
    chat: JsonChat,
    *,
    system: str,
    user: str,
    model: type[M],
    schema_name: str,
    check: Callable[[M], list[str]] | None = None,
) -> M:
    """``model`` from the chat's answer; ``LlmParseError`` after two failed attempts.

    ``user`` must already be redacted. ``check`` returns the problems of a valid answer
    (empty when it is acceptable); they are said back to the model for its retry.
    """
    messages: list[ChatMessage] = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]
    schema = strict_schema(model)
    reason = "no attempt"
    for attempt in range(1, ATTEMPTS + 1):
        problems: list[str] = []
        try:
            answer = await chat.complete(messages, schema_name=schema_name, schema=schema)
        except LlmCallError as error:
            reason = str(error)
        else:
            try:
                parsed = model.model_validate_json(answer)
            except ValidationError as error:
                where = sorted({".".join(map(str, e["loc"])) or "(root)" for e in error.errors()})
                problems = [f"the answer did not match the schema at {', '.join(where[:5])}"]
            else:
                problems = check(parsed) if check is not None else []
                if not problems:
                    return parsed
            reason = "; ".join(problems[:MAX_PROBLEMS])
            messages = [
                *messages[:2],
                {
                    "role": "user",
                    "content": f"Your previous answer was not acceptable: {reason}. "
                    "Answer again with JSON only, following every rule.",
                },
            ]
        log.warning(
            "LLM structured answer refused",
            # The reasons name fields and counts, never the text of an answer.
            extra={"llm": chat.name, "schema": schema_name, "attempt": attempt, "reason": reason},
        )
    raise LlmParseError(chat.name, reason)
