"""Deepgram live speech recognition as a ``RecognitionStream``: ``/v1/listen`` (nova-3),
or Flux on ``/v2/listen`` (one transcript per turn, final at Flux's end of turn, with
``EagerEndOfTurn`` and ``TurnResumed`` events in eager mode).

Audio path: ``send()`` appends to a pending queue, a sender task writes it to the socket.
The queue is bounded in seconds of audio (``buffer_s``, 30 s by default); past the bound
the *oldest* pending audio is dropped, with a warning, so that what the candidate says
now is what gets transcribed.

Reconnecting: Deepgram's SDK does not reconnect, so this module does. Every chunk sent
is kept in a replay buffer until a final result covers it (a final's window ends where
the next one starts). When the socket drops without being asked to, a new one is opened
with backoff (``reconnect_delays_s``), the replay buffer is sent first, then the pending
audio. The new connection's clock starts at zero at the replay's start, so each
connection keeps a map from its audio time to the stream's; results are shifted through
it and times stay continuous (with Flux, a turn's ``EndOfTurn`` plays the part of the
final). A reconnect is logged, not reported in the stream (the
candidate lost nothing); only running out of attempts emits ``SpeechError(fatal=True)``,
after which the stream ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from voices.deepgram_common import (
    CONNECT_ERRORS,
    DEFAULT_BASE_URL,
    AsyncDeepgramClient,
    ListenV1Socket,
    ListenV2Socket,
    describe_failure,
    http_client,
    is_refusal,
    make_client,
    message_type,
    shorten_close,
)
from voices.deepgram_link import Chunk, Link, chunk_end
from voices.pending import Control, PendingAudio, RecognitionEvents
from voices.types import (
    SAMPLE_WIDTH,
    EagerEndOfTurn,
    SpeechError,
    SpeechStarted,
    Transcript,
    TurnResumed,
    UtteranceEnd,
    WordTiming,
)

log = logging.getLogger("intrvuer.voices.deepgram_stt")

_Socket = ListenV1Socket | ListenV2Socket

EVENTS_MAX = 1024  # recognition events waiting for the reader; when full the socket waits
# Flux's eager end of turn: Deepgram suggests 0.3–0.5 beside its default eot_threshold of
# 0.7. A candidate pauses mid-answer far more than a caller booking a table, and each
# eager end the speech resumes after is a reply begun for nothing, so the upper end.
EAGER_EOT_THRESHOLD = 0.5


class _Dropped(Exception):
    """The socket went away without being asked to."""

    def __init__(self, cause: BaseException | None, *, heard: bool) -> None:
        super().__init__("the Deepgram listen socket dropped")
        self.cause = cause
        self.heard = heard


class DeepgramRecognitionStream(RecognitionEvents):
    """One live transcription; made by ``DeepgramRecognizer.open``."""

    def __init__(
        self,
        client: AsyncDeepgramClient,
        connect_args: dict[str, Any],
        *,
        http: httpx.AsyncClient | None = None,
        flux: bool = False,
        sample_rate: int,
        keepalive_s: float,
        reconnect_delays_s: Sequence[float],
        buffer_s: float,
        close_timeout_s: float,
        send_chunk_ms: int = 80,
    ) -> None:
        super().__init__(EVENTS_MAX)
        self.sample_rate = sample_rate
        # Client frames are often 20 ms; each websocket send costs the same CPU however
        # small, so audio goes out in chunks of ``send_chunk_ms`` (Deepgram suggests
        # 20–100 ms). It delays what Deepgram hears by under one chunk.
        self._chunk_bytes = max(
            SAMPLE_WIDTH, int(sample_rate * send_chunk_ms / 1000) * SAMPLE_WIDTH
        )
        self._gathering = bytearray()
        self._client = client
        self._http = http  # the SDK client's, unused by sockets but ours to close
        self._connect_args = connect_args
        self._flux = flux
        self._last_interim = ""  # Flux repeats an unchanged transcript every 0.25 s
        self._keepalive_s = keepalive_s
        self._reconnect_delays_s = tuple(reconnect_delays_s)
        self._close_timeout_s = close_timeout_s
        self._max_bytes = int(buffer_s * sample_rate) * SAMPLE_WIDTH
        self._received = 0  # samples passed to send()
        self._pending: PendingAudio[Chunk] = PendingAudio(
            max_bytes=self._max_bytes,
            sample_rate=sample_rate,
            size=lambda chunk: len(chunk[1]),
            log=log,
            what="unsent",
        )
        self._replay: deque[Chunk] = deque()
        self._replay_bytes = 0
        self._finalize_unanswered = False
        self._stop = asyncio.Event()
        self._opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._runner: asyncio.Task[None] | None = None
        self.connections = 0  # sockets opened so far

    async def start(self) -> None:
        """Open the first socket; raises ``ConnectionError`` when Deepgram can't be reached."""
        runner = self._runner = asyncio.create_task(self._run(), name="deepgram-listen")
        try:
            await asyncio.wait({self._opened, runner}, return_when=asyncio.FIRST_COMPLETED)
            if not self._opened.done():
                runner.result()  # it ended without opening: raise what it raised
                raise ConnectionError("Deepgram speech recognition stopped while opening")
            self._opened.result()
        except BaseException:
            await self._stop_runner()
            raise

    # The RecognitionStream interface -------------------------------------------------

    async def send(self, pcm: bytes) -> None:
        """Queue audio; never waits on the network."""
        if not self._accepting or not pcm:
            return
        self._gathering.extend(pcm)
        if len(self._gathering) >= self._chunk_bytes:
            self._queue_gathered()

    def _queue_gathered(self) -> None:
        if not self._gathering:
            return
        pcm = bytes(self._gathering)
        self._gathering.clear()
        self._pending.put((self._received, pcm))
        self._received += len(pcm) // SAMPLE_WIDTH

    async def finalize(self) -> None:
        """Ask Deepgram to finalize what it heard so far (sent after the queued audio)."""
        if not self._accepting:
            return
        self._queue_gathered()
        self._pending.mark(Control.FINALIZE)

    async def close(self) -> None:
        """Send CloseStream, wait briefly for the last results, then stop everything."""
        if self._closing:
            return
        if not self._events.ended:
            self._queue_gathered()
        self._closing = True
        self._pending.mark(Control.CLOSE)
        self._stop.set()  # no more reconnecting; a live socket still gets CloseStream
        runner = self._runner
        if runner is not None and not runner.done():
            await asyncio.wait({runner}, timeout=self._close_timeout_s)
        await self._stop_runner()
        self._events.end()

    # Internals ----------------------------------------------------------------------

    async def _stop_runner(self) -> None:
        self._stop.set()
        runner = self._runner
        if runner is not None and not runner.done():
            runner.cancel()
            await asyncio.wait({runner})
        if self._http is not None:
            await self._http.aclose()

    def _remember(self, chunk: Chunk) -> None:
        """Keep ``chunk`` for a replay until a final result covers it (bounded too)."""
        self._replay.append(chunk)
        self._replay_bytes += len(chunk[1])
        while self._replay_bytes > self._max_bytes:
            oldest = self._replay.popleft()
            self._replay_bytes -= len(oldest[1])

    def _forget_until(self, stream_s: float) -> None:
        """A final result covered the audio up to ``stream_s``: no need to replay it."""
        cut = round(stream_s * self.sample_rate)
        while self._replay and chunk_end(self._replay[0]) <= cut:
            self._replay_bytes -= len(self._replay.popleft()[1])
        if self._replay and self._replay[0][0] < cut:
            start, pcm = self._replay.popleft()
            keep = pcm[(cut - start) * SAMPLE_WIDTH :]
            self._replay.appendleft((cut, keep))
            self._replay_bytes -= len(pcm) - len(keep)

    def _origin(self) -> int:
        """The stream sample a new connection's first audio will be."""
        if self._replay:
            return self._replay[0][0]
        first = self._pending.first_audio()
        return first[0] if first is not None else self._received

    async def _run(self) -> None:
        try:
            await self._keep_connected()
        except Exception:
            log.exception("Deepgram speech recognition failed unexpectedly")
            if self._opened.done():
                await self._give_up(None)
            raise

    async def _keep_connected(self) -> None:
        """Own the socket: connect, serve, and reconnect after a drop until told to stop."""
        attempt = 0  # failed tries since the last connection that worked
        while True:
            try:
                await self._connect_and_serve()
                return  # closed on purpose
            except _Dropped as drop:
                failure = drop.cause
                attempt = 1 if drop.heard else attempt + 1
                log.warning(
                    "Deepgram listen socket dropped; reconnecting",
                    extra={"reason": describe_failure(failure) if failure else "closed by server"},
                )
            except CONNECT_ERRORS as error:
                failure = error
                attempt += 1
                if is_refusal(error):
                    attempt = len(self._reconnect_delays_s) + 1  # retrying will not help
                log.warning(
                    "could not open the Deepgram listen socket",
                    extra={"reason": describe_failure(error), "attempt": attempt},
                )
            if self._closing:
                return
            if attempt > len(self._reconnect_delays_s):
                await self._give_up(failure)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._reconnect_delays_s[attempt - 1])
            if self._closing:
                return

    async def _give_up(self, failure: BaseException | None) -> None:
        reason = describe_failure(failure) if failure else "closed by server"
        if not self._opened.done():
            self._opened.set_exception(
                ConnectionError(f"Deepgram speech recognition is unavailable ({reason})")
            )
            return
        log.error("Deepgram speech recognition failed for good", extra={"reason": reason})
        await self._stop_working()

    async def _connect_and_serve(self) -> None:
        listen = self._client.listen
        version = listen.v2 if self._flux else listen.v1
        async with version.connect(**self._connect_args) as connection:
            shorten_close(connection, self._close_timeout_s)
            self.connections += 1
            if not self._opened.done():
                self._opened.set_result(None)
            elif self.connections > 1:
                log.info("Deepgram listen socket reconnected", extra={"replay_s": self._replay_s})
            await self._serve(connection)

    @property
    def _replay_s(self) -> float:
        return round(self._replay_bytes / SAMPLE_WIDTH / self.sample_rate, 3)

    async def _serve(self, connection: _Socket) -> None:
        link = Link(self.sample_rate, marks=[(0, self._origin())])
        receiver = asyncio.create_task(self._receive(connection, link), name="deepgram-recv")
        sender = asyncio.create_task(self._send(connection, link), name="deepgram-send")
        tasks = {receiver, sender}
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.wait(tasks)
        for task in (receiver, sender):
            error = None if task.cancelled() else task.exception()
            if isinstance(error, _Dropped):
                raise error
            if isinstance(error, CONNECT_ERRORS):
                raise _Dropped(error, heard=link.heard)
            if error is not None:
                raise error

    async def _send_finalize(self, connection: _Socket) -> None:
        if isinstance(connection, ListenV2Socket):
            await connection.send_force_end_turn()  # Flux: end the turn on what it heard
        else:
            await connection.send_finalize()

    async def _send(self, connection: _Socket, link: Link) -> None:
        # What an earlier socket heard but did not finalize goes first.
        for chunk in list(self._replay):
            link.on_send(chunk)
            await connection.send_media(chunk[1])
        if self._finalize_unanswered:
            await self._send_finalize(connection)
        while True:
            while self._pending:
                item = self._pending.pop()
                if isinstance(item, tuple):
                    self._remember(item)  # before sending: a failed send is replayed
                    link.on_send(item)
                    await connection.send_media(item[1])
                elif item is Control.FINALIZE:
                    self._finalize_unanswered = True
                    await self._send_finalize(connection)
                else:
                    await connection.send_close_stream()
                    return
            self._pending.drained()
            self._pending.wake.clear()
            try:
                async with asyncio.timeout(self._keepalive_s):
                    await self._pending.wake.wait()
            except TimeoutError:
                # No audio flows: keep the socket open. Flux has no KeepAlive message;
                # the websocket pings the SDK's client sends keep it open.
                if isinstance(connection, ListenV1Socket):
                    await connection.send_keep_alive()

    async def _receive(self, connection: _Socket, link: Link) -> None:
        async for message in connection:
            link.heard = True
            kind = message_type(message)
            now = time.monotonic()
            if kind == "Results":
                await self._on_results(message, link, now)
            elif kind == "TurnInfo":
                await self._on_turn_info(message, link, now)
            elif kind == "SpeechStarted":
                at = float(getattr(message, "timestamp", None) or 0.0)
                await self._emit(SpeechStarted(at_s=link.to_stream(at), received_at=now))
            elif kind == "UtteranceEnd":
                last = float(getattr(message, "last_word_end", None) or 0.0)
                await self._emit(UtteranceEnd(link.to_stream(last), received_at=now))
            elif kind == "Error":
                log.warning(
                    "Deepgram listen reported an error",
                    extra={"variant": getattr(message, "variant", None) or _message_code(message)},
                )
                await self._emit(
                    SpeechError("stt_error", "speech recognition reported an error", fatal=False)
                )
            # Metadata and anything newer carry nothing the session needs.
        if not self._closing:
            raise _Dropped(None, heard=link.heard)

    async def _on_results(self, message: Any, link: Link, now: float) -> None:
        channel = getattr(message, "channel", None)
        alternatives = getattr(channel, "alternatives", None) or []
        best = alternatives[0] if alternatives else None
        words = _words(getattr(best, "words", None), link)
        start = float(getattr(message, "start", None) or 0.0)
        end = start + float(getattr(message, "duration", None) or 0.0)
        is_final = bool(getattr(message, "is_final", False))
        if is_final and getattr(message, "from_finalize", False):
            self._finalize_unanswered = False
        await self._on_transcript(
            link,
            Transcript(
                text=str(getattr(best, "transcript", None) or ""),
                is_final=is_final,
                speech_final=bool(getattr(message, "speech_final", False)),
                start_s=start,
                end_s=end,
                words=words,
                received_at=now,
            ),
        )

    async def _on_turn_info(self, message: Any, link: Link, now: float) -> None:
        """Flux: a turn's transcript so far, interim while it changes and final at
        ``EndOfTurn``; ``StartOfTurn``, ``EagerEndOfTurn`` and ``TurnResumed`` become their
        events (an eager end after the transcript it was decided on)."""
        event = getattr(message, "event", None)
        text = str(getattr(message, "transcript", None) or "")
        words = _words(getattr(message, "words", None), link)
        start = float(getattr(message, "audio_window_start", None) or 0.0)
        end = float(getattr(message, "audio_window_end", None) or start)
        if event == "StartOfTurn":
            at = words[0].start_s if words else link.to_stream(start)
            await self._emit(SpeechStarted(at_s=at, received_at=now))
        elif event == "TurnResumed":
            await self._emit(TurnResumed(received_at=now))
        final = event == "EndOfTurn"
        if final or (text and text != self._last_interim):
            self._last_interim = "" if final else text
            if final:
                self._finalize_unanswered = False
            transcript = Transcript(text, final, final, start, end, words, now)
            await self._on_transcript(link, transcript)
        if event == "EagerEndOfTurn":
            last_word_end = words[-1].end_s if words else link.to_stream(end)
            eager = EagerEndOfTurn(text, last_word_end, now, words=tuple(words))
            await self._emit(eager)

    async def _on_transcript(self, link: Link, heard: Transcript) -> None:
        """Emit ``heard``, whose times are still in the connection's audio; a final one
        needs no replay of what it covers."""
        transcript = dataclasses.replace(
            heard, start_s=link.to_stream(heard.start_s), end_s=link.to_stream(heard.end_s)
        )
        if transcript.is_final:
            self._forget_until(transcript.end_s)
        await self._emit(transcript)


