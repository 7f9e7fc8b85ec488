"""A simulated candidate: speaks its answers into the live protocol in real time.

All microphones share one ``FrameClock``: every 20 ms each sends one frame, answer audio
while its candidate speaks and silence otherwise, as a real microphone streams without
pause. One clock for all keeps the load generator's own cost low (one timer for every
session instead of one per session) and its schedule exact: tick *k* is due at
``t0 + k * 20 ms``, so lateness never accumulates; a late tick sends what is due at once,
as an operating system's audio buffer would.

By default candidates answer in rounds (``Rounds``): answer *k* starts once everyone has
heard question *k*, candidate *i* ``i / N * stagger`` later. Every candidate then speaks
at once for most of each answer (the window in which the server's CPU per speaking
session is measured), while the ends of the answers, and so the interviewer's replies,
stay spread over the stagger instead of arriving all at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from array import array
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from bench.audio import FRAME_S, SILENT_FRAME, SpokenAnswer


class SpeakingTracker:
    """How many candidates are speaking now, and a count of every change of that."""

    def __init__(self) -> None:
        self.speaking = 0
        self.changes = 0

    def started(self) -> None:
        self.speaking += 1
        self.changes += 1

    def stopped(self) -> None:
        self.speaking -= 1
        self.changes += 1


class Microphone:
    """One candidate's audio stream: silence, or the answer it was asked to say."""

    def __init__(self, connection: ClientConnection, tracker: SpeakingTracker) -> None:
        self.connection = connection
        self.tracker = tracker
        self.closed = False
        self._frames: list[bytes] = []
        self._next = 0
        self._said: asyncio.Future[float] | None = None

    def say(self, answer: SpokenAnswer) -> asyncio.Future[float]:
        """Start speaking ``answer`` at the next tick; the future gets the
        ``time.monotonic()`` at which its last (voiced) frame was sent."""
        if self._said is not None:
            raise RuntimeError("the microphone is still speaking the previous answer")
        self._frames, self._next = answer.frames(), 0
        self._said = asyncio.get_running_loop().create_future()
        # Retrieve a failure even when nobody awaits it any more (no "never retrieved").
        self._said.add_done_callback(lambda said: said.cancelled() or said.exception())
        self.tracker.started()
        return self._said

    def stop(self, why: str = "the microphone stopped") -> None:
        self.closed = True
        if self._said is not None:
            self.tracker.stopped()
            if not self._said.done():
                self._said.set_exception(ConnectionError(f"{why} mid-answer"))
            self._said = None

    async def send_next(self) -> None:
        if self._said is None:
            frame = SILENT_FRAME
        else:
            frame = self._frames[self._next]
            self._next += 1
        try:
            await self.connection.send(frame)
        except ConnectionClosed as closed:
            self.stop(f"the connection closed ({closed})")
            return
        if self._said is not None and self._next == len(self._frames):
            said, self._said = self._said, None
            self.tracker.stopped()
            if not said.done():
                said.set_result(time.monotonic())


class FrameClock:
    """Drives every microphone with one 20 ms tick; records how late each tick ran."""

    def __init__(self, frame_s: float = FRAME_S) -> None:
        self.frame_s = frame_s
        self.microphones: list[Microphone] = []
        self.lateness_ms = array("f")  # one entry per tick

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        start, tick = loop.time(), 0
        while not stop.is_set():
            tick += 1
            due = start + tick * self.frame_s
            delay = due - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self.lateness_ms.append(max(0.0, (loop.time() - due) * 1000))
            for microphone in self.microphones:
                if not microphone.closed:
                    await microphone.send_next()
            self.microphones = [m for m in self.microphones if not m.closed]


