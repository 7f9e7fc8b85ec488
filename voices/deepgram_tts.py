"""Deepgram Aura speech synthesis: the speak websocket, with the REST API as fallback.

Each ``flush`` makes a job; one worker task synthesizes jobs in order, one at a time, so
audio and ``SynthesisDone`` events can never interleave between flushes. A job goes to
the websocket (Speak…, Flush, then audio until ``Flushed``); when the socket cannot be
opened, drops, stalls or warns, the job is finished over REST (linear16, no container),
skipping the audio bytes already delivered, and the websocket is tried again for a
later job once ``retry_socket_after_s`` has passed. Only when both fail does the job end
with ``SpeechError(fatal=True)`` (the next job tries again).

``clear`` (barge-in) drops queued jobs and the audio already waiting in the event queue,
stops the running job and, on the websocket, sends ``Clear`` and ignores every audio
frame and ``Flushed`` until ``Cleared`` comes back; if it does not come in time the
socket is abandoned, so nothing of the cleared turn can reach the next one.

Only the texts given to ``speak`` are sent to Deepgram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from voices.deepgram_common import (
    CONNECT_ERRORS,
    DEFAULT_BASE_URL,
    ApiError,
    AsyncDeepgramClient,
    SpeakV1Socket,
    SpeakV1Text,
    describe_failure,
    http_client,
    make_client,
    message_type,
    shorten_close,
)
from voices.synthesis import JobStream
from voices.types import SAMPLE_WIDTH, AudioChunk, SpeechError, SynthesisDone, SynthesisEvent

log = logging.getLogger("intrvuer.voices.deepgram_tts")

EVENTS_MAX = 512  # audio chunks waiting for the reader; when full, synthesis waits
JOBS_MAX = 64  # flushes waiting for synthesis; when full, ``flush`` waits
REST_ERRORS = (ApiError, httpx.HTTPError, OSError, TimeoutError)

T = TypeVar("T")


@dataclass(eq=False)
class _Job:
    """The text of one flush, and how much of its audio went out already."""

    texts: tuple[str, ...]
    generation: int
    delivered: int = 0  # bytes of audio emitted, whichever way they came


@dataclass(eq=False)
class _Socket:
    """One speak websocket, held open by its own task."""

    opened: asyncio.Future[SpeakV1Socket]
    task: asyncio.Task[None] | None = None
    connection: SpeakV1Socket | None = None
    alive: bool = True
    job: _Job | None = None  # the flush it is synthesizing
    flushed: asyncio.Future[bool] | None = None  # True: Flushed came; False: it won't
    clears: int = 0  # Clear sent, Cleared not back yet: drop audio and Flushed meanwhile
    cleared: asyncio.Event = field(default_factory=asyncio.Event)
    messages: int = 0  # everything received, to tell a stalled socket from a slow one
    failure: BaseException | None = None


class _WavStripper:
    """Passes raw PCM through; removes a RIFF/WAVE header if the body starts with one."""

    def __init__(self) -> None:
        self._head = b""
        self._decided = False

    def feed(self, data: bytes) -> bytes:
        if self._decided:
            return data
        self._head += data
        if len(self._head) < 12:
            return b""
        if self._head[:4] != b"RIFF" or self._head[8:12] != b"WAVE":
            self._decided = True
            return self._take(0)
        offset = 12
        while len(self._head) >= offset + 8:
            chunk_id = self._head[offset : offset + 4]
            (size,) = struct.unpack("<I", self._head[offset + 4 : offset + 8])
            if chunk_id == b"data":
                self._decided = True
                return self._take(offset + 8)
            offset += 8 + size + (size & 1)
        return b""

    def _take(self, offset: int) -> bytes:
        rest, self._head = self._head[offset:], b""
        return rest


class AuraSynthesisStream(JobStream[_Job]):
    """Speech for a sequence of flushed texts; made by ``AuraSynthesizer.open``."""

    def __init__(
        self,
        client: AsyncDeepgramClient,
        http: httpx.AsyncClient,
        *,
        model: str,
        sample_rate: int,
        options: AuraOptions,
    ) -> None:
        super().__init__(jobs_max=JOBS_MAX, events_max=EVENTS_MAX)
        self.model = model
        self.sample_rate = sample_rate
        self._client = client
        self._http = http
        self._options = options
        self._loop = asyncio.get_running_loop()
        self._settled = asyncio.Event()  # no clear() in progress
        self._settled.set()
        self._clears_running = 0
        self._clear_lock = asyncio.Lock()
        self._socket: _Socket | None = None
        self._connecting: asyncio.Task[_Socket | None] | None = None
        self._socket_retry_at = 0.0  # loop time before which the websocket is not tried
        self._tasks: set[asyncio.Task[Any]] = set()  # every task this stream started
        self._current: asyncio.Task[None] | None = None  # the job being synthesized

    def start(self) -> None:
        self._spawn(self._work(), "aura-synthesis")
        # Open the websocket now, so the first flush does not wait for the handshake.
        self._connect()

    def _spawn(self, coro: Coroutine[Any, Any, T], name: str) -> asyncio.Task[T]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # The SynthesisStream interface ---------------------------------------------------

    def _job(self, generation: int, texts: list[str]) -> _Job:
        return _Job(tuple(texts), generation)

    async def clear(self) -> None:
        """Drop all text and audio not yet delivered; returns once nothing of it can
        come out any more."""
        if not self._void_pending():
            return
        self._clears_running += 1
        self._settled.clear()
        try:
            async with self._clear_lock:
                await self._stop_current_job()
                await self._clear_socket()
        finally:
            self._clears_running -= 1
            if not self._clears_running:
                self._settled.set()

    async def close(self) -> None:
        """Stop synthesis, close the websocket (``Close``), release the HTTP pool."""
        if self._closed:
            return
        self._closed = True
        self._generation += 1
        await self._stop_current_job()
        socket = self._socket
        if socket is not None and socket.alive and socket.connection is not None:
            with contextlib.suppress(*CONNECT_ERRORS):
                await socket.connection.send_close()
            if socket.task is not None:
                await asyncio.wait({socket.task}, timeout=self._options.close_timeout_s)
        while self._tasks:
            tasks = set(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        await self._http.aclose()
        self._end_events()

    # Events ---------------------------------------------------------------------------

    async def _emit(self, job: _Job, event: SynthesisEvent) -> None:
        await self._emit_at(job.generation, event)

    # The worker -----------------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            job = await self._jobs.get()
            await self._settled.wait()
            if job.generation != self._generation:
                continue
            task = self._current = self._spawn(self._synthesize(job), "aura-job")
            try:
                await asyncio.wait({task})
            finally:
                self._current = None
            if not task.cancelled() and (error := task.exception()) is not None:
                log.error("speech synthesis failed unexpectedly", exc_info=error)
                await self._emit(job, _unavailable())

    async def _stop_current_job(self) -> None:
        task = self._current
        if task is not None:
            task.cancel()
            await asyncio.wait({task})

    async def _synthesize(self, job: _Job) -> None:
        if not "".join(job.texts).strip():
            await self._emit(job, SynthesisDone())
            return
        tried_socket = False
        if self._socket_usable():
            tried_socket = True
            done = await self._via_socket(job)
        else:
            done = False
        if not done:
            done = await self._via_rest(job)
        if not done and not tried_socket:
            done = await self._via_socket(job)  # REST failed too: the socket, cool-down or not
        await self._emit(job, SynthesisDone() if done else _unavailable())

    # The websocket --------------------------------------------------------------------

    def _socket_usable(self) -> bool:
        socket = self._socket
        if socket is not None and socket.alive:
            return True
        return self._loop.time() >= self._socket_retry_at

    def _cool_down(self) -> None:
        self._socket_retry_at = self._loop.time() + self._options.retry_socket_after_s

    def warm(self) -> None:
        """Reopen the websocket if it closed (Deepgram ends idle ones), in the background,
        so the next flush does not wait for a handshake; not while REST is cooling it down."""
        socket = self._socket
        if self._closed or (socket is not None and socket.alive):
            return
        if self._loop.time() >= self._socket_retry_at:
            self._connect()

    def _connect(self) -> asyncio.Task[_Socket | None]:
        """The handshake in progress, or a new one begun in the background."""
        if self._connecting is None or self._connecting.done():
            self._connecting = self._spawn(self._open_socket(), "aura-connect")
        return self._connecting

    async def _ensure_socket(self) -> _Socket | None:
        socket = self._socket
        if socket is not None and socket.alive:
            return socket
        # Shielded: a cleared job must not abort a handshake the next job will use.
        return await asyncio.shield(self._connect())

    async def _open_socket(self) -> _Socket | None:
        socket = _Socket(opened=self._loop.create_future())
        task = socket.task = self._spawn(self._hold_socket(socket), "aura-socket")
        handshake: set[asyncio.Future[Any]] = {socket.opened, task}
        await asyncio.wait(
            handshake, timeout=self._options.connect_timeout_s, return_when=asyncio.FIRST_COMPLETED
        )
        if socket.opened.done():
            self._socket = socket
            return socket
        task.cancel()
        await asyncio.wait({task})
        reason = describe_failure(socket.failure) if socket.failure else "timed out"
        log.warning("could not open the Aura websocket; using REST", extra={"reason": reason})
        self._cool_down()
        return None

    async def _hold_socket(self, socket: _Socket) -> None:
        """Open the socket, then read it until it closes; never raises for the network."""
        try:
            async with self._client.speak.v1.connect(
                model=self.model, encoding="linear16", sample_rate=self.sample_rate
            ) as connection:
                shorten_close(connection, self._options.close_timeout_s)
                socket.connection = connection
                socket.opened.set_result(connection)
                async for message in connection:
                    socket.messages += 1
                    await self._on_socket_message(socket, message)
        except CONNECT_ERRORS as error:
            socket.failure = error
        except Exception as error:
            log.error("the Aura websocket failed unexpectedly", exc_info=error)
            socket.failure = error
        finally:
            socket.alive = False
            if socket.flushed is not None and not socket.flushed.done():
                socket.flushed.set_result(False)

    async def _on_socket_message(self, socket: _Socket, message: object) -> None:
        job = socket.job
        if isinstance(message, bytes):
            if socket.clears or job is None or not socket.alive:
                return  # audio of a cleared or abandoned flush
            job.delivered += len(message)
            await self._emit(job, AudioChunk(message, self.sample_rate))
            return
        kind = message_type(message)
        if kind == "Flushed":
            if not socket.clears and socket.flushed is not None and not socket.flushed.done():
                socket.flushed.set_result(True)
        elif kind == "Cleared":
            socket.clears = max(0, socket.clears - 1)
            if not socket.clears:
                socket.cleared.set()
        elif kind in ("Warning", "Error"):
            # Deepgram warns when it will not do what was asked (a full text buffer, too
            # many flushes a minute): the pending flush will never be answered.
            log.warning(
                "the Aura websocket refused a request",
                extra={"code": getattr(message, "code", None) or kind},
            )
            if socket.flushed is not None and not socket.flushed.done():
                socket.flushed.set_result(False)

    async def _via_socket(self, job: _Job) -> bool:
        socket = await self._ensure_socket()
        if socket is None or socket.connection is None:
            return False
        socket.job, socket.flushed = job, self._loop.create_future()
        try:
            for text in job.texts:
                await socket.connection.send_text(SpeakV1Text(text=text))
            await socket.connection.send_flush()
            if await self._wait_flushed(socket, socket.flushed):
                return True
            reason = describe_failure(socket.failure) if socket.failure else "no Flushed"
        except CONNECT_ERRORS as error:
            reason = describe_failure(error)
        finally:
            socket.job, socket.flushed = None, None
        log.warning("the Aura websocket failed mid-turn; using REST", extra={"reason": reason})
        self._abandon(socket)
        return False

    async def _wait_flushed(self, socket: _Socket, flushed: asyncio.Future[bool]) -> bool:
        """Wait for the flush to be answered, as long as the socket keeps talking."""
        while True:
            heard = socket.messages
            await asyncio.wait({flushed}, timeout=self._options.stall_timeout_s)
            if flushed.done():
                return flushed.result()
            if socket.messages == heard:
                return False  # stalled

    def _abandon(self, socket: _Socket) -> None:
        """Stop using ``socket``; whatever it still sends is ignored."""
        socket.alive = False
        if self._socket is socket:
            self._socket = None
        self._cool_down()
        if socket.task is not None:
            socket.task.cancel()

    async def _clear_socket(self) -> None:
        socket = self._socket
        if socket is None or not socket.alive or socket.connection is None:
            return
        socket.clears += 1
        socket.cleared.clear()
        try:
            await socket.connection.send_clear()
        except CONNECT_ERRORS:
            self._abandon(socket)
            return
        assert socket.task is not None
        waiter = asyncio.ensure_future(socket.cleared.wait())
        try:
            await asyncio.wait(
                {waiter, socket.task},
                timeout=self._options.clear_timeout_s,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            waiter.cancel()
        if not socket.cleared.is_set():
            stalled = not socket.task.done()
            log.warning("the Aura websocket did not confirm a Clear; dropping it")
            self._abandon(socket)
            if stalled:
                self._socket_retry_at = self._loop.time()  # a fresh socket may do better

    # REST -----------------------------------------------------------------------------

    async def _via_rest(self, job: _Job) -> bool:
        already, produced = job.delivered, 0
        stripper = _WavStripper()
        odd = b""  # half a sample held back until its other byte arrives
        body = self._client.speak.v1.audio.generate(
            text="".join(job.texts),
            model=self.model,
            encoding="linear16",
            sample_rate=self.sample_rate,
            container="none",
            request_options={"max_retries": 0, "timeout": self._options.rest_timeout_s},
        )
        try:
            async with contextlib.aclosing(body):
                async for piece in body:
                    data = odd + stripper.feed(piece)
                    whole = len(data) - len(data) % SAMPLE_WIDTH
                    data, odd = data[:whole], data[whole:]
                    # Skip what the websocket delivered before it failed.
                    start = max(0, already - produced)
                    produced += len(data)
                    if start < len(data):
                        job.delivered += len(data) - start
                        await self._emit(job, AudioChunk(data[start:], self.sample_rate))
        except REST_ERRORS as error:
            log.warning("Aura REST synthesis failed", extra={"reason": describe_failure(error)})
            return False
        return True


@dataclass(frozen=True, slots=True)
class AuraOptions:
    """How an ``AuraSynthesizer`` reaches Deepgram and how long it waits."""

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    model: str = "aura-2-thalia-en"
    retry_socket_after_s: float = 30.0
    connect_timeout_s: float = 3.0
    stall_timeout_s: float = 5.0
    rest_timeout_s: float = 15.0
    clear_timeout_s: float = 1.0
    close_timeout_s: float = 1.0


class AuraSynthesizer:
    """Deepgram Aura voices. ``voice`` names an Aura model (``aura-2-…``); any other
    voice (``"default"``, another provider's) uses ``model``."""

    name = "deepgram"

    def __init__(self, options: AuraOptions) -> None:
        self.options = options
        self.base_url = options.base_url
        self.model = options.model

    def __repr__(self) -> str:  # never show the key
        return f"AuraSynthesizer(base_url={self.base_url!r}, model={self.model!r})"

    def model_for(self, voice: str) -> str:
        return voice if voice.startswith("aura-") else self.model

    async def open(self, *, sample_rate: int, voice: str) -> AuraSynthesisStream:
        """A synthesis stream of PCM16 at ``sample_rate``; never fails for the network
        (the websocket connects in the background, REST stands in for it)."""
        # The SDK never closes an HTTP client it made, so the stream brings and owns one.
        http = http_client(self.options.rest_timeout_s)
        stream = AuraSynthesisStream(
            make_client(self.options.api_key, self.base_url, http),
            http,
            model=self.model_for(voice),
            sample_rate=sample_rate,
            options=self.options,
        )
        stream.start()
        return stream


def _unavailable() -> SpeechError:
    return SpeechError("tts_unavailable", "speech synthesis is unavailable", fatal=True)
