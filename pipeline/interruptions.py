"""Speech over the interviewer: its audio pauses at once, then plays on or is cut off.

The session tells ``SpeechOverInterviewer`` when the candidate's speech opens and ends
(the recognizer's speech start, its final or utterance end) and when speech begins over
a turn that is speaking (``pause``). The turn's audio then stands still
(``AgentTurn.pause``) and the client is told to hold what it has not played. Real words
make it a barge-in, which the session carries out (``stop`` ends the wait here); a
backchannel or a noise — no real words within ``confirm_s`` — resumes the turn from where
it paused.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from pipeline.playback import AgentTurn, Outgoing
from pipeline.protocol import AgentAudioPauseEvent, AgentAudioResumeEvent

# Speech over a paused interviewer that the recognizer neither ends nor gives words for
# in this long after the confirmation window is taken for a noise.
SPEECH_WITHOUT_WORDS_S = 3.0


class Stage(Protocol):
    """What the speech over the interviewer acts on: the session, as a weak proxy, so
    that no cycle keeps it alive."""

    def emit(self, item: Outgoing) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]: ...

    def still_speaking(self, agent: AgentTurn) -> bool:
        """Whether ``agent`` is the session's current turn and is going on."""
        ...


class SpeechOverInterviewer:
    def __init__(
        self,
        stage: Stage,
        *,
        confirm_s: float,
        clock: Callable[[], float],
    ) -> None:
        self.stage = stage
        self.confirm_s = confirm_s
        self.clock = clock
        self.speech_open = False
        self._quiet = asyncio.Event()
        self._quiet.set()
        self._confirming: asyncio.Task[None] | None = None

    def speech_changed(self, *, open_: bool) -> None:
        self.speech_open = open_
        if open_:
            self._quiet.clear()
        else:
            self._quiet.set()

    def pause(self, agent: AgentTurn) -> None:
        """Speech began over ``agent``: its audio stops now, until the speech proves an
        interruption (the session's barge-in) or not (``_confirm`` resumes it)."""
        if agent.paused:
            return
        agent.pause(self.clock())
        self.stage.emit(AgentAudioPauseEvent(agent.number))
        self._confirming = self.stage.spawn(self._confirm(agent), "barge-in-confirm")

    def stop(self) -> None:
        """The turn ended (cut off, or over): nothing is waited for any more."""
        if self._confirming is not None and not self._confirming.done():
            self._confirming.cancel()
        self._confirming = None

    async def _confirm(self, agent: AgentTurn) -> None:
        """No real words within ``confirm_s``: the interviewer plays on from its pause.
        Speech still going on then is waited for until the recognizer ends it (the local
        recognizer gives an utterance's words only at its end), for at most
        ``SPEECH_WITHOUT_WORDS_S``; real words meanwhile are a barge-in, which stops this."""
        await asyncio.sleep(self.confirm_s)
        if self.speech_open:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._quiet.wait(), SPEECH_WITHOUT_WORDS_S)
        self._confirming = None
        if agent.paused and self.stage.still_speaking(agent):
            agent.resume(self.clock())
            self.stage.emit(AgentAudioResumeEvent(agent.number))