def _words(items: Any, link: Link) -> tuple[WordTiming, ...]:
    """Deepgram words (v1 Results or v2 TurnInfo) on the stream's clock."""
    return tuple(
        WordTiming(
            word=str(getattr(item, "punctuated_word", None) or getattr(item, "word", "")),
            start_s=link.to_stream(float(getattr(item, "start", None) or 0.0)),
            end_s=link.to_stream(float(getattr(item, "end", None) or 0.0)),
            confidence=float(getattr(item, "confidence", None) or 0.0),
        )
        for item in (items or [])
    )


def _message_code(message: Any) -> str | None:
    code = getattr(message, "code", None)
    return code if isinstance(code, str) else None


@dataclass(frozen=True, slots=True)
class ListenOptions:
    """How a ``DeepgramRecognizer`` reaches Deepgram, what it asks for and how it waits."""

    api_key: str = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    model: str = "nova-3"
    language: str | None = None
    endpointing_ms: int | None = 300
    utterance_end_ms: int | None = 1000
    keepalive_s: float = 5.0
    reconnect_delays_s: Sequence[float] = (0.2, 0.5, 1.0, 2.0)
    buffer_s: float = 30.0
    close_timeout_s: float = 1.0
    flux: bool = False
    flux_model: str = "flux-general-en"
    eot_threshold: float | None = None  # None: Deepgram's (0.7)
    eager_eot_threshold: float | None = EAGER_EOT_THRESHOLD  # None: no eager end of turn
    eot_timeout_ms: int | None = None  # None: Deepgram's (5000)
    send_chunk_ms: int = 80


