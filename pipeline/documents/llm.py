"""Parsing with an LLM: one chat completion whose answer must match a JSON schema.

The model is asked for ``response_format={"type": "json_schema", ...}`` (OpenAI's
structured outputs; Groq and most OpenAI-compatible servers accept it too), and the answer
is validated with the same pydantic models the heuristic parser fills. A provider error or
an answer that does not validate is tried once more; a second failure raises
``LlmParseError`` and the caller falls back to the heuristic parser.

The text sent has gone through ``redact``: e-mail addresses, phone numbers and links are
placeholders by then, so contact details always come from the heuristic parser.
"""

from __future__ import annotations

import copy
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Final, Protocol, TypeVar, cast

from pydantic import BaseModel, ValidationError

from pipeline.documents.types import JobData, ResumeData
from pipeline.interviewer.redact import redact

log = logging.getLogger("intrvuer.documents")

MAX_INPUT_CHARS: Final = 30_000  # a long resume is ~10k; the rest costs tokens for nothing
MAX_OUTPUT_TOKENS: Final = 4_000
ATTEMPTS: Final = 2  # the first try and one retry

M = TypeVar("M", bound=BaseModel)
ChatMessage = dict[str, str]

RESUME_PROMPT: Final = """You extract structured data from a resume.
Copy text as written; do not invent anything that is not in the resume. Contact details \
have been replaced by placeholders such as [email], [phone] and [link]: leave those fields \
null or empty. Dates of positions: "YYYY-MM" when a month is given, "YYYY" when only a \
year is, "present" for a current position. One entry per position (several roles at one \
company are several entries) and per degree. Highlights are the bullet points or \
sentences under a position. Skills: the items of the skills section, one skill each. \
Achievements: awards, honours, certifications and notable achievements listed as such."""

JOB_PROMPT: Final = """You extract structured data from a job description.
Copy text as written; do not invent anything. Requirements: what a candidate must or \
should have (required and preferred qualifications). Responsibilities: what the person \
will do. Skills: the skills, tools and technologies named anywhere in the text, one each, \
in their usual spelling."""


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


class LlmCallError(Exception):
    """The provider did not answer (network, HTTP status, timeout, refusal)."""


