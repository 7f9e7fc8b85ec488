"""Tries interviewers in order until one answers: a provider that fails or stays silent
past the first-token timeout is skipped for the next, ending with the offline interviewer.

A failure after the reply has started cannot be taken back (its words may already be
spoken), so the reply simply ends there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from pipeline.interviewer.types import InterviewContext, Interviewer, InterviewerError

log = logging.getLogger("intrvuer.interviewer")


class FallbackInterviewer:
    def __init__(self, chain: Sequence[Interviewer], *, first_token_timeout_s: float) -> None:
        if not chain:
            raise ValueError("an interviewer chain needs at least one interviewer")
        self.chain = list(chain)
        self.first_token_timeout_s = first_token_timeout_s
        self.name = self.chain[0].name
        self.source = self.name

    async def warm(self) -> None:
        """Warm the interviewer expected to answer: the first of the chain."""
        await self.chain[0].warm()

    async def respond(self, context: InterviewContext) -> AsyncIterator[str]:
        failures: list[str] = []
        for interviewer in self.chain:
            stream = aiter(interviewer.respond(context))
            try:
                first = await asyncio.wait_for(anext(stream), self.first_token_timeout_s)
            except StopAsyncIteration:
                failures.append(f"{interviewer.name}: empty reply")
                continue
            except TimeoutError:
                failures.append(f"{interviewer.name}: no token in {self.first_token_timeout_s} s")
                await _close(stream)
                continue
            except InterviewerError as error:
                failures.append(str(error))
                await _close(stream)
                continue
            if failures:
                log.warning(
                    "interviewer fell back", extra={"failures": failures, "to": interviewer.name}
                )
            self.source = interviewer.name
            yield first
            try:
                async for delta in stream:
                    yield delta
            except InterviewerError as error:
                log.warning("interviewer failed mid-reply", extra={"error": str(error)})
            return
        raise InterviewerError("fallback", "; ".join(failures) or "no interviewer answered")


async def _close(stream: AsyncIterator[str]) -> None:
    if isinstance(stream, AsyncGenerator):
        try:
            await stream.aclose()
        except Exception:  # a broken provider stream may fail to close; it is dropped anyway
            log.debug("closing a failed interviewer stream raised", exc_info=True)
