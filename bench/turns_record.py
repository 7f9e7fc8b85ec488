"""Recording what a recognizer hears in each benchmark answer, once, for every replay.

Each answer is spoken into a fresh stream of the real recognizer adapter in real time
(one 20 ms frame per 20 ms, as a microphone would), and every event is kept with its
arrival time. Recordings are cached as JSON beside the audio, keyed by the answer and the
recognizer's settings, so a second run replays at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.audio import FRAME_S, SAMPLE_RATE
from bench.processes import setting_default
from bench.turns_answers import SpokenTurnAnswer
from bench.turns_replay import HeardEvent
from voices.types import SpeechRecognizer, SpeechStarted, Transcript, UtteranceEnd

CLOSE_TIMEOUT_S = 10.0
# 2: finals keep their words (timings, confidences); 3: local words past the speech lose
# confidence. A recording of another version is made again.
RECORDING_VERSION = 3


@dataclass(frozen=True)
class Recording:
    answer: SpokenTurnAnswer
    events: tuple[HeardEvent, ...]


async def record_one(recognizer: SpeechRecognizer, spoken: SpokenTurnAnswer) -> list[HeardEvent]:
    stream = await recognizer.open(sample_rate=SAMPLE_RATE)
    heard: list[HeardEvent] = []
    started = time.monotonic()

    async def listen() -> None:
        # Stamped when delivered, as the session acts on them (an event made earlier may
        # be held back to keep the audio's order).
        async for event in stream.events():
            if isinstance(event, Transcript):
                end = event.words[-1].end_s if event.words else event.end_s
                heard.append(
                    HeardEvent(
                        at_s=round(time.monotonic() - started, 4),
                        kind="transcript",
                        text=event.text,
                        is_final=event.is_final,
                        speech_final=event.speech_final,
                        end_s=end,
                        words=event.words if event.is_final else (),
                    )
                )
            elif isinstance(event, SpeechStarted):
                heard.append(HeardEvent(round(time.monotonic() - started, 4), "speech_started"))
            elif isinstance(event, UtteranceEnd):
                heard.append(
                    HeardEvent(
                        round(time.monotonic() - started, 4),
                        "utterance_end",
                        end_s=event.last_word_end_s,
                    )
                )

    listener = asyncio.create_task(listen())
    try:
        for index, frame in enumerate(spoken.frames()):
            delay = started + index * FRAME_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await stream.send(frame)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(stream.close(), CLOSE_TIMEOUT_S)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(listener, CLOSE_TIMEOUT_S)
    return heard


async def record_all(
    name: str,
    recognizer: SpeechRecognizer,
    answers: Sequence[SpokenTurnAnswer],
    cache_dir: Path,
    *,
    settings_key: str,
    before_each: object = None,
) -> list[Recording]:
    """Recordings of every answer by ``recognizer``, from the cache where present.
    ``before_each`` (a callable taking the answer) runs before a fresh recording."""
    recordings = []
    for position, spoken in enumerate(answers, start=1):
        path = cache_dir / f"{name}-{settings_key}-{spoken.answer.key}-v{RECORDING_VERSION}.json"
        if path.exists():  # noqa: ASYNC240 - a small file, read once per run
            events = [HeardEvent.of(raw) for raw in json.loads(path.read_text())]
        else:
            print(f"{name}: recording answer {position}/{len(answers)} ...", file=sys.stderr)
            if callable(before_each):
                before_each(spoken)
            events = await record_one(recognizer, spoken)
            path.parent.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
            path.write_text(json.dumps([event.as_dict() for event in events]))  # noqa: ASYNC240
        recordings.append(Recording(spoken, tuple(events)))
    return recordings


async def local_recognizer(
    threads: int, data_dir: Path, *, pause_ms: int, end_ms: int
) -> SpeechRecognizer:
    """The offline recognizer as the server builds it (default settings, but for the VAD's
    ``pause_ms`` and ``end_ms``), loaded."""
    from voices.local_stt import LocalOptions, LocalRecognizer
    from voices.vad import EndpointerConfig
    from voices.whisper import WhisperOptions, resolve_whisper_model, shared_engine

    threshold = float(setting_default("vad_threshold"))
    endpointing = EndpointerConfig(
        threshold=threshold,
        silence_threshold=max(0.01, threshold - 0.15),
        pause_ms=pause_ms,
        end_ms=end_ms,
        long_silence_ms=int(setting_default("vad_utterance_end_ms")),
    )
    model, _ = resolve_whisper_model("", data_dir)
    window = float(setting_default("whisper_window_s"))
    engine = shared_engine(model, WhisperOptions(cpu_threads=threads, window_s=window))
    await engine.load()
    return LocalRecognizer(engine, LocalOptions(endpointing=endpointing))


def local_settings_key(*, pause_ms: int, end_ms: int) -> str:
    threshold = setting_default("vad_threshold")
    utterance_end = setting_default("vad_utterance_end_ms")
    return f"{threshold}-{pause_ms}-{end_ms}-{utterance_end}"
