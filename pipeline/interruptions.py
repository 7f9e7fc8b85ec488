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
from typing import Any

from pipeline.playback import AgentTurn, Outgoing
from pipeline.protocol import AgentAudioPauseEvent, AgentAudioResumeEvent

# Speech over a paused interviewer that the recognizer neither ends nor gives words for
# in this long after the confirmation window is taken for a noise.
SPEECH_WITHOUT_WORDS_S = 3.0

Spawn = Callable[[Coroutine[Any, Any, None], str], asyncio.Task[None]]


def _ignore(item: Outgoing) -> None:
    pass


def _ended(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
    coro.close()
    raise RuntimeError("the session has ended")


class SpeechOverInterviewer:
    def __init__(
        self,
        *,
        confirm_s: float,
        clock: Callable[[], float],
        emit: Callable[[Outgoing], None],
        spawn: Spawn,
        still_speaking: Callable[[AgentTurn], bool],
    ) -> None:
        self.confirm_s = confirm_s
        self.clock = clock
        self.emit = emit
        self.spawn = spawn
        self.still_speaking = still_speaking  # the turn is the session's current one, going on
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
        self.emit(AgentAudioPauseEvent(agent.number))
        self._confirming = self.spawn(self._confirm(agent), "barge-in-confirm")

    def stop(self) -> None:
        """The turn ended (cut off, or over): nothing is waited for any more."""
        if self._confirming is not None and not self._confirming.done():
            self._confirming.cancel()
        self._confirming = None

    def detach(self) -> None:
        """The session ended: let go of it (its ``emit`` and ``spawn``), so that it is
        freed without waiting for the cyclic garbage collector."""
        self.stop()
        self.emit, self.spawn = _ignore, _ended
        self.still_speaking = lambda agent: False

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
        if agent.paused and self.still_speaking(agent):
            agent.resume(self.clock())
            self.emit(AgentAudioResumeEvent(agent.number))
