"""Asking a chat model for JSON that must pass a schema and our own checks, twice at most.

Documents, question plans, feedback scores and quizzes all need the same thing: a
structured answer, validated with the pydantic model it fills, one retry. The validation
may go beyond the schema: ``check`` refuses an answer that is well formed but wrong (a
quote that is not in the transcript, a requirement that is not the job's). The retry tells
the model what was wrong, never what the candidate said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final, TypeVar

from pydantic import BaseModel, ValidationError

from pipeline.llm.schema import strict_schema
from pipeline.llm.types import ChatMessage, JsonChat, LlmCallError, LlmParseError

log = logging.getLogger("intrvuer.llm")

ATTEMPTS: Final = 2  # the first try and one retry
MAX_PROBLEMS: Final = 5

M = TypeVar("M", bound=BaseModel)


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
    (empty when it is acceptable); they are said back to the model for its retry. A
    provider error is retried with the same messages.
    """
    messages: list[ChatMessage] = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]
    schema = strict_schema(model)
    reason = "no attempt"
    for attempt in range(1, ATTEMPTS + 1):
        try:
            answer = await chat.complete(messages, schema_name=schema_name, schema=schema)
        except LlmCallError as error:
            reason = str(error)
        else:
            problems = _problems(answer, model, check)
            if isinstance(problems, BaseModel):
                return problems
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


def _problems(answer: str, model: type[M], check: Callable[[M], list[str]] | None) -> M | list[str]:
    """The parsed answer when it is acceptable, else what is wrong with it."""
    try:
        parsed = model.model_validate_json(answer)
    except ValidationError as error:
        # Where the answer went wrong, never what it said: it quotes the text.
        where = sorted({".".join(map(str, e["loc"])) or "(root)" for e in error.errors()})
        return [f"the answer did not match the schema at {', '.join(where[:5])}"]
    problems = check(parsed) if check is not None else []
    return problems or parsed