class DeepgramRecognizer:
    """Live transcription by Deepgram; one socket (and its reconnects) per ``open``.

    ``filler_words=true`` is always asked for, so "um" and "uh" stay countable.
    ``endpointing_ms=None`` turns endpointing off; ``utterance_end_ms=None`` leaves out
    ``UtteranceEnd`` events.

    ``flux=True`` uses Flux (``/v2/listen``, ``flux_model``) instead: one transcript per
    turn, interim while it grows and final (``speech_final``) at Flux's ``EndOfTurn``;
    ``finalize`` sends ``ForceEndTurn``. Flux takes none of the v1 options above but its
    own: ``eot_threshold`` (the end-of-turn confidence that ends a turn),
    ``eager_eot_threshold`` (the lower one at which ``EagerEndOfTurn`` is emitted, and
    ``TurnResumed`` when speech comes back; None turns eager mode off) and
    ``eot_timeout_ms`` (the silence that ends a turn whatever the confidence). Whether
    Flux keeps filler words is not documented.
    """

    name = "deepgram"

    def __init__(self, options: ListenOptions) -> None:
        self.options = options  # frozen; its repr leaves the key out

    def __repr__(self) -> str:  # never show the key
        o = self.options
        model = o.flux_model if o.flux else o.model
        return f"DeepgramRecognizer(base_url={o.base_url!r}, model={model!r})"

    def connect_args(self, sample_rate: int) -> dict[str, Any]:
        """The keyword arguments of ``listen.v1.connect`` (``v2`` with ``flux``) for
        audio at ``sample_rate``."""
        o = self.options
        if o.flux:
            flux: dict[str, Any] = {
                "model": o.flux_model,
                "encoding": "linear16",
                "sample_rate": sample_rate,
                "eot_threshold": o.eot_threshold,
                "eager_eot_threshold": o.eager_eot_threshold,
                "eot_timeout_ms": o.eot_timeout_ms,
            }
            return {name: value for name, value in flux.items() if value is not None}
        args: dict[str, Any] = {
            "model": o.model,
            "encoding": "linear16",
            "sample_rate": sample_rate,
            "channels": 1,
            "interim_results": "true",
            "endpointing": "false" if o.endpointing_ms is None else o.endpointing_ms,
            "vad_events": "true",
            "smart_format": "true",
            "punctuate": "true",
            # The SDK has no argument for it: without it Deepgram drops "um" and "uh".
            "request_options": {"additional_query_parameters": {"filler_words": "true"}},
        }
        if o.utterance_end_ms is not None:
            args["utterance_end_ms"] = o.utterance_end_ms
        if o.language is not None:
            args["language"] = o.language
        return args

    async def open(self, *, sample_rate: int) -> DeepgramRecognitionStream:
        """Open a live transcription; raises ``ConnectionError`` if Deepgram can't be
        reached after the reconnect attempts (at once for a refused key)."""
        o = self.options
        http = http_client(10.0)
        stream = DeepgramRecognitionStream(
            make_client(o.api_key, o.base_url, http),
            self.connect_args(sample_rate),
            http=http,
            flux=o.flux,
            sample_rate=sample_rate,
            keepalive_s=o.keepalive_s,
            reconnect_delays_s=o.reconnect_delays_s,
            buffer_s=o.buffer_s,
            close_timeout_s=o.close_timeout_s,
            send_chunk_ms=o.send_chunk_ms,
        )
        await stream.start()
        return stream