class Rounds:
    """A barrier per answer: it opens once every candidate still in the interview has
    arrived (a candidate that ends, failed or done, stops being waited for)."""

    def __init__(self, count: int) -> None:
        self.active = count
        self._arrived: Counter[int] = Counter()
        self._changed = asyncio.Condition()

    async def arrive(self, number: int) -> None:
        async with self._changed:
            self._arrived[number] += 1
            self._changed.notify_all()
            await self._changed.wait_for(lambda: self._arrived[number] >= self.active)

    async def leave(self) -> None:
        async with self._changed:
            self.active -= 1
            self._changed.notify_all()


@dataclass
class Crowd:
    """What the candidates of one run share."""

    size: int
    clock: FrameClock
    tracker: SpeakingTracker
    rounds: Rounds | None  # None: each candidate answers as soon as its question ends
    stagger_s: float
    turn_timeout_s: float
    compression: str | None  # "deflate" (what browsers offer) or None


@dataclass
class AnswerResult:
    """One answer and the interviewer's reply to it."""

    answer: int  # 1-based
    server_metrics: dict[str, float]  # the ``metrics`` event of the reply
    client_voice_to_voice_ms: float | None  # last voiced frame sent → first reply frame


@dataclass
class CandidateResult:
    index: int
    completed: bool = False
    error: str | None = None
    answers: list[AnswerResult] = field(default_factory=list)
    error_events: Counter[str] = field(default_factory=Counter)  # before interview_end


Phase = Literal["waiting", "connected", "ready", "done"]


