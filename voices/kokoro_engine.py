"""The Kokoro-82M model and the one worker thread that runs it, shared by every stream.

Requests wait in two bounded queues: live speech first, preparation of phrases for later
(the phrase cache) second; a live request arriving while a preparation runs stops that run
at once (onnxruntime's terminate flag) and the preparation starts over later. Long
sentences are cut into phoneme batches of at most ``MAX_BATCH_PHONEMES``, which bounds the
memory one inference needs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from voices.audio import float_to_pcm16
from voices.models import KokoroFiles
from voices.phrase_cache import PhraseCache, PhraseKey, PhraseOwner

try:
    import onnxruntime as ort
    from kokoro_onnx import Kokoro
    from kokoro_onnx.chunker import split_phonemes
    from kokoro_onnx.trim import trim as trim_silence
except ImportError as missing:  # pragma: no cover - depends on the installation
    raise ImportError(
        "Kokoro speech synthesis needs kokoro-onnx and onnxruntime: pip install -e ."
    ) from missing

log = logging.getLogger("intrvuer.voices.kokoro")
# phonemizer warns on every sentence whose word count changed in phonemization (normal
# for punctuation); that says nothing an operator can act on.
logging.getLogger("phonemizer").setLevel(logging.ERROR)

MODEL_RATE = 24000
LANGUAGE = "en-us"
# Inference memory grows with the square of the batch length; 250 phonemes is a long
# sentence (about 40 words), so one batch stays near 100 MB of activations.
MAX_BATCH_PHONEMES = 250
BATCH_PAUSE_S = 0.12  # silence where a long sentence was cut into batches
LIVE_QUEUE_MAX = 64  # sentences waiting for live synthesis; past it a request fails
PREPARE_QUEUE_MAX = 512  # phrases waiting to be prepared; past it new ones are dropped


@dataclass(eq=False)
class Request:
    """One sentence to synthesize (no key: a warm-up that only loads the model).
    ``on_audio``/``on_done`` run in the worker thread."""

    text: str
    voice: str
    speed: float
    cache_key: PhraseKey | None
    live: bool
    on_audio: Callable[[bytes], None] = lambda pcm: None
    on_done: Callable[[BaseException | None], None] = lambda error: None
    owner: PhraseOwner | None = None  # whose private sentence this is
    cancelled: bool = False
    preempted: bool = False
    run_options: Any = field(default_factory=lambda: ort.RunOptions())


@dataclass(frozen=True, slots=True)
class KokoroOptions:
    """How a Kokoro synthesizer and its engine run: one record both are built from."""

    files: Callable[[], KokoroFiles]  # called once, in the worker, when the model loads
    model_id: str
    voice: str = "jm_kumo"  # what "default" sounds like
    speed: float = 1.0
    threads: int = 0  # 0: default_threads()
    memory_arena: bool = True
    cache: PhraseCache | None = None
    # While it answers True, no phrase preparation starts (``voices.whisper.recognition_busy``).
    defer_preparation: Callable[[], bool] = lambda: False


class KokoroEngine:
    """The model and its worker thread; shared by every stream of the process."""

    def __init__(self, options: KokoroOptions) -> None:
        self._files = options.files
        self._defer = options.defer_preparation
        self.model_id = options.model_id
        self.threads = options.threads or default_threads()
        self.memory_arena = options.memory_arena
        self.cache = options.cache
        self.kokoro: Kokoro | None = None
        self.load_error: BaseException | None = None
        self.loaded = threading.Event()
        self.synthesized = 0  # sentences made by the model
        self.prepared = 0  # of which for the phrase cache
        self.synthesis_s = 0.0
        self.audio_s = 0.0
        self._live: deque[Request] = deque()
        self._prepare: deque[Request] = deque()
        self._current: Request | None = None
        self._holds = 0  # candidates speaking now: preparation waits for them
        self._condition = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="kokoro-synthesis", daemon=True)
        self._thread.start()

    # Requests (any thread) -----------------------------------------------------------

    def submit(self, request: Request) -> bool:
        """Queue a request; False when its queue is full (or the engine is closed)."""
        with self._condition:
            if self._closed:
                return False
            if request.live:
                if len(self._live) >= LIVE_QUEUE_MAX:
                    return False
                self._live.append(request)
                current = self._current
                if current is not None and not current.live:
                    # Live speech goes first: stop the preparation now, redo it later.
                    current.preempted = True
                    current.run_options.terminate = True
            else:
                if len(self._prepare) >= PREPARE_QUEUE_MAX:
                    return False
                self._prepare.append(request)
            self._condition.notify()
        return True

    def hold_preparation(self) -> None:
        """A candidate started speaking: their recognition needs the CPU more than the
        phrase cache does. Stops a running preparation (it is redone later) and starts
        no other until every hold is released."""
        with self._condition:
            self._holds += 1
            current = self._current
            if current is not None and not current.live:
                current.preempted = True
                current.run_options.terminate = True

    def release_preparation(self) -> None:
        with self._condition:
            self._holds = max(0, self._holds - 1)
            self._condition.notify()

    def cancel(self, request: Request) -> None:
        """Drop a request, stopping its inference if it is running."""
        request.cancelled = True
        request.run_options.terminate = True

    def busy(self) -> bool:
        """Whether a request is running or waiting."""
        with self._condition:
            return self._current is not None or bool(self._live or self._prepare)

    def pending(self) -> tuple[int, int]:
        with self._condition:
            return len(self._live), len(self._prepare)

    def close(self) -> None:
        with self._condition:
            self._closed = True
            dropped = [*self._live, *self._prepare]
            self._live.clear()
            self._prepare.clear()
            if self._current is not None:
                self.cancel(self._current)
            self._condition.notify_all()
        for request in dropped:
            request.cancelled = True
            request.on_done(None)
        self._thread.join(timeout=10)

    # The worker thread -----------------------------------------------------------------

    def _next(self) -> Request | None:
        with self._condition:
            while not (self._closed or self._live or self._may_prepare()):
                # ``defer_preparation`` has no event to wait on: look again shortly.
                self._condition.wait(timeout=0.05 if self._prepare else None)
            if self._closed:
                return None
            request = self._live.popleft() if self._live else self._prepare.popleft()
            self._current = request
            return request

    def _may_prepare(self) -> bool:
        return bool(self._prepare) and not self._holds and not self._defer()

    def _work(self) -> None:
        while (request := self._next()) is not None:
            error: BaseException | None = None
            try:
                if not request.cancelled:
                    self._serve(request)
            except Exception as failure:  # reported to the stream as a SpeechError
                error = failure
            finally:
                with self._condition:
                    self._current = None
                    requeue = request.preempted and not request.cancelled and not self._closed
                    if requeue:
                        request.preempted = False
                        request.run_options = ort.RunOptions()
                        self._prepare.appendleft(request)
            if requeue:
                continue
            if error is not None and not request.cancelled:
                log.warning(
                    "speech synthesis failed",
                    extra={"error": f"{error.__class__.__name__}: {error}"[:300]},
                )
            request.on_done(None if request.cancelled else error)

    def _load(self) -> Kokoro:
        if self.kokoro is not None:
            return self.kokoro
        if self.load_error is not None:
            raise self.load_error
        try:
            started = time.monotonic()
            files = self._files()
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            # The arena keeps every buffer it ever grew to, yet it is the smaller choice:
            # measured on 2 cores with 250-phoneme batches, a 480-character text peaked
            # at 598 MB RSS with the arena and 2,230 MB without it (every run then goes
            # through malloc, whose fragmentation costs more than the arena keeps). What
            # bounds memory is MAX_BATCH_PHONEMES (docs/voices.md).
            options.enable_cpu_mem_arena = self.memory_arena
            # Idle pool threads would otherwise spin for a while after each run, taking
            # cores that the event loop and speech recognition need on a small machine.
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(
                str(files.model), sess_options=options, providers=["CPUExecutionProvider"]
            )
            kokoro = Kokoro.from_session(session, str(files.voices))
            # kokoro-onnx keeps the .npz archive open and reads a voice from it at each
            # request; the styles are read once here and the file closed, so no handle
            # is left for the garbage collector and no thread shares the zip reader.
            archive = kokoro.voices
            kokoro.voices = {name: archive[name] for name in archive.files}
            archive.close()
            self.kokoro = kokoro
            log.info(
                "kokoro model loaded",
                extra={
                    "source": files.source,
                    "threads": self.threads,
                    "load_ms": round((time.monotonic() - started) * 1000),
                },
            )
        except Exception as failure:
            self.load_error = failure
            raise
        finally:
            self.loaded.set()
        return self.kokoro

    def voices(self) -> list[str]:
        return list(self.kokoro.get_voices()) if self.kokoro is not None else []

    def _serve(self, request: Request) -> None:
        cache, key = self.cache, request.cache_key
        if (
            not request.live
            and cache is not None
            and key is not None
            # Made since it was queued, or its owner's session is over: nothing to do.
            and (cache.contains(key, request.owner) or not cache.keeps(key, request.owner))
        ):
            return
        kokoro = self._load()
        if key is None:
            return  # a warm-up request: loading was the point
        started = time.monotonic()
        voice = kokoro.voices[request.voice]
        phonemes = " ".join(kokoro.tokenizer.phonemize(request.text, LANGUAGE).split())
        batches = split_phonemes(phonemes, MAX_BATCH_PHONEMES)
        pieces: list[bytes] = []
        for index, batch in enumerate(batches):
            if request.cancelled or request.preempted:
                return
            tokens = kokoro.tokenizer.tokenize(batch)
            if not tokens:
                continue
            style = voice[min(len(tokens), len(voice)) - 1]
            inputs = {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": np.asarray(style, dtype=np.float32).reshape(1, -1),
                "speed": np.array([request.speed], dtype=np.float32),
            }
            try:
                outputs = kokoro.sess.run(None, inputs, request.run_options)
            except Exception:
                if request.cancelled or request.preempted:
                    return
                raise
            audio, _ = trim_silence(np.asarray(outputs[0], dtype=np.float32).ravel())
            if index < len(batches) - 1:
                audio = np.concatenate(
                    [audio, np.zeros(int(BATCH_PAUSE_S * MODEL_RATE), np.float32)]
                )
            pcm = float_to_pcm16(audio)
            pieces.append(pcm)
            if request.live:
                request.on_audio(pcm)
        whole = b"".join(pieces)
        self.synthesized += 1
        self.prepared += 0 if request.live else 1
        self.synthesis_s += time.monotonic() - started
        self.audio_s += len(whole) / 2 / MODEL_RATE
        if cache is not None and whole:
            cache.put(key, whole, MODEL_RATE, request.owner)


def default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))
