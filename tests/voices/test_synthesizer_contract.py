"""What every ``SpeechSynthesizer`` does (``voices.types``), proven on each implementation:
the in-memory fake, Deepgram Aura through the real SDK against the fake Deepgram, and
Kokoro on its shipped weights. A new synthesizer joins by adding one entry to
``PROVIDERS``."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.deepgram import run_fake_deepgram
from tests.voices.streams import Played
from voices.fakes import ToneSynthesizer
from voices.types import AudioChunk, SpeechError, SpeechSynthesizer, SynthesisDone

RATE = 24000
HELLO = "Hello there."
QUESTION = "Tell me about a project you are proud of, and why it mattered to you."
# A short sentence, then one of sixty words that takes a while to make.
LONG = "This is the first sentence. " + "And this one goes on, " * 12 + "and on."


@dataclass(frozen=True)
class Provider:
    name: str
    start: Callable[[Path], AbstractAsyncContextManager[SpeechSynthesizer]]
    # Synthesis takes time, so a flush's audio is still pending when ``clear`` comes (the
    # tone fake makes all of a flush's audio at once: nothing is left to drop).
    streams_audio: bool = True


@asynccontextmanager
async def tone(_: Path) -> AsyncIterator[SpeechSynthesizer]:
    yield ToneSynthesizer()


@asynccontextmanager
async def aura(_: Path) -> AsyncIterator[SpeechSynthesizer]:
    from voices.deepgram_tts import AuraOptions, AuraSynthesizer

    async with run_fake_deepgram() as fake:
        yield AuraSynthesizer(AuraOptions(fake.api_key, fake.url))


@asynccontextmanager
async def kokoro(data_dir: Path) -> AsyncIterator[SpeechSynthesizer]:
    from voices.kokoro import KokoroSynthesizer
    from voices.kokoro_engine import KokoroOptions
    from voices.models import resolve_kokoro

    found = resolve_kokoro(data_dir=data_dir, prepare=False)
    synthesizer = KokoroSynthesizer(
        KokoroOptions(lambda: resolve_kokoro(data_dir=data_dir), model_id=found.model_id, threads=2)
    )
    try:
        yield synthesizer
    finally:
        synthesizer.engine.close()


PROVIDERS = [
    Provider("tone", tone, streams_audio=False),
    Provider("aura", aura),
    Provider("kokoro", kokoro),
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("contract-data")


@pytest.fixture(params=PROVIDERS, ids=[p.name for p in PROVIDERS])
def provider(request: pytest.FixtureRequest) -> Provider:
    assert isinstance(request.param, Provider)
    return request.param


def done_count(played: Played) -> int:  # flushes finished either way
    return played.count(SynthesisDone) + played.count(SpeechError)


async def test_each_flush_is_audio_at_the_rate_then_one_done(
    provider: Provider, data_dir: Path
) -> None:
    async with provider.start(data_dir) as synthesizer:
        stream = await synthesizer.open(sample_rate=RATE, voice="default")
        played = Played(stream)
        for text in (HELLO, QUESTION):
            await stream.speak(text)
            await stream.flush()
        await played.until(lambda p: done_count(p) == 2, within=120)
        await stream.close()
        await played.until(lambda p: p.ended, within=10)

    assert not played.of(SpeechError)
    first_done = played.events.index(SynthesisDone())
    for turn in (played.events[:first_done], played.events[first_done + 1 : -1]):
        chunks = [e for e in turn if isinstance(e, AudioChunk)]
        assert chunks and len(chunks) == len(turn)
        assert all(e.sample_rate == RATE and e.pcm and len(e.pcm) % 2 == 0 for e in chunks)
    assert isinstance(played.events[-1], SynthesisDone)


async def test_clear_drops_what_is_pending_and_the_next_turn_is_clean(
    provider: Provider, data_dir: Path
) -> None:
    async with provider.start(data_dir) as synthesizer:
        stream = await synthesizer.open(sample_rate=RATE, voice="default")
        played = Played(stream)
        await stream.speak(LONG)
        await stream.flush()
        await played.until(lambda p: p.count(AudioChunk) >= 1, within=120)
        await stream.speak("never flushed")
        await stream.clear()
        cleared = len(played.events)
        await stream.speak(HELLO)
        await stream.flush()
        await played.until(lambda p: SynthesisDone() in p.events[cleared:], within=120)
        await stream.close()
        await stream.close()  # idempotent
        await played.until(lambda p: p.ended, within=10)

    after = played.events[cleared:]
    assert not played.of(SpeechError)
    if provider.streams_audio:
        assert played.count(SynthesisDone) == 1  # none for the cleared flush
    assert isinstance(after[-1], SynthesisDone) and after[:-1]
    assert all(isinstance(e, AudioChunk) for e in after[:-1])