class Candidate:
    """Connects with a ticket, says ``start``, answers each question after the
    interviewer's turn ends, and waits for the interview to end."""

    def __init__(self, index: int, url: str, answers: Sequence[SpokenAnswer], crowd: Crowd) -> None:
        self.index = index
        self.url = url
        self.answers = answers
        self.crowd = crowd
        self.turn_timeout_s = crowd.turn_timeout_s
        self.result = CandidateResult(index)
        self.phase: Phase = "waiting"
        self.ready = asyncio.Event()
        self._counts: Counter[str] = Counter()
        self._metrics: dict[int, dict[str, float]] = {}
        self._changed = asyncio.Condition()
        self._closed = False
        self._closed_how = "connection closed"
        self._reply_wanted_since: float | None = None
        self._reply_first_audio: float | None = None

    async def run(self) -> CandidateResult:
        try:
            # Browsers send no pings (the server pings them), so neither does a candidate.
            async with connect(
                self.url,
                max_size=2**20,
                compression=self.crowd.compression,
                open_timeout=30,
                ping_interval=None,
            ) as connection:
                self.phase = "connected"
                reader = asyncio.create_task(self._read(connection))
                microphone = Microphone(connection, self.crowd.tracker)
                try:
                    await self._interview(connection, microphone)
                finally:
                    microphone.stop()
                    await connection.close()
                    await reader
            self.result.completed = self.result.error is None
        except (TimeoutError, OSError, InvalidStatus, WebSocketException) as failure:
            self.result.error = self.result.error or _describe(failure)
        finally:
            self.phase = "done"
            self.ready.set()  # nobody waits forever on a candidate that failed early
            if self.crowd.rounds is not None:
                await self.crowd.rounds.leave()
        return self.result

    async def _interview(self, connection: ClientConnection, microphone: Microphone) -> None:
        await connection.send(json.dumps({"type": "start"}))
        await self._wait("ready", 1)
        self.phase = "ready"
        self.ready.set()
        self.crowd.clock.microphones.append(microphone)
        for number, answer in enumerate(self.answers, start=1):
            # Interviewer turn n asks question n; the answer to it carries turn n.
            await self._wait("agent_turn_end", number)
            await self._line_up(number)
            said = microphone.say(answer)
            try:
                last_voiced = await asyncio.wait_for(said, answer.seconds + self.turn_timeout_s)
            except TimeoutError:
                self.result.error = f"answer {number} was not sent in time"
                raise
            self._reply_wanted_since, self._reply_first_audio = last_voiced, None
            await self._wait("user_turn_end", number)
            metrics = await self._wait_metrics(number + 1)
            client_ms = None
            if self._reply_first_audio is not None:
                client_ms = round((self._reply_first_audio - last_voiced) * 1000, 2)
            self.result.answers.append(AnswerResult(number, metrics, client_ms))
        await self._wait("interview_end", 1)

    async def _line_up(self, number: int) -> None:
        crowd = self.crowd
        if crowd.rounds is None:
            return
        try:
            # Longer than one turn: the slowest candidate may still be joining (a crowd
            # that joins at once keeps a busy server's one core full for a while).
            async with asyncio.timeout(3 * self.turn_timeout_s):
                await crowd.rounds.arrive(number)
        except TimeoutError:
            self.result.error = f"the others did not hear question {number} in time"
            raise
        await asyncio.sleep(self.index * crowd.stagger_s / max(crowd.size, 1))

    async def _read(self, connection: ClientConnection) -> None:
        try:
            async for message in connection:
                if isinstance(message, bytes):
                    if self._reply_wanted_since is not None:
                        self._reply_first_audio = time.monotonic()
                        self._reply_wanted_since = None
                    continue
                event: dict[str, Any] = json.loads(message)
                kind = str(event.get("type"))
                if kind == "metrics":
                    self._metrics[int(event["turn"])] = dict(event["metrics"])
                elif kind == "error" and not self._counts["interview_end"]:
                    # After interview_end, microphone frames still in flight are refused
                    # ("unexpected_audio"); that is the protocol working, not a fault.
                    self.result.error_events[str(event.get("code"))] += 1
                async with self._changed:
                    self._counts[kind] += 1
                    self._changed.notify_all()
        except ConnectionClosed:
            pass
        finally:
            code, reason = connection.close_code, connection.close_reason
            self._closed_how = (
                f"connection closed ({code} {reason!r})" if code else "connection lost"
            )
            async with self._changed:
                self._closed = True
                self._changed.notify_all()

    async def _wait(self, kind: str, count: int) -> None:
        try:
            async with asyncio.timeout(self.turn_timeout_s), self._changed:
                await self._changed.wait_for(lambda: self._counts[kind] >= count or self._closed)
        except TimeoutError:
            self.result.error = f"timed out waiting for {kind} #{count}"
            raise
        if self._counts[kind] < count:
            self.result.error = f"{self._closed_how} before {kind} #{count}"
            raise ConnectionError(self.result.error)

    async def _wait_metrics(self, turn: int) -> dict[str, float]:
        try:
            async with asyncio.timeout(self.turn_timeout_s), self._changed:
                await self._changed.wait_for(lambda: turn in self._metrics or self._closed)
        except TimeoutError:
            self.result.error = f"timed out waiting for the metrics of turn {turn}"
            raise
        if turn not in self._metrics:
            self.result.error = f"{self._closed_how} before the metrics of turn {turn}"
            raise ConnectionError(self.result.error)
        return self._metrics[turn]


def _describe(failure: BaseException) -> str:
    if isinstance(failure, InvalidStatus):
        return f"handshake refused: HTTP {failure.response.status_code}"
    text = str(failure)
    return f"{type(failure).__name__}: {text}" if text else type(failure).__name__


async def run_candidates(
    candidates: Sequence[Candidate],
    stagger_s: float,
    on_done: Callable[[CandidateResult], None] = lambda result: None,
) -> list[CandidateResult]:
    """Connect candidate *i* at ``i * stagger_s / len(candidates)`` and run them all;
    ``on_done`` hears of each one as it finishes."""

    async def later(candidate: Candidate, delay: float) -> CandidateResult:
        if delay > 0:
            await asyncio.sleep(delay)
        result = await candidate.run()
        on_done(result)
        return result

    count = max(len(candidates), 1)
    async with asyncio.TaskGroup() as group:
        tasks = [
            group.create_task(later(candidate, index * stagger_s / count))
            for index, candidate in enumerate(candidates)
        ]
    return [task.result() for task in tasks]
