"""The simulated candidates' voices: answers spoken by espeak-ng, as 16 kHz PCM16 frames.

Each answer is synthesised once and cached as a WAV file. Leading and trailing silence is
cut, so the first and the last 20 ms frame are speech, and pauses inside an answer are
shortened to ``MAX_PAUSE_S``: espeak-ng pauses about 0.45 s between sentences, which the
turn policy would rightly take for a thinking pause; these answers are fluent. Each
answer's length (``SpokenAnswer.seconds``) is what the fake Deepgram is told
(``utterance_seconds``), so that it finalizes the words of each piece between two pauses
as they are heard, whatever the endpointing.
"""

from __future__ import annotations

import hashlib
import math
import shutil
import subprocess
import sys
import tempfile
import wave
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SAMPLE_RATE: Final = 16000
FRAME_S: Final = 0.02
FRAME_BYTES: Final = int(SAMPLE_RATE * FRAME_S) * 2
SILENT_FRAME: Final = bytes(FRAME_BYTES)
# The fake Deepgram hears a 20 ms frame as speech at or above this RMS (its default).
SPEECH_THRESHOLD_RMS: Final = 500.0
MAX_PAUSE_S: Final = 0.2
VOICE: Final = "en-us"
WORDS_PER_MINUTE: Final = 160
_CACHE_VERSION: Final = "1"  # bump when the processing below changes

# Behavioural answers: each states a result and a number, so no follow-up is due.
ANSWERS: Final = (
    "I led the migration of our billing service to a new database, "
    "and it reduced checkout errors by forty percent within two months.",
    "When two teams disagreed about an interface, I ran a short design review, "
    "and we shipped the new version three weeks early.",
    "Our test suite took twenty minutes, so I split it into parallel jobs, "
    "which cut the wait to six minutes for every change.",
    "A customer reported lost data, so I traced the bug to a race in our cache, "
    "fixed it the same day, and added a test for it.",
    "I mentored two junior engineers through their first on-call rotation, "
    "and both of them now lead incident reviews on their own.",
)

# Finished answers to "tell me about a time …": the length such a question deserves
# (``pipeline.turns.TurnPolicy.story_words``, 30 words and more), as the cloud benchmark's
# transcript (``bench.fakes.DEFAULT_TRANSCRIPT``) is. What the offline benchmark speaks by
# default: its recognizer hears the real words, so a shorter answer waits for more.
FINISHED_ANSWERS: Final = (
    "I led the migration of our billing service to a new database. I planned it in small "
    "steps with a rollback for each one, and it reduced checkout errors by forty percent "
    "within two months.",
    "When two teams disagreed about an interface, I ran a short design review where each "
    "side wrote down its constraints. We agreed on a versioned contract, and we shipped "
    "the new version three weeks early.",
    "Our test suite took twenty minutes, which slowed every change down. I profiled it, "
    "split it into parallel jobs and removed the slowest fixtures, which cut the wait to "
    "six minutes for the whole team.",
    "A customer reported lost data, so I traced the bug to a race in our cache that only "
    "happened under load. I fixed it the same day, added a test that reproduced it, and "
    "we have not seen it since.",
    "I mentored two junior engineers through their first on-call rotation. We reviewed "
    "every incident together and wrote a short runbook, and both of them now lead "
    "incident reviews on their own.",
)


@dataclass(frozen=True)
class SpokenAnswer:
    text: str
    pcm: bytes  # PCM16 LE mono at SAMPLE_RATE, whole frames; first and last frame voiced

    @property
    def seconds(self) -> float:
        return len(self.pcm) / 2 / SAMPLE_RATE

    def frames(self) -> list[bytes]:
        return [self.pcm[i : i + FRAME_BYTES] for i in range(0, len(self.pcm), FRAME_BYTES)]


def check_tools() -> None:
    """Fail early, with an install hint, when espeak-ng or sox is missing."""
    missing = [tool for tool in ("espeak-ng", "sox") if shutil.which(tool) is None]
    if missing:
        raise SystemExit(
            f"bench needs {' and '.join(missing)} to make the candidates' voices: "
            "apt-get install -y espeak-ng sox"
        )


def spoken_answers(texts: Sequence[str], cache_dir: Path) -> list[SpokenAnswer]:
    """Each text as speech, synthesised on first use and read from ``cache_dir`` after."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    answers = []
    for text in texts:
        key = hashlib.sha256(f"{_CACHE_VERSION}|{VOICE}|{WORDS_PER_MINUTE}|{text}".encode())
        path = cache_dir / f"answer-{key.hexdigest()[:16]}.wav"
        if not path.exists():
            check_tools()
            write_wav(path, tighten(synthesize(text)))
        answers.append(SpokenAnswer(text, read_wav(path)))
    return answers


def synthesize(text: str, voice: str = VOICE, words_per_minute: int = WORDS_PER_MINUTE) -> bytes:
    """``text`` spoken by espeak-ng in ``voice``, as 16 kHz mono PCM16."""
    with tempfile.TemporaryDirectory(prefix="intrvuer-bench-") as scratch:
        raw, converted = Path(scratch) / "raw.wav", Path(scratch) / "16k.wav"
        espeak = ["espeak-ng", "-v", voice, "-s", str(words_per_minute), "-w", str(raw), text]
        subprocess.run(espeak, check=True, timeout=60, capture_output=True)
        # espeak-ng writes 22050 Hz; the protocol's default input rate is 16 kHz.
        sox = ["sox", str(raw), "-r", str(SAMPLE_RATE), "-c", "1", "-b", "16", str(converted)]
        subprocess.run(sox, check=True, timeout=60, capture_output=True)
        return read_wav(converted)


def read_wav(path: Path) -> bytes:
    with wave.open(str(path), "rb") as wav:
        shape = (wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
        if shape != (SAMPLE_RATE, 1, 2):
            raise ValueError(f"{path}: expected 16 kHz mono PCM16, found {shape}")
        return wav.readframes(wav.getnframes())


def write_wav(path: Path, pcm: bytes) -> None:
    """``pcm`` (16 kHz mono PCM16) as a WAV file, whole or absent."""
    partial = path.with_suffix(".tmp")
    with wave.open(str(partial), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(SAMPLE_RATE)
        wav.writeframes(pcm)
    partial.replace(path)


def frame_rms(frame: bytes) -> float:
    samples = array("h")
    samples.frombytes(frame)
    if sys.byteorder == "big":
        samples.byteswap()
    return math.sqrt(sum(s * s for s in samples) / max(len(samples), 1))


def tighten(pcm: bytes) -> bytes:
    """Cut leading and trailing silence and shorten inner pauses to ``MAX_PAUSE_S``,
    judging each 20 ms frame as the fake Deepgram does."""
    usable = len(pcm) - len(pcm) % FRAME_BYTES
    frames = [pcm[i : i + FRAME_BYTES] for i in range(0, usable, FRAME_BYTES)]
    voiced = [frame_rms(frame) >= SPEECH_THRESHOLD_RMS for frame in frames]
    if not any(voiced):
        raise ValueError("the synthesised answer has no frame loud enough to count as speech")
    first = voiced.index(True)
    last = len(voiced) - 1 - voiced[::-1].index(True)
    longest_pause = round(MAX_PAUSE_S / FRAME_S)
    kept: list[bytes] = []
    pause = 0
    for frame, is_voiced in zip(frames[first : last + 1], voiced[first : last + 1], strict=True):
        pause = 0 if is_voiced else pause + 1
        if pause <= longest_pause:
            kept.append(frame)
    return b"".join(kept)
