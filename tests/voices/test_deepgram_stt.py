"""Deepgram live recognition through the real deepgram-sdk and the fake Deepgram: nova-3
on ``/v1/listen``, then Flux on ``/v2/listen``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest

from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram, silence, tone
from tests.polling import eventually
from tests.voices.streams import Heard
from voices.deepgram_stt import DeepgramRecognitionStream, DeepgramRecognizer, ListenOptions
from voices.types import (
    EagerEndOfTurn,
    SpeechError,
    SpeechStarted,
    Transcript,
    TurnResumed,
    UtteranceEnd,
)

RATE = 16000
FRAME = RATE * 20 // 1000 * 2  # bytes of 20 ms


@pytest.fixture
async def fake() -> AsyncIterator[FakeDeepgram]:
    async with run_fake_deepgram() as running:
        yield running


def recognizer(fake: FakeDeepgram, **options: Any) -> DeepgramRecognizer:
    options.setdefault("reconnect_delays_s", (0.01, 0.02, 0.05))
    return DeepgramRecognizer(ListenOptions(fake.api_key, fake.url, **options))


@asynccontextmanager
async def listening(
    fake: FakeDeepgram, **options: Any
) -> AsyncIterator[tuple[DeepgramRecognitionStream, Heard]]:
    stream = await recognizer(fake, **options).open(sample_rate=RATE)
    heard = Heard(stream)
    try:
        yield stream, heard
    finally:
        await stream.close()
        await heard.stop()


async def say(stream: DeepgramRecognitionStream, audio: bytes) -> None:
    for offset in range(0, len(audio), FRAME):
        await stream.send(audio[offset : offset + FRAME])


def words_of(transcript: Transcript) -> list[tuple[str, float, float]]:
    return [(w.word, w.start_s, w.end_s) for w in transcript.words]


async def test_utterances_become_interim_and_final_transcripts_with_events(
    fake: FakeDeepgram,
) -> None:
    fake.script("Um, I led the migration.", "It took three months.")
    async with listening(fake) as (stream, heard):
        await say(stream, (tone(0.8, RATE) + silence(1.2, RATE)) * 2)
        await heard.until(lambda h: len(h.of(UtteranceEnd)) == 2)

        assert [t.text for t in heard.worded_finals] == [
            "Um, I led the migration.",
            "It took three months.",
        ]
        first, second = heard.worded_finals
        assert first.speech_final and second.speech_final
        assert words_of(first)[0] == ("Um,", 0.0, 0.16)  # the filler stays, punctuated
        assert words_of(first)[-1][2] == 0.8
        assert (first.start_s, first.end_s) == (0.0, 1.1)  # endpointing 300 ms after speech
        assert (second.start_s, words_of(second)[0][1]) == (1.1, 2.0)
        assert all(w.confidence == 0.98 for w in first.words)
        assert any(t.text for t in heard.interims)
        assert all(t.received_at > 0 for t in heard.worded_finals)
        assert [e.at_s for e in heard.of(SpeechStarted)] == [0.0, 2.0]
        assert [e.last_word_end_s for e in heard.of(UtteranceEnd)] == [0.8, 2.8]
        assert not heard.of(SpeechError)
    await heard.until(lambda h: h.ended)

    [log] = fake.listen_connections
    assert log.query == {
        "model": "nova-3",
        "encoding": "linear16",
        "sample_rate": "16000",
        "channels": "1",
        "interim_results": "true",
        "endpointing": "300",
        "utterance_end_ms": "1000",
        "vad_events": "true",
        "smart_format": "true",
        "punctuate": "true",
        "filler_words": "true",
    }
    assert log.audio_seconds == 4.0
    assert log.message_types == ["CloseStream"]
    assert log.ended == "close_stream"


async def test_settings_reach_the_query(fake: FakeDeepgram) -> None:
    options = {"model": "nova-2", "endpointing_ms": None, "utterance_end_ms": None}
    async with listening(fake, language="en-GB", **options):
        pass
    query = fake.listen_connections[0].query
    assert query["model"] == "nova-2" and query["language"] == "en-GB"
    assert query["endpointing"] == "false" and "utterance_end_ms" not in query
    assert query["filler_words"] == "true"


async def test_keepalive_holds_a_silent_socket_open(fake: FakeDeepgram) -> None:
    fake.idle_timeout_s = 0.3  # Deepgram closes a socket that hears nothing (NET-0001)
    async with listening(fake, keepalive_s=0.05):
        log = fake.listen_connections[0]
        await eventually(
            lambda: asyncio.sleep(0, log.message_types.count("KeepAlive")), lambda n: n >= 10
        )
        assert log.ended is None
    assert len(fake.listen_connections) == 1
    assert fake.listen_connections[0].ended == "close_stream"


async def test_finalize_flushes_what_was_heard(fake: FakeDeepgram) -> None:
    fake.script("I am done.")
    async with listening(fake) as (stream, heard):
        await say(stream, tone(0.6, RATE))  # no silence after it: no endpointing yet
        await stream.finalize()
        await heard.until(lambda h: bool(h.worded_finals))
        [final] = heard.worded_finals
        assert final.text == "I am done." and not final.speech_final
        assert final.end_s == 0.6
    assert fake.listen_connections[0].message_types == ["Finalize", "CloseStream"]


async def test_a_dropped_socket_reconnects_and_loses_no_words(fake: FakeDeepgram) -> None:
    first = "I led the billing migration."
    second = "We planned it in three phases and cut failed payments by forty percent."
    fake.script(first)
    fake.fallback_transcript = second  # what Deepgram hears in the second answer, each time
    fake.drop_after_audio_s = 2.0  # the first socket dies in the middle of the second answer
    async with listening(fake) as (stream, heard):
        await say(stream, tone(0.8, RATE) + silence(0.7, RATE))
        await heard.until(lambda h: bool(h.worded_finals))
        await say(stream, tone(2.0, RATE) + silence(0.6, RATE))
        await heard.until(lambda h: len(h.worded_finals) == 2)

        assert [t.text for t in heard.worded_finals] == [first, second]
        answer = heard.worded_finals[1]
        # Times stay those of the stream: the second socket's clock began at 1.1 s.
        assert (answer.start_s, answer.end_s) == (1.1, 3.8)
        assert answer.words[0].start_s == 1.5 and answer.words[-1].end_s == 3.5
        spans = [(w.start_s, w.end_s) for w in answer.words]
        assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
        assert 1.5 in [e.at_s for e in heard.of(SpeechStarted)]
        assert not heard.of(SpeechError)

    dropped, resumed = fake.listen_connections
    assert dropped.ended == "dropped" and dropped.audio_seconds == 2.0
    # The replay began where the last final ended (1.1 s), then the rest followed.
    assert resumed.audio_seconds == pytest.approx(4.1 - 1.1)
    assert resumed.query == dropped.query
    assert stream.connections == 2


async def test_finalize_lost_with_a_dropped_socket_is_sent_again(fake: FakeDeepgram) -> None:
    fake.fallback_transcript = "Short answer."
    fake.drop_after_audio_s = 0.4  # the socket dies before the Finalize reaches it
    async with listening(fake) as (stream, heard):
        await say(stream, tone(0.4, RATE))
        await stream.finalize()
        await heard.until(lambda h: bool(h.worded_finals))
        assert [t.text for t in heard.worded_finals] == ["Short answer."]
    assert fake.listen_connections[-1].message_types[0] == "Finalize"


async def test_reconnects_running_out_is_a_fatal_error(fake: FakeDeepgram) -> None:
    fake.drop_after_audio_s = 0.2
    async with listening(fake) as (stream, heard):
        fake.listen_refuse_status = 503  # every reconnect is refused
        await say(stream, tone(0.5, RATE))
        await heard.until(lambda h: h.ended)
        [error] = heard.of(SpeechError)
        assert error.fatal and error.code == "stt_unavailable"
        assert heard.events[-1] == error
        await stream.send(tone(0.1, RATE))  # no effect, no error once the stream ended
    assert len(fake.listen_connections) == 1


async def test_open_fails_when_deepgram_refuses(fake: FakeDeepgram) -> None:
    with pytest.raises(ConnectionError, match="HTTP 401"):
        await DeepgramRecognizer(ListenOptions("wrong-key", fake.url)).open(sample_rate=RATE)
    fake.listen_refuse_status = 503
    with pytest.raises(ConnectionError, match="HTTP 503"):
        await recognizer(fake).open(sample_rate=RATE)
    assert not fake.listen_connections


async def test_over_the_bound_the_oldest_audio_is_dropped(
    fake: FakeDeepgram, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script("The newest words.")
    async with listening(fake, buffer_s=1.0) as (stream, heard):
        # send() never waits, so this burst is queued before anything goes out: only
        # its newest second fits the bound.
        with caplog.at_level(logging.WARNING, "intrvuer.voices.deepgram_stt"):
            await say(stream, tone(0.5, RATE) + silence(1.5, RATE))
            await say(stream, tone(0.6, RATE) + silence(0.4, RATE))
        await heard.until(lambda h: bool(h.worded_finals))
        [final] = heard.worded_finals
        assert final.text == "The newest words."
        # The words keep the stream's times despite the gap in what Deepgram heard.
        assert final.words[0].start_s == 2.0 and final.words[-1].end_s == 2.6
    assert fake.listen_connections[0].audio_seconds == 1.0
    warnings = [r for r in caplog.records if "dropping the oldest" in r.getMessage()]
    assert len(warnings) == 1


async def test_close_ends_the_events_and_no_key_is_logged(
    fake: FakeDeepgram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake.drop_after_audio_s = 0.2
    async with listening(fake) as (stream, heard):
        await say(stream, tone(0.4, RATE))
        await eventually(lambda: asyncio.sleep(0, len(fake.listen_connections)), lambda n: n == 2)
    await heard.until(lambda h: h.ended)
    assert not heard.of(SpeechError)
    # Our lines, the SDK's and websockets' client handshake log (the fake server's own
    # log shows the headers it received, as any server would).
    client_side = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(("intrvuer", "deepgram", "websockets.client"))
    ]
    assert any("dropped" in line for line in client_side)
    assert any("Authorization" in line for line in client_side)
    assert not [line for line in client_side if fake.api_key in line]
    assert fake.api_key not in repr(recognizer(fake))


# Flux (/v2/listen), against the fake's turn model: with its default 1000 ms confidence
# ramp, an eager end at 0.5 comes 500 ms into a silence and the end of turn at 0.7 at
# 700 ms; each second of speech reveals about three words more.


def sequence(heard: Heard) -> list[str]:
    """The kinds of events heard, a run of interim transcripts as one ``interim``."""
    kinds: list[str] = []
    for event in heard.events:
        kind = type(event).__name__
        if isinstance(event, Transcript):
            kind = "final" if event.is_final else "interim"
        if not (kinds and kind == kinds[-1] == "interim"):
            kinds.append(kind)
    return kinds


async def test_flux_turns_become_events_and_one_final_transcript(fake: FakeDeepgram) -> None:
    fake.script("I led the billing migration myself.")
    async with listening(fake, flux=True) as (stream, heard):
        # A pause long enough for an eager end but not the end of turn, then the rest.
        await say(stream, tone(1.0, RATE) + silence(0.6, RATE) + tone(1.0, RATE))
        await say(stream, silence(1.0, RATE))
        await heard.until(lambda h: bool(h.worded_finals))

    assert sequence(heard) == [
        "SpeechStarted",
        "interim",
        "EagerEndOfTurn",
        "TurnResumed",
        "interim",
        "EagerEndOfTurn",
        "final",
    ]
    [started] = heard.of(SpeechStarted)
    assert started.at_s == 0.0
    assert [t.text for t in heard.interims][:2] == ["I", "I led"]
    first_eager, second_eager = heard.of(EagerEndOfTurn)
    assert (first_eager.transcript_text, first_eager.last_word_end_s) == ("I led the billing", 1.0)
    [final] = heard.worded_finals
    assert final.is_final and final.speech_final
    assert final.text == second_eager.transcript_text == "I led the billing migration myself."
    assert (final.start_s, final.end_s) == (0.0, 3.3)  # 700 ms after the last word
    assert (final.words[0].start_s, final.words[-1].end_s) == (0.0, 2.6)
    assert second_eager.last_word_end_s == 2.6
    assert all(w.confidence == 0.98 for w in final.words)
    assert first_eager.received_at <= heard.of(TurnResumed)[0].received_at <= final.received_at
    assert not heard.of(UtteranceEnd) and not heard.of(SpeechError)

    [log] = fake.flux_connections
    assert log.query == {
        "model": "flux-general-en",
        "encoding": "linear16",
        "sample_rate": "16000",
        "eager_eot_threshold": "0.5",
    }
    assert log.message_types == ["CloseStream"] and log.ended == "close_stream"
    assert not fake.listen_connections


async def test_flux_eager_end_followed_directly_by_the_end_of_turn(fake: FakeDeepgram) -> None:
    fake.script("Yes, I did.")
    thresholds = {"eot_threshold": 0.8, "eager_eot_threshold": 0.4, "eot_timeout_ms": 3000}
    async with listening(fake, flux=True, **thresholds) as (stream, heard):
        await say(stream, tone(0.8, RATE) + silence(1.0, RATE))
        await heard.until(lambda h: bool(h.worded_finals))

    assert sequence(heard) == ["SpeechStarted", "interim", "EagerEndOfTurn", "final"]
    [eager] = heard.of(EagerEndOfTurn)
    [final] = heard.worded_finals
    assert (eager.transcript_text, eager.last_word_end_s) == ("Yes, I did.", 0.8)
    assert final.text == "Yes, I did." and final.end_s == 1.6  # 0.8: 800 ms of silence
    assert eager.received_at <= final.received_at
    query = fake.flux_connections[0].query
    assert (query["eot_threshold"], query["eager_eot_threshold"]) == ("0.8", "0.4")
    assert query["eot_timeout_ms"] == "3000"


async def test_flux_without_eager_mode_only_ends_turns(fake: FakeDeepgram) -> None:
    fake.script("I think so.")
    async with listening(fake, flux=True, eager_eot_threshold=None) as (stream, heard):
        await say(stream, tone(0.5, RATE) + silence(0.6, RATE) + tone(0.5, RATE))
        await say(stream, silence(1.0, RATE))
        await heard.until(lambda h: bool(h.worded_finals))
    assert sequence(heard) == ["SpeechStarted", "interim", "final"]
    assert heard.worded_finals[0].end_s == 2.3
    assert "eager_eot_threshold" not in fake.flux_connections[0].query


async def test_flux_finalize_forces_the_end_of_turn(fake: FakeDeepgram) -> None:
    fake.script("I am done.")
    async with listening(fake, flux=True) as (stream, heard):
        await say(stream, tone(0.6, RATE))  # no silence after it: the turn is still open
        await stream.finalize()
        await heard.until(lambda h: bool(h.worded_finals))
        [final] = heard.worded_finals
        assert final.text == "I am done." and final.speech_final and final.end_s == 0.6
    log = fake.flux_connections[0]
    assert log.message_types == ["ForceEndTurn", "CloseStream"]
    assert [m["trigger"] for m in log.sent if m.get("event") == "EndOfTurn"] == ["manual"]


async def test_flux_refusals_are_clear_errors(fake: FakeDeepgram) -> None:
    with pytest.raises(ConnectionError, match="HTTP 400"):
        await recognizer(fake, flux=True, eot_threshold=0.45).open(sample_rate=RATE)
    with pytest.raises(ConnectionError, match="HTTP 400"):
        await recognizer(fake, flux=True, flux_model="nova-3").open(sample_rate=RATE)
    wrong_key = DeepgramRecognizer(ListenOptions("wrong-key", fake.url, flux=True))
    with pytest.raises(ConnectionError, match="HTTP 401"):
        await wrong_key.open(sample_rate=RATE)
    assert not fake.flux_connections
    assert "flux-general-en" in repr(wrong_key) and "wrong-key" not in repr(wrong_key)


async def test_flux_reconnects_and_force_ends_the_replayed_turn(fake: FakeDeepgram) -> None:
    fake.script("Yes.", "I did it.")
    fake.drop_after_audio_s = 1.5  # in the middle of the second turn
    # 20 ms chunks: the fake drops the socket at an exact audio time.
    async with listening(fake, flux=True, send_chunk_ms=20) as (stream, heard):
        await say(stream, tone(0.4, RATE) + silence(0.8, RATE))
        await heard.until(lambda h: bool(h.worded_finals))
        await say(stream, tone(1.0, RATE))
        await stream.finalize()  # lost with the first socket: sent again after the replay
        await heard.until(lambda h: len(h.worded_finals) == 2)

    assert [t.text for t in heard.worded_finals] == ["Yes.", "I did it."]
    answer = heard.worded_finals[1]
    # Times stay those of the stream: the second socket's clock began at 1.1 s, where the
    # first turn's window ended.
    assert (answer.start_s, answer.end_s) == (1.1, 2.2)
    assert (answer.words[0].start_s, answer.words[-1].end_s) == (1.2, 2.2)
    dropped, resumed = fake.flux_connections
    assert dropped.ended == "dropped" and dropped.audio_seconds == 1.5
    assert resumed.audio_seconds == pytest.approx(2.2 - 1.1)
    assert resumed.message_types == ["ForceEndTurn", "CloseStream"]
    assert resumed.query == dropped.query
    assert stream.connections == 2
    assert not heard.of(SpeechError)
