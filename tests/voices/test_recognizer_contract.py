"""What every ``SpeechRecognizer`` does (``voices.types``), proven on each implementation:
the in-memory fake, Deepgram (nova-3 and Flux) through the real SDK against the fake
Deepgram, and the local Whisper + Silero VAD models. A new recognizer joins by adding one
entry to ``PROVIDERS``."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

import pytest

from tests.fakes.deepgram import run_fake_deepgram, tone
from tests.voices.spoken import silence, speech
from tests.voices.streams import Heard
from voices.fakes import ScriptedRecognitionStream, ScriptedRecognizer
from voices.types import (
    EagerEndOfTurn,
    RecognitionStream,
    SpeechError,
    SpeechRecognizer,
    Transcript,
    TurnResumed,
)

RATE = 16000
FRAME = RATE * 20 // 1000 * 2  # bytes of 20 ms
ANSWER = "My team built a payment service in Python."

# Speaks ``text`` into an open stream the way this provider can hear it.
Speak = Callable[[RecognitionStream, str], Awaitable[None]]


@dataclass(frozen=True)
class Provider:
    name: str
    start: Callable[[], AbstractAsyncContextManager[tuple[SpeechRecognizer, Speak]]]
    exact: bool  # the transcript is the text itself (scripted), not what a model heard


async def send_frames(stream: RecognitionStream, audio: bytes) -> None:
    for offset in range(0, len(audio), FRAME):
        await stream.send(audio[offset : offset + FRAME])


@asynccontextmanager
async def scripted() -> AsyncIterator[tuple[SpeechRecognizer, Speak]]:
    async def speak(stream: RecognitionStream, text: str) -> None:
        await send_frames(stream, tone(0.8, RATE))
        assert isinstance(stream, ScriptedRecognitionStream)
        stream.say(text)

    yield ScriptedRecognizer(), speak


@asynccontextmanager
async def deepgram(*, flux: bool = False) -> AsyncIterator[tuple[SpeechRecognizer, Speak]]:
    from voices.deepgram_stt import DeepgramRecognizer, ListenOptions

    async with run_fake_deepgram() as fake:

        async def speak(stream: RecognitionStream, text: str) -> None:
            fake.script(text)
            await send_frames(stream, tone(0.8, RATE) + silence(1.2, RATE))

        options = ListenOptions(fake.api_key, fake.url, reconnect_delays_s=(0.01, 0.02), flux=flux)
        yield DeepgramRecognizer(options), speak


@asynccontextmanager
async def local() -> AsyncIterator[tuple[SpeechRecognizer, Speak]]:
    from voices.local_stt import LocalRecognizer
    from voices.whisper import resolve_whisper_model, shared_engine

    model, _ = resolve_whisper_model("")

    async def speak(stream: RecognitionStream, text: str) -> None:
        await send_frames(stream, silence(0.5) + speech(text) + silence(1.2))

    yield LocalRecognizer(shared_engine(model)), speak


PROVIDERS = [
    Provider("scripted", scripted, exact=True),
    Provider("deepgram", deepgram, exact=True),
    Provider("deepgram-flux", functools.partial(deepgram, flux=True), exact=True),
    Provider("local", local, exact=False),
]


@pytest.fixture(params=PROVIDERS, ids=[p.name for p in PROVIDERS])
def provider(request: pytest.FixtureRequest) -> Provider:
    assert isinstance(request.param, Provider)
    return request.param


def words(text: str) -> list[str]:
    return text.lower().replace(",", " ").replace(".", " ").split()


async def test_speech_becomes_a_final_transcript_with_timed_words(provider: Provider) -> None:
    async with provider.start() as (recognizer, speak):
        stream = await recognizer.open(sample_rate=RATE)
        heard = Heard(stream)
        await speak(stream, ANSWER)
        await heard.until(lambda h: bool(h.worded_finals), within=60)
        await stream.close()
        await heard.until(lambda h: h.ended, within=10)

    [final] = heard.worded_finals
    if provider.exact:
        assert final.text == ANSWER
    else:
        assert len(set(words(final.text)) & set(words(ANSWER))) >= 5, final.text
    assert final.speech_final and final.words
    assert final.start_s <= final.words[0].start_s
    assert all(w.start_s <= w.end_s for w in final.words)
    assert [w.start_s for w in final.words] == sorted(w.start_s for w in final.words)
    assert final.received_at > 0
    assert not heard.of(SpeechError)
    # An eager end of turn (Flux) is always settled: withdrawn, or confirmed by a final.
    for index, event in enumerate(heard.events):
        if isinstance(event, EagerEndOfTurn):
            assert any(
                isinstance(later, TurnResumed)
                or (isinstance(later, Transcript) and later.speech_final)
                for later in heard.events[index + 1 :]
            )


async def test_close_is_idempotent_and_ends_the_events(provider: Provider) -> None:
    async with provider.start() as (recognizer, _):
        stream = await recognizer.open(sample_rate=RATE)
        heard = Heard(stream)
        await stream.send(b"")  # an empty frame is nothing
        await stream.finalize()
        await stream.close()
        await stream.close()
        await heard.until(lambda h: h.ended, within=10)
        await stream.send(silence(0.1))  # after close: ignored, no error
    assert not heard.of(SpeechError)
