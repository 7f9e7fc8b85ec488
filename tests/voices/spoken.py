"""Test speech: sentences spoken by espeak-ng, as PCM16 mono at 16 kHz (or espeak's own
22,050 Hz), with helpers to find where the voice starts and ends."""

from __future__ import annotations

import functools
import math
import re
import shutil
import subprocess
import tempfile
import wave
from array import array
from pathlib import Path

from tests.conftest import service_missing

RATE = 16000
ESPEAK_RATE = 22050
VOICE = "en-us"
WORDS_PER_MINUTE = 160


def silence(seconds: float, rate: int = RATE) -> bytes:
    return bytes(int(seconds * rate) * 2)


def _need(tool: str) -> None:
    if shutil.which(tool) is None:
        service_missing(tool, FileNotFoundError(f"apt-get install -y {tool}"))


@functools.lru_cache(maxsize=64)
def speech(text: str, rate: int = RATE) -> bytes:
    """``text`` spoken by espeak-ng, with its leading and trailing silence cut."""
    _need("espeak-ng")
    with tempfile.TemporaryDirectory(prefix="intrvuer-speech-") as scratch:
        raw, converted = Path(scratch) / "raw.wav", Path(scratch) / "converted.wav"
        subprocess.run(
            ["espeak-ng", "-v", VOICE, "-s", str(WORDS_PER_MINUTE), "-w", str(raw), text],
            check=True,
            capture_output=True,
            timeout=60,
        )
        path = raw
        if rate != ESPEAK_RATE:
            _need("sox")
            subprocess.run(
                ["sox", str(raw), "-r", str(rate), "-c", "1", "-b", "16", str(converted)],
                check=True,
                capture_output=True,
                timeout=60,
            )
            path = converted
        with wave.open(str(path), "rb") as wav:
            assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (rate, 1, 2)
            pcm = wav.readframes(wav.getnframes())
    first, last = voiced_span(pcm, rate)
    return pcm[first * 2 : last * 2]


def voiced_span(pcm: bytes, rate: int = RATE, threshold: float = 300.0) -> tuple[int, int]:
    """First and last sample (exclusive) of the 10 ms frames louder than ``threshold``."""
    samples = array("h")
    samples.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    step = rate // 100
    loud = [
        start
        for start in range(0, len(samples), step)
        if math.sqrt(sum(s * s for s in samples[start : start + step]) / step) >= threshold
    ]
    assert loud, "no voiced frame"
    return loud[0], min(len(samples), loud[-1] + step)


def frames(pcm: bytes, size: int = 640) -> list[bytes]:
    """``pcm`` cut into client-sized frames (20 ms at 16 kHz by default)."""
    return [pcm[i : i + size] for i in range(0, len(pcm), size)]


def normalized_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word-level edit distance over the reference's length."""
    ref, hyp = normalized_words(reference), normalized_words(hypothesis)
    previous = list(range(len(hyp) + 1))
    for i, expected in enumerate(ref, 1):
        current = [i]
        for j, heard in enumerate(hyp, 1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (expected != heard))
            )
        previous = current
    return previous[-1] / max(len(ref), 1)
