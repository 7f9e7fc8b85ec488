"""Parsing with an LLM: one chat completion whose answer must match a JSON schema.

The answer is validated with the same pydantic models the heuristic parser fills. A
provider error or an answer that does not validate is tried once more
(``pipeline.llm.validated``); a second failure raises ``LlmParseError`` and the caller
falls back to the heuristic parser.

The text sent has gone through ``redact``: e-mail addresses, phone numbers and links are
placeholders by then, so contact details always come from the heuristic parser.
"""

from __future__ import annotations

from typing import Final, TypeVar

from pydantic import BaseModel

from pipeline.documents.types import JobData, ResumeData
from pipeline.llm.redact import redact
from pipeline.llm.types import JsonChat
from pipeline.llm.validated import ask_validated

MAX_INPUT_CHARS: Final = 30_000  # a long resume is ~10k; the rest costs tokens for nothing

M = TypeVar("M", bound=BaseModel)

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
        return await ask_validated(
            self.chat,
            system=prompt,
            user=redact(text[:MAX_INPUT_CHARS]),
            model=model,
            schema_name=schema_name,
        )
