"""The document parser the server uses: the configured LLM when there is one, else (or
when it fails) the heuristic parser; contact details always from the heuristic parser.

The heuristic parser is CPU-bound and runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from pipeline import cpu
from pipeline.documents.job_parser import parse_job
from pipeline.documents.llm import LlmDocumentParser
from pipeline.documents.resume_parser import parse_resume
from pipeline.documents.types import JobData, ResumeData
from pipeline.llm.types import LlmParseError

log = logging.getLogger("intrvuer.documents")

HEURISTIC: Final = "heuristic"
# Of the rules of resume_parser and job_parser: a change in what they read bumps it.
PARSER_VERSION: Final = 1

T = TypeVar("T", ResumeData, JobData)


@dataclass(frozen=True, slots=True)
class Parsed(Generic[T]):
    """A parse result and what made it: ``heuristic`` or ``llm:<model>``."""

    data: T
    source: str
    version: int = PARSER_VERSION


class DocumentParser:
    """Parses resumes and job descriptions; never raises for what a document says."""

    def __init__(self, llm: LlmDocumentParser | None = None) -> None:
        self.llm = llm

    async def parse_resume(self, text: str) -> Parsed[ResumeData]:
        found = await cpu.run(parse_resume, text)
        if self.llm is None:
            return Parsed(found, HEURISTIC)
        try:
            answer = await self.llm.parse_resume(text)
        except LlmParseError as error:
            log.warning(
                "LLM resume parsing failed; the heuristic parser's result is kept",
                extra={"llm": error.source, "reason": error.reason},
            )
            return Parsed(found, HEURISTIC)
        # The LLM saw the text with contact details redacted: those come from the rules.
        personal = found.personal.model_copy(
            update={
                "name": answer.personal.name or found.personal.name,
                "location": answer.personal.location or found.personal.location,
            }
        )
        return Parsed(answer.model_copy(update={"personal": personal}), self._source())

    async def parse_job(self, text: str) -> Parsed[JobData]:
        found = await cpu.run(parse_job, text)
        if self.llm is None:
            return Parsed(found, HEURISTIC)
        try:
            return Parsed(await self.llm.parse_job(text), self._source())
        except LlmParseError as error:
            log.warning(
                "LLM job parsing failed; the heuristic parser's result is kept",
                extra={"llm": error.source, "reason": error.reason},
            )
            return Parsed(found, HEURISTIC)

    async def aclose(self) -> None:
        if self.llm is not None:
            await self.llm.aclose()

    def _source(self) -> str:
        assert self.llm is not None
        return f"llm:{self.llm.model}"
