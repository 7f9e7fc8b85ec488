"""PCM16 conversions and resampling shared by the speech adapters.

Audio on the wire is raw PCM16 little-endian mono (see ``voices.types``); the models work on
float32 samples in [-1, 1). Both resamplers interpolate linearly, which is speech-grade: the
one-shot one for whole synthesized pieces, the streaming one for live microphone audio whose
frames must join without a seam.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Samples = NDArray[np.float32]


def pcm16_to_float(pcm: bytes) -> Samples:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def float_to_pcm16(audio: Samples) -> bytes:
    return bytes((np.clip(audio, -1.0, 1.0) * 32767).astype("<i2").tobytes())


def resample(pcm: bytes, source_rate: int, target_rate: int) -> bytes:
    """PCM16 mono from one rate to another, in one piece."""
    if source_rate == target_rate or not pcm:
        return pcm
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    count = max(1, round(len(samples) * target_rate / source_rate))
    positions = np.arange(count, dtype=np.float64) * (source_rate / target_rate)
    out = np.interp(positions, np.arange(len(samples)), samples)
    return bytes(np.clip(out, -32768, 32767).astype("<i2").tobytes())


class StreamResampler:
    """Float samples from ``source_rate`` to ``target_rate``, continuous across calls: the
    samples an output point needs from the next call are kept until it comes."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self._step = source_rate / target_rate  # input samples per output sample
        self._position = 0.0  # of the next output sample, in ``_tail`` coordinates
        self._tail: Samples = np.zeros(0, np.float32)

    def __call__(self, samples: Samples) -> Samples:
        audio = np.concatenate([self._tail, samples]) if self._tail.size else samples
        last = audio.size - 1
        if last < self._position:
            self._tail = audio
            return np.zeros(0, np.float32)
        count = int((last - self._position) // self._step) + 1
        points = self._position + self._step * np.arange(count)
        out: Samples = np.interp(points, np.arange(audio.size), audio).astype(np.float32)
        following = self._position + self._step * count
        keep = int(following)
        self._tail = audio[keep:]
        self._position = following - keep
        return out
