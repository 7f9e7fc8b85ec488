"""What one interview leaves behind in a long-running server: nothing that grows with the
number of interviews scored.

The server runs full garbage collections rarely (``server.app.GC_THRESHOLDS``), so an
object that only the cyclic collector frees stays in memory long after its interview;
these tests count such objects with automatic collection off, as a long run sees them.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import httpx
import pytest

from tests.fakes.openai_compat import FakeOpenAI
from tests.server.coaching_data import ANSWERS
from tests.server.test_feedback import (
    answered_interview,
    fake_llm,  # noqa: F401 - fixtures
    feedback_when_done,
    llm_client,  # noqa: F401
    llm_feedback,
    llm_server,  # noqa: F401
    rubrics_of,
    signed_in,
)
from tests.serving import RunningServer

SCORINGS = 30


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _score_models() -> int:
    """The feedback schema models alive, garbage not yet collected included."""
    return sum(
        1 for o in gc.get_objects() if isinstance(o, type) and o.__name__ == "InterviewScores"
    )


async def test_scoring_many_interviews_makes_no_new_schema_models(
    llm_client: httpx.AsyncClient,  # noqa: F811
    llm_server: RunningServer,  # noqa: F811
    fake_llm: FakeOpenAI,  # noqa: F811
    no_automatic_collection: None,
) -> None:
    auth = await signed_in(llm_client)
    interview_id = await answered_interview(llm_client, llm_server, auth)
    plan = await rubrics_of(llm_client, auth, interview_id)
    reply = llm_feedback(plan, ANSWERS, quote="I added a Redis cache")

    async def score(generation: int) -> None:
        fake_llm.script(reply)
        await llm_client.post(f"/v1/interviews/{interview_id}/rescore", headers=auth)
        body = await feedback_when_done(llm_client, auth, interview_id, generation)
        assert body["source"] == "llm:gpt-4o-mini", body

    await score(1)
    after_first = _score_models()
    for generation in range(2, SCORINGS + 2):
        await score(generation)
    # One model per set of rubric dimensions, made once; never one per interview.
    assert _score_models() == after_first
