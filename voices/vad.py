"""Voice activity detection: Silero VAD run frame by frame, and an endpointer on top of it.

The Silero model (``silero_vad_v6.onnx``) ships inside the ``faster-whisper`` package. It
takes 512-sample frames of 16 kHz audio (32 ms), each preceded by the last 64 samples of
the frame before, and carries a recurrent state (``h``, ``c``) from frame to frame; the
batch dimension of its input is time, so several frames can go in one call with the state
carried through them. One ``onnxruntime`` session is shared by the whole process; each
stream keeps its own state in a ``VadStream``.

``Endpointer`` turns the per-frame speech probabilities into utterance events, in samples
of the stream: speech started, a short pause (time to start transcribing speculatively),
speech resumed (drop that speculation), the utterance ended, and a long silence.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np

from voices.audio import Samples

VAD_RATE: Final = 16000
FRAME_SAMPLES: Final = 512  # 32 ms at 16 kHz
CONTEXT_SAMPLES: Final = 64
STATE_SHAPE: Final = (1, 1, 128)


def silero_model_path() -> Path:
    """The Silero VAD model that ships inside faster-whisper."""
    try:
        import faster_whisper
    except ImportError as missing:  # pragma: no cover - a default dependency
        raise ImportError(
            "local speech recognition needs faster-whisper: pip install faster-whisper"
        ) from missing
    return Path(faster_whisper.__file__).parent / "assets" / "silero_vad_v6.onnx"


class SileroVad:
    """The Silero VAD model on one onnxruntime session, safe to share between threads."""

    def __init__(self, path: Path | None = None) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # A frame costs well under a millisecond: more threads would only add contention
        # with speech synthesis and recognition on small machines.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.enable_cpu_mem_arena = False
        options.log_severity_level = 4
        self._session: Any = onnxruntime.InferenceSession(
            str(path or silero_model_path()),
            providers=["CPUExecutionProvider"],
            sess_options=options,
        )

    def stream(self) -> VadStream:
        return VadStream(self)

    def run(self, frames: Samples, h: Samples, c: Samples) -> tuple[Samples, Samples, Samples]:
        """Speech probability of each row of ``frames`` (context + frame), and the state."""
        probabilities, h, c = self._session.run(None, {"input": frames, "h": h, "c": c})
        return np.asarray(probabilities, np.float32).reshape(-1), h, c


_shared_lock = threading.Lock()
_shared: SileroVad | None = None


def shared_vad() -> SileroVad:
    """The process-wide Silero session (made on first use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = SileroVad()
        return _shared


class VadStream:
    """One audio stream's VAD state: give it 16 kHz samples, get one probability per
    complete 32 ms frame (samples short of a frame wait for the next call)."""

    def __init__(self, model: SileroVad) -> None:
        self._model = model
        self._h: Samples = np.zeros(STATE_SHAPE, np.float32)
        self._c: Samples = np.zeros(STATE_SHAPE, np.float32)
        self._context: Samples = np.zeros(CONTEXT_SAMPLES, np.float32)
        self._rest: Samples = np.zeros(0, np.float32)

    def probabilities(self, samples: Samples) -> Samples:
        audio = np.concatenate([self._rest, samples]) if self._rest.size else samples
        whole = audio.size - audio.size % FRAME_SAMPLES
        self._rest = audio[whole:].copy()
        if whole == 0:
            return np.zeros(0, np.float32)
        frames = audio[:whole].reshape(-1, FRAME_SAMPLES)
        contexts = np.concatenate([self._context[None, :], frames[:-1, -CONTEXT_SAMPLES:]])
        self._context = frames[-1, -CONTEXT_SAMPLES:].copy()
        rows = np.ascontiguousarray(np.concatenate([contexts, frames], axis=1), np.float32)
        probabilities, self._h, self._c = self._model.run(rows, self._h, self._c)
        return probabilities


class Boundary(enum.Enum):
    SPEECH_STARTED = "speech_started"
    PAUSED = "paused"  # a short silence: worth transcribing what was said so far
    RESUMED = "resumed"  # speech again after a pause, before the utterance ended
    ENDED = "ended"  # silence long enough to end the utterance
    LONG_SILENCE = "long_silence"  # no speech for a while after the utterance


@dataclass(frozen=True, slots=True)
class VadEvent:
    boundary: Boundary
    sample: int  # where it happened, in samples of the stream at 16 kHz
    speech_start: int  # the utterance's first voiced sample
    speech_end: int  # the end of its last voiced frame so far


@dataclass(frozen=True, slots=True)
class EndpointerConfig:
    threshold: float = 0.5  # a frame at or above it is speech
    # Below this a frame in an utterance counts as silence; between the two it keeps the
    # utterance going without ending a pause (Silero's usual hysteresis).
    silence_threshold: float = 0.35
    min_speech_ms: int = 64  # voiced time before speech counts as started (a click is not)
    pause_ms: int = 100  # silence that starts a speculative transcription
    end_ms: int = 300  # silence that ends the utterance
    long_silence_ms: int = 1000  # silence after which UtteranceEnd is sent

    def __post_init__(self) -> None:
        if not 0.0 < self.silence_threshold <= self.threshold < 1.0:
            raise ValueError("VAD thresholds must satisfy 0 < silence <= speech < 1")
        if not 0 < self.pause_ms <= self.end_ms <= self.long_silence_ms:
            raise ValueError("VAD silences must satisfy 0 < pause <= end <= long silence")


def _frames(ms: int) -> int:
    return max(1, round(ms * VAD_RATE / 1000 / FRAME_SAMPLES))


class Endpointer:
    """Utterance boundaries from per-frame speech probabilities (pure state, no I/O)."""

    def __init__(self, config: EndpointerConfig | None = None) -> None:
        self.config = config or EndpointerConfig()
        self._min_speech = _frames(self.config.min_speech_ms)
        self._pause = _frames(self.config.pause_ms)
        self._end = _frames(self.config.end_ms)
        self._long = _frames(self.config.long_silence_ms)
        self.frame_index = 0  # frames seen so far
        self.in_utterance = False
        self._voiced_run = 0  # consecutive voiced frames before an utterance started
        self._silent_run = 0  # consecutive silent frames inside or after an utterance
        self._paused = False
        self._after_utterance = False  # ended; waiting for the long silence
        self._speech_start = 0
        self._speech_end = 0

    def feed(self, probabilities: Samples) -> list[VadEvent]:
        events: list[VadEvent] = []
        for probability in probabilities.tolist():
            self._step(float(probability), events)
        return events

    @property
    def speech_end(self) -> int:
        """The end of the last voiced frame of the current (or last) utterance."""
        return self._speech_end

    def reset(self) -> None:
        """Forget the current utterance (it was finalized on request)."""
        self.in_utterance = False
        self._voiced_run = 0
        self._silent_run = 0
        self._paused = False
        self._after_utterance = False

    def _event(self, boundary: Boundary, sample: int) -> VadEvent:
        return VadEvent(boundary, sample, self._speech_start, self._speech_end)

    def _step(self, probability: float, events: list[VadEvent]) -> None:
        config = self.config
        start = self.frame_index * FRAME_SAMPLES
        self.frame_index += 1
        end = start + FRAME_SAMPLES
        if not self.in_utterance:
            if probability >= config.threshold:
                self._voiced_run += 1
                if self._voiced_run >= self._min_speech:
                    self.in_utterance = True
                    self._after_utterance = False
                    self._silent_run = 0
                    self._speech_start = end - self._voiced_run * FRAME_SAMPLES
                    self._speech_end = end
                    events.append(self._event(Boundary.SPEECH_STARTED, self._speech_start))
                return
            self._voiced_run = 0
            if self._after_utterance:
                self._silent_run += 1
                if self._silent_run >= self._long:
                    self._after_utterance = False
                    events.append(self._event(Boundary.LONG_SILENCE, end))
            return
        if probability >= config.threshold:
            self._speech_end = end
            self._silent_run = 0
            if self._paused:
                self._paused = False
                events.append(self._event(Boundary.RESUMED, start))
            return
        if probability >= config.silence_threshold and self._silent_run == 0:
            self._speech_end = end  # fading speech still belongs to the utterance
            return
        self._silent_run += 1
        if self._silent_run == self._pause and not self._paused:
            self._paused = True
            events.append(self._event(Boundary.PAUSED, end))
        if self._silent_run >= self._end:
            self.in_utterance = False
            self._paused = False
            self._voiced_run = 0
            self._after_utterance = True
            events.append(self._event(Boundary.ENDED, end))