class LlmParseError(Exception):
    """No valid answer after every attempt; ``reason`` says why, without any content."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


def strict_schema(model: type[BaseModel]) -> dict[str, Any]:
    """``model``'s JSON schema in the form strict structured outputs require: references
    inlined, every property required (optional ones nullable), no extra properties."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def visit(node: Any) -> Any:
        if isinstance(node, list):
            return [visit(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            return visit(copy.deepcopy(definitions[node["$ref"].rsplit("/", 1)[-1]]))
        result = {
            key: visit(value)
            for key, value in node.items()
            if key not in ("default", "title", "description")
        }
        if result.get("type") == "object" and "properties" in result:
            result["required"] = list(result["properties"])
            result["additionalProperties"] = False
        return result

    return cast(dict[str, Any], visit(schema))


class LlmDocumentParser:
    """Resumes and job descriptions parsed by a chat model, validated, tried twice."""

    def __init__(self, chat: JsonChat) -> None:
        self.chat = chat

    @property
    def name(self) -> str:
        return self.chat.name

    @property
    def model(self) -> str:
        return self.chat.model

    async def parse_resume(self, text: str) -> ResumeData:
        """The resume's structure; ``LlmParseError`` when no valid answer came."""
        return await self._parse(ResumeData, "resume", RESUME_PROMPT, text)

    async def parse_job(self, text: str) -> JobData:
        """The job description's structure; ``LlmParseError`` when no valid answer came."""
        return await self._parse(JobData, "job_description", JOB_PROMPT, text)

    async def aclose(self) -> None:
        await self.chat.aclose()

    async def _parse(self, model: type[M], schema_name: str, prompt: str, text: str) -> M:
        messages: list[ChatMessage] = [
            {"role": "system", "content": prompt},
            {"role": "user", "content": redact(text[:MAX_INPUT_CHARS])},
        ]
        schema = strict_schema(model)
        reason = "no attempt"
        for attempt in range(1, ATTEMPTS + 1):
            try:
                answer = await self.chat.complete(messages, schema_name=schema_name, schema=schema)
            except LlmCallError as error:
                reason = str(error)
            else:
                try:
                    return model.model_validate_json(answer)
                except ValidationError as error:
                    # Where the answer went wrong, never what it said: it quotes the text.
                    where = sorted(
                        {".".join(map(str, e["loc"])) or "(root)" for e in error.errors()}
                    )
                    reason = f"answer did not match the schema at {', '.join(where[:5])}"
                    messages = [
                        *messages[:2],
                        {
                            "role": "user",
                            "content": "Your previous answer was not valid JSON for the "
                            f"schema ({reason}). Answer again with JSON only.",
                        },
                    ]
            log.warning(
                "LLM document parsing attempt failed",
                extra={"llm": self.chat.name, "attempt": attempt, "reason": reason},
            )
        raise LlmParseError(self.chat.name, reason)


# Adapters ---------------------------------------------------------------------------------


class SdkJsonChat:
    """``JsonChat`` over the OpenAI or the Groq SDK (they share the completions API)."""

    def __init__(
        self,
        name: str,
        model: str,
        create: Callable[..., Awaitable[Any]],
        *,
        errors: tuple[type[Exception], ...],
        close: Callable[[], Awaitable[None]],
        length_limit_field: str,
    ) -> None:
        self.name = name
        self.model = model
        self._create = create
        self._errors = errors
        self._close = close
        self._length_limit_field = length_limit_field

    @classmethod
    def openai(cls, *, api_key: str, base_url: str, model: str, timeout_s: float) -> SdkJsonChat:
        """OpenAI, or an OpenAI-compatible server at ``base_url``."""
        try:
            import openai
        except ImportError as missing:
            raise ModuleNotFoundError(
                "LLM parsing with OpenAI needs the openai package: pip install openai"
            ) from missing
        client = openai.AsyncOpenAI(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )
        return cls(
            f"openai:{model}",
            model,
            client.chat.completions.create,
            errors=(openai.OpenAIError,),
            close=client.close,
            # Not max_completion_tokens: Ollama and llama.cpp read only max_tokens.
            length_limit_field="max_tokens",
        )

    @classmethod
    def groq(cls, *, api_key: str, base_url: str, model: str, timeout_s: float) -> SdkJsonChat:
        """Groq; the SDK posts to ``{base_url}/openai/v1/chat/completions``."""
        try:
            import groq
            import httpx
        except ImportError as missing:
            raise ModuleNotFoundError(
                "LLM parsing with Groq needs the groq package: pip install groq"
            ) from missing
        client = groq.AsyncGroq(
            api_key=api_key, base_url=base_url, timeout=timeout_s, max_retries=0
        )
        return cls(
            f"groq:{model}",
            model,
            client.chat.completions.create,
            errors=(groq.GroqError, httpx.HTTPError),
            close=client.close,
            length_limit_field="max_completion_tokens",
        )

    async def complete(
        self, messages: list[ChatMessage], *, schema_name: str, schema: dict[str, Any]
    ) -> str:
        # The one place every JSON completion leaves through (documents, question plans,
        # quizzes, feedback): whatever the caller did, no contact detail passes it.
        outgoing = [
            message
            if message["role"] == "system"
            else {**message, "content": redact(message["content"])}
            for message in messages
        ]
        try:
            response = await self._create(
                model=self.model,
                messages=outgoing,
                temperature=0,
                response_format={
                    "type": "json_schema",
                    "json_schema": {"name": schema_name, "schema": schema, "strict": True},
                },
                **{self._length_limit_field: MAX_OUTPUT_TOKENS},
            )
        except self._errors as error:
            # The SDK's message may quote the provider's answer: only the class and status.
            status = getattr(error, "status_code", None)
            raise LlmCallError(
                f"{type(error).__name__}" + (f" HTTP {status}" if status else "")
            ) from None
        choices = getattr(response, "choices", None) or []
        content = choices[0].message.content if choices else None
        if not content:
            raise LlmCallError("empty answer")
        return str(content)

    async def aclose(self) -> None:
        await self._close()


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
