"""Kokoro synthesis with the real bundled model: intelligible speech (checked by the local
Whisper), streaming by sentence, barge-in, the phrase cache, and a free event loop."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.polling import eventually
from voices.kokoro import KokoroSynthesisStream, KokoroSynthesizer
from voices.kokoro_engine import KokoroOptions
from voices.models import resolve_kokoro
from voices.phrase_cache import PhraseCache
from voices.text_normalize import normalize, segments
from voices.types import AudioChunk, SpeechError, SynthesisDone, SynthesisEvent
from voices.whisper import WhisperOptions, bundled_whisper_model, shared_engine

QUESTIONS = [
    "Tell me about a time you led a project under a tight deadline.",
    "How did you handle a disagreement with a colleague about the design?",
    "What was the result in the end?",
]


# What these tests prepare and speak counts as generic, so it may go to disk.
GENERIC = (
    "Thank you.",
    "Got it, thanks.",
    "Could you walk me through one specific example of that?",
    *(f"Prepared sentence number {n}." for n in range(1, 9)),
)


def make_synthesizer(data_dir: Path, cache_dir: Path | None = None) -> KokoroSynthesizer:
    """A synthesizer on the bundled model (joined into ``data_dir``), caching phrases in
    ``cache_dir`` when given."""
    found = resolve_kokoro(data_dir=data_dir, prepare=False)
    synthesizer = KokoroSynthesizer(
        KokoroOptions(
            lambda: resolve_kokoro(data_dir=data_dir),
            model_id=found.model_id,
            threads=2,
            cache=(
                PhraseCache(cache_dir, generic=GENERIC, max_bytes=50 << 20) if cache_dir else None
            ),
        )
    )
    synthesizer.warm()
    return synthesizer


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("kokoro-data")


@pytest.fixture(scope="module")
def kokoro(data_dir: Path) -> Iterator[KokoroSynthesizer]:
    synthesizer = make_synthesizer(data_dir)
    yield synthesizer
    synthesizer.engine.close()


async def collect(stream: KokoroSynthesisStream, flushes: int = 1) -> list[SynthesisEvent]:
    """Events up to the ``flushes``-th SynthesisDone (or an error)."""
    events: list[SynthesisEvent] = []
    async with asyncio.timeout(120):
        async for event in stream.events():
            events.append(event)
            if isinstance(event, SpeechError):
                break
            if isinstance(event, SynthesisDone):
                flushes -= 1
                if flushes == 0:
                    break
    return events


def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.pcm"))


def pcm_of(events: list[SynthesisEvent]) -> bytes:
    return b"".join(e.pcm for e in events if isinstance(e, AudioChunk))


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z' ]", " ", normalize(text).lower().replace("-", " ")).split()


def word_error_rate(reference: str, heard: str) -> float:
    ref, hyp = words(reference), words(heard)
    row = list(range(len(hyp) + 1))
    for i, expected in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, got in enumerate(hyp, start=1):
            previous, row[j] = (
                row[j],
                min(row[j] + 1, row[j - 1] + 1, previous + (expected != got)),
            )
    return row[-1] / max(1, len(ref))


def test_segments_are_normalised_sentences() -> None:
    assert segments("Thank you. In 2019 we grew 40%! Next?") == [
        "Thank you.",
        "In twenty nineteen we grew forty percent!",
        "Next?",
    ]
    assert segments("  ") == []


async def test_speech_is_intelligible_to_the_local_whisper(kokoro: KokoroSynthesizer) -> None:
    stream = await kokoro.open(sample_rate=16000, voice="default")
    whisper = shared_engine(str(bundled_whisper_model()), WhisperOptions(cpu_threads=2))
    await whisper.load()
    rates = []
    try:
        for question in QUESTIONS:
            await stream.speak(question)
            await stream.flush()
            events = await collect(stream)
            assert all(e.sample_rate == 16000 for e in events if isinstance(e, AudioChunk))
            audio = (np.frombuffer(pcm_of(events), dtype="<i2") / 32768).astype(np.float32)
            assert 1.0 < len(audio) / 16000 < 10.0
            heard = (await whisper.submit(audio).future).text
            rates.append(word_error_rate(question, heard))
            assert rates[-1] <= 0.25, (question, heard)
    finally:
        await stream.close()
    assert sum(rates) / len(rates) <= 0.2


async def test_each_flush_ends_with_one_done_in_order(kokoro: KokoroSynthesizer) -> None:
    stream = await kokoro.open(sample_rate=24000, voice="jm_kumo")
    try:
        await stream.speak("Got it, thanks.")
        await stream.flush()
        await stream.speak("Tell me more. What happened next?")
        await stream.flush()
        events = await collect(stream, flushes=2)
        kinds = [type(e).__name__ for e in events]
        assert kinds.count("SynthesisDone") == 2 and kinds[-1] == "SynthesisDone"
        first_done = kinds.index("SynthesisDone")
        assert "AudioChunk" in kinds[:first_done] and "AudioChunk" in kinds[first_done:]
        # The second flush is two sentences: each is its own piece of audio.
        assert kinds[first_done + 1 :].count("AudioChunk") >= 2
    finally:
        await stream.close()


async def test_clear_drops_pending_speech_at_once(kokoro: KokoroSynthesizer) -> None:
    stream = await kokoro.open(sample_rate=24000, voice="default")
    try:
        # A short sentence, then one of sixty words that takes several seconds to make.
        await stream.speak(
            "This is the first sentence. " + "And this one goes on, " * 12 + "and on."
        )
        await stream.flush()
        async with asyncio.timeout(60):
            async for event in stream.events():
                if isinstance(event, AudioChunk):
                    break  # the candidate cuts in during the first sentence's audio
        await stream.clear()

        # The running inference stops at once (a fresh sentence would take seconds on a
        # loaded 2-core machine, the rest of the old text much longer).
        async def busy() -> bool:
            return kokoro.engine.busy()

        await eventually(busy, lambda running: not running, within=2)
        await stream.speak("Sure.")
        await stream.flush()
        events = await collect(stream)
        assert [type(e).__name__ for e in events].count("SynthesisDone") == 1
        # Only "Sure." is heard: well under a second of audio, and none of the old text.
        assert len(pcm_of(events)) / 2 / 24000 < 1.5
        assert kokoro.engine.pending() == (0, 0)
    finally:
        await stream.close()


async def test_the_event_loop_stays_free_while_synthesizing(kokoro: KokoroSynthesizer) -> None:
    stream = await kokoro.open(sample_rate=16000, voice="default")
    lags: list[float] = []
    done = asyncio.Event()

    async def probe() -> None:
        while not done.is_set():
            before = time.monotonic()
            await asyncio.sleep(0.005)
            lags.append(time.monotonic() - before - 0.005)

    task = asyncio.create_task(probe())
    try:
        await stream.speak(" ".join(QUESTIONS))
        await stream.flush()
        await collect(stream)
    finally:
        done.set()
        await task
        await stream.close()
    assert len(lags) > 50
    assert sorted(lags)[int(len(lags) * 0.99)] < 0.1, max(lags)


async def test_prepared_phrases_are_cache_hits_on_a_second_run(
    data_dir: Path, tmp_path: Path
) -> None:
    first = make_synthesizer(data_dir, tmp_path)
    phrases = ["Thank you.", "Could you walk me through one specific example of that?"]
    try:
        assert first.prepare(phrases) == 2
        cache = first.cache
        assert cache is not None
        keys = [first.cache_key(p, "jm_kumo") for p in phrases]

        async def cached() -> list[bool]:
            return [cache.contains(k) for k in keys]

        await eventually(cached, all, within=120)
        assert first.prepare(phrases) == 0  # nothing left to prepare
    finally:
        await first.aclose()

    second = make_synthesizer(data_dir, tmp_path)  # a new process starts like this
    stream = await second.open(sample_rate=16000, voice="default")
    try:
        started = time.monotonic()
        await stream.speak("Thank you.")
        await stream.flush()
        events = await collect(stream)
        first_audio_s = time.monotonic() - started
        assert stream.cache_hits == 1 and stream.synthesized == 0
        assert isinstance(events[0], AudioChunk) and events[0].sample_rate == 16000
        assert first_audio_s < 0.15, first_audio_s
        assert second.engine.synthesized == 0
    finally:
        await second.aclose()


async def test_private_sentences_stay_in_their_owners_memory(
    data_dir: Path, tmp_path: Path
) -> None:
    synthesizer = make_synthesizer(data_dir, tmp_path)
    cache = synthesizer.cache
    assert cache is not None
    private = "Hi, Zebedee, thanks for joining."
    mine = synthesizer.for_owner("interview-1")
    streams = []
    try:
        first = await mine.open(sample_rate=24000, voice="default")
        streams.append(first)
        await first.speak(f"{private} Thank you.")
        await first.flush()
        await collect(first)
        assert first.synthesized == 2
        # On disk: the generic sentence alone.
        written = cache_files(tmp_path)
        assert written == [cache.path(synthesizer.cache_key("Thank you.", "jm_kumo"))]
        # Another stream of the same interview (a reconnect taking over) finds it in
        # memory; another interview's stream does not.
        again = await mine.open(sample_rate=16000, voice="default")
        theirs = await synthesizer.for_owner("interview-2").open(sample_rate=24000, voice="default")
        streams += [again, theirs]
        for stream in (again, theirs):
            await stream.speak(private)
            await stream.flush()
            await collect(stream)
        assert (again.cache_hits, again.synthesized) == (1, 0)
        assert (theirs.cache_hits, theirs.synthesized) == (0, 1)
        assert cache.private_bytes() > 0
    finally:
        for stream in streams:
            await stream.close()
        await synthesizer.aclose()
    # Every stream closed: no private audio left in memory, none ever on disk.
    assert cache.private_bytes() == 0
    assert cache_files(tmp_path) == written


async def test_private_sentences_are_prepared_for_their_session(
    data_dir: Path, tmp_path: Path
) -> None:
    synthesizer = make_synthesizer(data_dir, tmp_path)
    cache = synthesizer.cache
    assert cache is not None
    question = "The role asks for experience with the Quarrington ledger."
    try:
        # Without an owner nobody could use it: not prepared at all.
        assert synthesizer.prepare([question]) == 0
        assert synthesizer.prepare([question, "Thank you."], owner="interview-1") == 2
        expected = cache.expect("interview-1")
        key, thanks = (synthesizer.cache_key(t, "jm_kumo") for t in (question, "Thank you."))

        async def prepared() -> bool:
            return cache.contains(key, expected) and cache.contains(thanks)

        await eventually(prepared, bool, within=120)
        assert cache_files(tmp_path) == [cache.path(thanks)]  # the generic one
        stream = await synthesizer.for_owner("interview-1").open(sample_rate=24000, voice="x")
        started = time.monotonic()
        await stream.speak(question)
        await stream.flush()
        await collect(stream)
        assert stream.cache_hits == 1 and time.monotonic() - started < 0.15
        await stream.close()
        assert cache.private_bytes() == 0

        # An interview deleted before its preparation ran: the work is skipped.
        synthesizer.engine.hold_preparation()
        assert synthesizer.prepare([question], owner="interview-2") == 1
        synthesizer.forget_owner("interview-2")
        made = synthesizer.engine.synthesized
        synthesizer.engine.release_preparation()

        async def idle() -> bool:
            return not synthesizer.engine.busy()

        await eventually(idle, bool, within=30)
        assert synthesizer.engine.synthesized == made and cache.private_bytes() == 0
    finally:
        await synthesizer.aclose()


async def test_live_speech_goes_before_preparation(data_dir: Path, tmp_path: Path) -> None:
    synthesizer = make_synthesizer(data_dir, tmp_path)
    try:
        queued = synthesizer.prepare([f"Prepared sentence number {n}." for n in range(1, 9)])
        assert queued == 8
        stream = await synthesizer.open(sample_rate=24000, voice="default")
        await stream.speak("Please go on.")
        await stream.flush()
        await collect(stream)
        # The live sentence was served while most preparation still waited.
        assert synthesizer.engine.pending()[1] >= 4
        await stream.close()
    finally:
        await synthesizer.aclose()


async def test_preparation_waits_while_the_candidate_speaks(data_dir: Path, tmp_path: Path) -> None:
    from voices.fakes import ScriptedRecognizer
    from voices.types import SpeechStarted
    from voices.yielding import YieldingRecognizer

    synthesizer = make_synthesizer(data_dir, tmp_path)
    recognizer = YieldingRecognizer(ScriptedRecognizer(), synthesizer.engine)
    stream = await recognizer.open(sample_rate=16000)
    scripted = recognizer.inner.stream  # type: ignore[attr-defined]
    heard: list[object] = []

    async def listen() -> None:
        async for event in stream.events():
            heard.append(event)

    listener = asyncio.create_task(listen())
    try:
        await asyncio.to_thread(synthesizer.engine.loaded.wait, 60)
        scripted.inject(SpeechStarted(at_s=0.0, received_at=time.monotonic()))

        async def holding() -> bool:
            return bool(heard)

        await eventually(holding, bool)
        assert synthesizer.prepare(["Thank you.", "Got it, thanks."]) == 2
        await asyncio.sleep(1.0)
        assert synthesizer.engine.prepared == 0  # the candidate is speaking
        assert synthesizer.engine.pending() == (0, 2)

        scripted.say("I led the migration.")  # a final transcript ends the utterance

        async def prepared() -> int:
            return synthesizer.engine.prepared

        await eventually(prepared, lambda count: count == 2, within=60)
    finally:
        await stream.close()
        await listener
        await synthesizer.aclose()
