"""One live session per interview in this process: a new connection takes over.

A reload or a second tab opens a second socket to an interview that is live. The newer
one wins: ``claim`` tells the older connection it was replaced (it then gets
``error session_replaced`` and close code 4409) and waits for its session to end, so the
two never finalize turns side by side. The turns the older session finalized are handed
to the newer one with the claim: they may still be on their way to the database (turn
writer, then the durable queue), and the newer session must number its turns after them.
A claim is kept for ``RECENT_S`` after its session ended, for a quick reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from storage.types import InterviewTurn

RECENT_S = 60.0  # how long the turns of an ended session are kept for its successor
TAKEOVER_TIMEOUT_S = 10.0  # how long a new connection waits for the old session to end


@dataclass(eq=False)
class LiveClaim:
    """One connection's hold on an interview."""

    interview_id: str
    # Set when the connection must give the interview up: a newer one took over, or the
    # interview was deleted (then ``deleted`` is true too).
    replaced: asyncio.Event = field(default_factory=asyncio.Event)
    deleted: bool = False
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    turns: dict[int, InterviewTurn] = field(default_factory=dict)  # known to this session
    ended_at: float | None = None  # time.monotonic() when the session ended

    def add_turns(self, turns: Iterable[InterviewTurn]) -> None:
        for turn in turns:
            self.turns[turn.turn] = turn

    def ordered_turns(self) -> list[InterviewTurn]:
        return [self.turns[number] for number in sorted(self.turns)]

    def finish(self) -> None:
        self.ended_at = time.monotonic()
        self.finished.set()


class LiveSessions:
    def __init__(self) -> None:
        self._claims: dict[str, LiveClaim] = {}

    def __contains__(self, interview_id: str) -> bool:
        claim = self._claims.get(interview_id)
        return claim is not None and not claim.finished.is_set()

    async def claim(self, interview_id: str, stored: list[InterviewTurn]) -> LiveClaim:
        """Take the interview for a new connection. ``stored`` are its turns read from the
        database; the claim's turns add those of an earlier session of this process."""
        self._forget_old()
        claim = LiveClaim(interview_id)
        claim.add_turns(stored)
        previous = self._claims.get(interview_id)
        self._claims[interview_id] = claim
        if previous is not None:
            previous.replaced.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(previous.finished.wait(), timeout=TAKEOVER_TIMEOUT_S)
            claim.add_turns(previous.ordered_turns())
        return claim

    def release(self, claim: LiveClaim) -> None:
        claim.finish()

    def forget(self, interview_id: str) -> None:
        """The interview is deleted: its session, if one is live here, ends now (the client
        is told ``interview_deleted``) and the turns kept for a successor are dropped."""
        claim = self._claims.pop(interview_id, None)
        if claim is not None:
            claim.deleted = True
            claim.replaced.set()
            claim.turns.clear()

    def _forget_old(self) -> None:
        cutoff = time.monotonic() - RECENT_S
        for interview_id, claim in list(self._claims.items()):
            if claim.ended_at is not None and claim.ended_at < cutoff:
                del self._claims[interview_id]
