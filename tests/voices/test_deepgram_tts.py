"""Deepgram Aura synthesis through the real deepgram-sdk and the fake Deepgram."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
from tests.polling import eventually
from tests.voices import streams
from voices.deepgram_tts import AuraOptions, AuraSynthesisStream, AuraSynthesizer, _WavStripper
from voices.types import AudioChunk, SpeechError, SynthesisDone

RATE = 24000
HELLO = "Hello there."
QUESTION = "Tell me about a project you are proud of, and why it mattered to you."


class Played(streams.Played):
    """What the Aura stream produced, and its audio per flush."""

    def turns(self, start: int = 0) -> list[bytes | SpeechError]:
        """The audio of each finished flush (or its error), from event ``start`` on."""
        turns: list[bytes | SpeechError] = []
        audio = bytearray()
        for event in self.events[start:]:
            if isinstance(event, AudioChunk):
                assert event.sample_rate == RATE
                audio += event.pcm
            elif isinstance(event, SynthesisDone):
                turns.append(bytes(audio))
                audio.clear()
            else:
                turns.append(event)
        assert not audio, "audio after the last SynthesisDone"
        return turns


@pytest.fixture
async def fake() -> AsyncIterator[FakeDeepgram]:
    async with run_fake_deepgram() as running:
        yield running


@asynccontextmanager
async def speaking(
    fake: FakeDeepgram, voice: str = "default", **options: Any
) -> AsyncIterator[tuple[AuraSynthesisStream, Played]]:
    synthesizer = AuraSynthesizer(AuraOptions(fake.api_key, fake.url, **options))
    stream = await synthesizer.open(sample_rate=RATE, voice=voice)
    played = Played(stream)
    try:
        yield stream, played
    finally:
        await stream.close()
        await played.until(lambda p: p.ended)
        await played.stop()


async def say(stream: AuraSynthesisStream, *texts: str) -> None:
    for text in texts:
        await stream.speak(text)
    await stream.flush()


def texts_sent(fake: FakeDeepgram) -> list[str]:
    socket = [text for log in fake.speak_connections for text in log.texts]
    return socket + [request.text or "" for request in fake.rest_requests]


async def test_each_flush_gets_its_audio_then_exactly_one_done(fake: FakeDeepgram) -> None:
    async with speaking(fake) as (stream, played):
        await say(stream, HELLO)
        await say(stream, "Let's begin. ", QUESTION)
        await stream.flush()  # nothing spoken since: done at once, in its turn
        await played.until(lambda p: p.count(SynthesisDone) == 3)
        assert played.turns() == [
            fake.speech_for(HELLO, RATE),
            fake.speech_for("Let's begin. " + QUESTION, RATE),
            b"",
        ]
    [log] = fake.speak_connections
    assert log.query == {
        "model": "aura-2-thalia-en",
        "encoding": "linear16",
        "sample_rate": "24000",
    }
    assert list(log.texts) == [HELLO, "Let's begin. ", QUESTION]
    assert (log.flushes, log.clears, log.ended) == (2, 0, "close")
    assert [m["type"] for m in log.messages][-1] == "Close"
    assert not fake.rest_requests


async def test_an_aura_voice_picks_the_model(fake: FakeDeepgram) -> None:
    async with speaking(fake, voice="aura-2-apollo-en") as (stream, played):
        await say(stream, HELLO)
        await played.until(lambda p: p.count(SynthesisDone) == 1)
    assert fake.speak_connections[0].query["model"] == "aura-2-apollo-en"


async def test_clear_drops_pending_audio_and_the_next_turn_is_clean(fake: FakeDeepgram) -> None:
    fake.speak_chunk_delay_ms = 10  # the long question takes a while to arrive
    async with speaking(fake) as (stream, played):
        await say(stream, QUESTION)
        await played.until(lambda p: p.count(AudioChunk) >= 2)
        await stream.speak("never flushed")
        await stream.clear()
        mark = len(played.events)
        await say(stream, HELLO)
        await played.until(lambda p: p.count(SynthesisDone) >= 1)
        assert played.turns(mark) == [fake.speech_for(HELLO, RATE)]
        assert played.count(SynthesisDone) == 1  # none for the cleared flush
        heard = sum(len(e.pcm) for e in played.events[:mark] if isinstance(e, AudioChunk))
        assert heard < len(fake.speech_for(QUESTION, RATE))
    [log] = fake.speak_connections
    assert log.clears == 1 and list(log.texts) == [QUESTION, HELLO]
    assert [m["type"] for m in log.messages][:4] == ["Speak", "Flush", "Clear", "Speak"]


async def test_a_refused_websocket_falls_back_to_rest(fake: FakeDeepgram) -> None:
    fake.speak_refuse_status = 503
    async with speaking(fake) as (stream, played):
        await say(stream, HELLO)
        await say(stream, QUESTION)
        await played.until(lambda p: p.count(SynthesisDone) == 2)
        assert played.turns() == [fake.speech_for(HELLO, RATE), fake.speech_for(QUESTION, RATE)]
    assert not fake.speak_connections
    first = fake.rest_requests[0]
    assert first.query == {
        "model": "aura-2-thalia-en",
        "encoding": "linear16",
        "sample_rate": "24000",
        "container": "none",
    }
    assert texts_sent(fake) == [HELLO, QUESTION]


async def test_the_websocket_is_tried_again_after_the_cool_down(fake: FakeDeepgram) -> None:
    fake.speak_refuse_status = 503
    async with speaking(fake, retry_socket_after_s=0.0) as (stream, played):
        await say(stream, HELLO)
        await played.until(lambda p: p.count(SynthesisDone) == 1)
        fake.speak_refuse_status = None
        await say(stream, QUESTION)
        await played.until(lambda p: p.count(SynthesisDone) == 2)
        assert played.turns() == [fake.speech_for(HELLO, RATE), fake.speech_for(QUESTION, RATE)]
    assert [r.text for r in fake.rest_requests] == [HELLO]
    assert list(fake.speak_connections[0].texts) == [QUESTION]


async def test_a_websocket_dropped_mid_turn_is_finished_over_rest(fake: FakeDeepgram) -> None:
    fake.speak_drop_next = 1  # the socket dies after its first audio chunk
    async with speaking(fake) as (stream, played):
        await say(stream, QUESTION)
        await played.until(lambda p: p.count(SynthesisDone) == 1)
        await say(stream, HELLO)  # within the cool-down: REST again
        await played.until(lambda p: p.count(SynthesisDone) == 2)
        # REST picked up where the socket stopped: the audio is whole, nothing twice.
        assert played.turns() == [fake.speech_for(QUESTION, RATE), fake.speech_for(HELLO, RATE)]
        assert not played.count(SpeechError)
    [dropped] = fake.speak_connections
    assert dropped.ended == "dropped" and dropped.audio_bytes_sent == 2 * RATE * 40 // 1000
    assert texts_sent(fake) == [QUESTION, QUESTION, HELLO]


async def test_warming_reopens_a_closed_websocket_before_the_next_flush(
    fake: FakeDeepgram,
) -> None:
    async def sockets() -> int:
        return len(fake.speak_connections)

    fake.speak_drop_next = 1
    async with speaking(fake, retry_socket_after_s=0.0) as (stream, played):
        await eventually(sockets, lambda n: n == 1)
        stream.warm()  # open: nothing to do
        await say(stream, QUESTION)  # the socket dies; REST finishes the turn
        await played.until(lambda p: p.count(SynthesisDone) == 1)
        assert len(fake.speak_connections) == 1
        stream.warm()
        await eventually(sockets, lambda n: n == 2)
        await say(stream, HELLO)
        await played.until(lambda p: p.count(SynthesisDone) == 2)
        assert list(fake.speak_connections[1].texts) == [HELLO]
        assert len(fake.speak_connections) == 2


async def test_a_refused_flush_is_finished_over_rest(fake: FakeDeepgram) -> None:
    fake.speak_flush_limit = 1  # the second Flush gets a FLUSH_LIMIT warning
    async with speaking(fake) as (stream, played):
        await say(stream, HELLO)
        await say(stream, QUESTION)
        await played.until(lambda p: p.count(SynthesisDone) == 2)
        assert played.turns() == [fake.speech_for(HELLO, RATE), fake.speech_for(QUESTION, RATE)]
    assert [r.text for r in fake.rest_requests] == [QUESTION]


async def test_both_failing_is_a_fatal_error_and_the_next_flush_tries_again(
    fake: FakeDeepgram,
) -> None:
    fake.speak_refuse_status = 503
    fake.rest_fail_next = 1
    async with speaking(fake) as (stream, played):
        await say(stream, HELLO)
        await played.until(lambda p: bool(p.events))
        [error] = played.events
        assert isinstance(error, SpeechError) and error.fatal
        assert error.code == "tts_unavailable"
        await say(stream, QUESTION)
        await played.until(lambda p: p.count(SynthesisDone) == 1)
        assert played.turns() == [error, fake.speech_for(QUESTION, RATE)]
    assert [(r.text, r.status) for r in fake.rest_requests] == [(HELLO, 500), (QUESTION, 200)]


async def test_clear_stops_a_rest_synthesis(fake: FakeDeepgram) -> None:
    fake.speak_refuse_status = 503
    fake.rest_latency_ms = 300
    async with speaking(fake) as (stream, played):
        await say(stream, QUESTION)
        await eventually(lambda: asyncio.sleep(0, len(fake.rest_requests)), lambda n: n == 1)
        await stream.clear()
        fake.rest_latency_ms = 0
        await say(stream, HELLO)
        await played.until(lambda p: p.count(SynthesisDone) == 1)
        assert played.turns() == [fake.speech_for(HELLO, RATE)]


def test_a_wav_header_is_stripped_however_the_body_is_cut() -> None:
    pcm = bytes(range(256)) * 4
    fmt = struct.pack("<HHIIHH", 1, 1, RATE, RATE * 2, 2, 16)
    extra = b"LIST" + struct.pack("<I", 5) + b"abcde\x00"  # an odd-sized chunk, padded
    wav = (
        b"RIFF"
        + struct.pack("<I", 0)
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + extra
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)  # streamed: size unknown
        + pcm
    )
    for size in (1, 3, 7, 44, len(wav)):
        stripper = _WavStripper()
        out = b"".join(stripper.feed(wav[i : i + size]) for i in range(0, len(wav), size))
        assert out == pcm
    raw = _WavStripper()
    assert raw.feed(pcm[:5]) == b"" and raw.feed(pcm[5:]) == pcm
