"""The fake Deepgram against the real deepgram-sdk: listen (v1 and Flux), speak socket,
speak REST."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from deepgram import AsyncDeepgramClient, DeepgramClientEnvironment
from deepgram.core.api_error import ApiError
from deepgram.speak.v1.types import SpeakV1Text
from websockets.exceptions import ConnectionClosedError

from tests.fakes.deepgram import (
    FakeDeepgram,
    ListenOptions,
    Transcriber,
    Utterance,
    run_fake_deepgram,
    silence,
    tone,
)
from tests.fakes.deepgram_flux import FluxOptions, FluxTurns

pytestmark = [
    # deepgram-sdk 7.17 imports websockets' legacy client the first time a socket client
    # is used (deepgram/core/websocket_compat.py and listen|speak/v1/client.py).
    pytest.mark.filterwarnings("ignore:websockets.legacy is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings(
        "ignore:websockets.exceptions.InvalidStatusCode is deprecated:DeprecationWarning"
    ),
]

RATE = 16000
LIVE = {
    "model": "nova-3",
    "encoding": "linear16",
    "sample_rate": RATE,
    "interim_results": "true",
    "endpointing": 300,
    "utterance_end_ms": 1000,
    "vad_events": "true",
    "smart_format": "true",
}
FILLERS = {"additional_query_parameters": {"filler_words": "true"}}


def sdk_client(
    fake: FakeDeepgram, http: httpx.AsyncClient, api_key: str | None = None
) -> AsyncDeepgramClient:
    # The SDK never closes an httpx client it made itself (it has no aclose), so bring one.
    environment = DeepgramClientEnvironment(
        base=fake.url, production=fake.ws_url, agent=fake.ws_url, agent_rest=fake.url
    )
    return AsyncDeepgramClient(
        api_key=api_key or fake.api_key, environment=environment, httpx_client=http
    )


def chunks(audio: bytes, size: int = 640) -> list[bytes]:
    return [audio[offset : offset + size] for offset in range(0, len(audio), size)]


def transcript(message: Any) -> str:
    return str(message.channel.alternatives[0].transcript)


async def stream_then_close(connection: Any, audio: bytes) -> list[Any]:
    """Send the audio and CloseStream, then read every message until the server closes."""
    for chunk in chunks(audio):
        await connection.send_media(chunk)
    await connection.send_close_stream()
    return [message async for message in connection]


async def speak_until(connection: Any, kind: str) -> tuple[bytes, list[Any]]:
    """Audio and messages received up to and including the first message of ``kind``."""
    audio, messages = bytearray(), []
    while True:
        message = await connection.recv()
        if isinstance(message, bytes):
            audio += message
            continue
        messages.append(message)
        # The SDK parses by shape: Cleared comes back as a SpeakV1Flushed whose type is
        # "Cleared", so tell messages apart by their type field, never their class.
        if message.type == kind:
            return bytes(audio), messages


@pytest.fixture
async def fake() -> AsyncIterator[FakeDeepgram]:
    async with run_fake_deepgram() as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def test_listen_transcribes_each_speech_segment_with_the_next_script_entry(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    fake.script("Um, I led the migration.", "It took three months.")
    audio = (tone(0.8, RATE) + silence(1.2, RATE)) * 2
    client = sdk_client(fake, http)
    async with client.listen.v1.connect(**LIVE, request_options=FILLERS) as connection:
        messages = await stream_then_close(connection, audio)

    kinds = [message.type for message in messages]
    assert kinds[0] == "SpeechStarted" and kinds[-1] == "Metadata"
    assert [m.timestamp for m in messages if m.type == "SpeechStarted"] == [0.0, 2.0]
    results = [m for m in messages if m.type == "Results"]
    assert any(not m.is_final and transcript(m) for m in results), "interim results expected"
    finals = [m for m in results if m.is_final and transcript(m)]
    assert [transcript(m) for m in finals] == ["Um, I led the migration.", "It took three months."]
    assert all(m.speech_final and not m.from_finalize for m in finals)
    words = finals[0].channel.alternatives[0].words
    assert [w.word for w in words] == ["um", "i", "led", "the", "migration"]
    assert words[0].punctuated_word == "Um," and words[0].start == 0.0 and words[-1].end == 0.8
    assert [m.last_word_end for m in messages if m.type == "UtteranceEnd"] == [0.8, 2.8]
    # Each UtteranceEnd follows its utterance's final, 1 s (utterance_end_ms) after the words.
    assert kinds.index("UtteranceEnd") > results.index(finals[0])
    assert messages[-1].duration == 4.0

    [log] = fake.listen_connections
    assert log.query == {
        "model": "nova-3",
        "encoding": "linear16",
        "sample_rate": "16000",
        "interim_results": "true",
        "endpointing": "300",
        "utterance_end_ms": "1000",
        "vad_events": "true",
        "smart_format": "true",
        "filler_words": "true",
    }
    assert log.audio_bytes == len(audio)
    assert log.message_types == ["CloseStream"]
    assert log.final_transcripts == ["Um, I led the migration.", "It took three months."]
    assert log.ended == "close_stream"


async def test_finalize_flushes_the_pending_speech_and_fillers_need_filler_words(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    fake.script("Um, I led the migration.")
    client = sdk_client(fake, http)
    options = {"model": "nova-3", "encoding": "linear16", "sample_rate": RATE}
    async with client.listen.v1.connect(**options) as connection:
        for chunk in chunks(tone(0.5, RATE)):
            await connection.send_media(chunk)
        await connection.send_keep_alive()
        await connection.send_finalize()
        flushed = await connection.recv()
        await connection.send_finalize()
        nothing_pending = await connection.recv()
        await connection.send_close_stream()
        rest = [message async for message in connection]

    assert flushed.type == "Results" and flushed.is_final and flushed.from_finalize
    assert not flushed.speech_final
    # No smart_format/punctuate: bare lowercase words; no filler_words: no "um".
    assert transcript(flushed) == "i led the migration"
    assert flushed.channel.alternatives[0].words[0].punctuated_word is None
    assert nothing_pending.from_finalize and transcript(nothing_pending) == ""
    assert [message.type for message in rest] == ["Metadata"]
    assert fake.listen_connections[0].message_types == [
        "KeepAlive",
        "Finalize",
        "Finalize",
        "CloseStream",
    ]


async def test_listen_refuses_a_wrong_key_and_when_told_to(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    with pytest.raises(ApiError) as wrong_key:
        async with sdk_client(fake, http, api_key="wrong").listen.v1.connect(**LIVE):
            pass
    assert wrong_key.value.status_code == 401

    fake.listen_refuse_status = 503
    with pytest.raises(ApiError) as refused:
        async with sdk_client(fake, http).listen.v1.connect(**LIVE):
            pass
    assert refused.value.status_code == 503
    assert not fake.listen_connections


async def test_listen_drops_the_first_connection_after_some_audio(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    fake.drop_after_audio_s = 0.5
    client = sdk_client(fake, http)
    with pytest.raises(ConnectionClosedError) as dropped:
        async with client.listen.v1.connect(**LIVE) as connection:
            await stream_then_close(connection, tone(1.0, RATE))
    assert dropped.value.rcvd is None  # no close frame: the TCP connection just went away

    async with client.listen.v1.connect(**LIVE) as connection:
        messages = await stream_then_close(connection, tone(1.0, RATE))
    assert messages[-1].type == "Metadata"
    assert [log.ended for log in fake.listen_connections] == ["dropped", "close_stream"]
    assert fake.listen_connections[0].audio_seconds == 0.5


async def test_listen_closes_an_idle_connection_with_1011(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    fake.idle_timeout_s = 0.2
    with pytest.raises(ConnectionClosedError) as closed:
        async with sdk_client(fake, http).listen.v1.connect(**LIVE) as connection:
            async for _ in connection:
                pass
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1011
    assert fake.listen_connections[0].ended == "idle_timeout"


def test_segmentation_runs_in_audio_time_whatever_the_chunking() -> None:
    options = ListenOptions.from_query(
        {key: str(value) for key, value in LIVE.items()} | {"filler_words": "true"}
    )
    audio = tone(0.7, RATE) + silence(1.5, RATE) + tone(0.3, RATE) + silence(0.5, RATE)

    def run(chunk_size: int) -> list[dict[str, Any]]:
        script = iter(["Um, first answer.", "Second."])
        transcriber = Transcriber(
            options,
            lambda: next(script),
            speech_threshold_rms=500,
            interim_interval_ms=250,
            ms_per_word=200,
        )
        messages = [m for chunk in chunks(audio, chunk_size) for m in transcriber.feed(chunk)]
        for message in messages:
            message.get("metadata", {}).pop("request_id", None)
        return messages

    one_piece, small_pieces = run(len(audio)), run(322)
    assert one_piece == small_pieces
    assert [m["type"] for m in one_piece] == [
        "SpeechStarted",
        "Results",  # interim at 0.25 s
        "Results",  # interim at 0.5 s
        "Results",  # final 300 ms after the tone
        "UtteranceEnd",
        "SpeechStarted",
        "Results",  # interim at 2.45 s
        "Results",  # final
    ]
    assert one_piece[3]["channel"]["alternatives"][0]["transcript"] == "Um, first answer."
    assert (one_piece[3]["start"], one_piece[3]["duration"]) == (0.0, 1.0)
    assert one_piece[-1]["start"] == 1.0  # result windows are contiguous


# Flux (/v2/listen)

FLUX = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": RATE}


def turn_infos(messages: list[Any]) -> list[Any]:
    return [message for message in messages if message.type == "TurnInfo"]


def events(messages: list[Any]) -> list[tuple[str, float]]:
    """(event, audio_window_end) of each TurnInfo but the Updates."""
    return [(m.event, m.audio_window_end) for m in turn_infos(messages) if m.event != "Update"]


async def test_flux_turn_events_follow_the_silence_in_audio_time(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    fake.script("Um, I led the billing migration myself.")  # 7 words: 1.8 s of speech
    # A 0.6 s pause (an eager end at 0.5 s, speech again before the end of turn at 0.7 s),
    # then a silence long enough to end the turn.
    audio = tone(1.0, RATE) + silence(0.6, RATE) + tone(1.0, RATE) + silence(1.0, RATE)
    client = sdk_client(fake, http)
    async with client.listen.v2.connect(
        **FLUX, eager_eot_threshold=0.5, keyterm=["billing", "Stripe"]
    ) as connection:
        for chunk in chunks(audio):
            await connection.send_media(chunk)
        await connection.send_force_end_turn()  # no turn open: ignored
        await connection.send_close_stream()
        messages = [message async for message in connection]

    connected, *rest = messages
    assert connected.type == "Connected" and connected.sequence_id == 0
    assert [m.sequence_id for m in messages] == list(range(len(messages)))
    assert events(messages) == [
        ("StartOfTurn", 0.02),
        ("EagerEndOfTurn", 1.5),  # 500 ms into the pause: confidence 0.5
        ("TurnResumed", 1.62),  # the first frame of speech after it
        ("EagerEndOfTurn", 3.1),
        ("EndOfTurn", 3.3),  # 700 ms into the silence: confidence 0.7
    ]
    infos = turn_infos(messages)
    by_event = {m.event: m for m in infos}
    assert by_event["StartOfTurn"].transcript == "Um,"
    eager, end = [m for m in infos if m.event in ("EagerEndOfTurn", "EndOfTurn")][1:]
    assert eager.end_of_turn_confidence == 0.5 and end.end_of_turn_confidence == 0.7
    assert end.trigger == "model" and all(m.trigger is None for m in infos if m is not end)
    assert end.transcript == eager.transcript == "Um, I led the billing migration myself."
    assert (end.words[0].start, end.words[-1].end) == (0.0, 2.6)
    assert (end.audio_window_start, end.turn_index) == (0.0, 0)
    assert all(w.confidence == 0.98 for w in end.words)
    # Updates: one per 0.25 s of audio without another message, empty between turns.
    windows = [m.audio_window_end for m in infos]
    assert max(round(b - a, 3) for a, b in zip(windows, windows[1:], strict=False)) == 0.26
    after = infos[infos.index(end) + 1 :]
    assert after and all(m.event == "Update" and m.transcript == "" for m in after)
    assert all(m.turn_index == 1 and m.audio_window_start == 3.3 for m in after)
    assert after[-1].audio_window_end == 3.6  # CloseStream: a last Update, no EndOfTurn

    [log] = fake.flux_connections
    assert log.query["eager_eot_threshold"] == "0.5" and log.keyterms == ("billing", "Stripe")
    assert log.message_types == ["ForceEndTurn", "CloseStream"]
    assert log.events == [event for event, _ in events(messages)]
    assert log.final_transcripts == [end.transcript]
    assert (log.audio_seconds, log.ended) == (3.6, "close_stream")


def test_flux_turns_run_in_audio_time_whatever_the_chunking() -> None:
    query = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": str(RATE)}
    options = FluxOptions.from_query(query | {"eager_eot_threshold": "0.4"})
    # Too little speech for every word: the end of turn brings the rest, after a
    # TurnResumed, as Flux does when the transcript changed after an eager end.
    audio = tone(0.5, RATE) + silence(1.0, RATE)

    def run(chunk_size: int) -> list[dict[str, Any]]:
        turns = FluxTurns(
            options,
            lambda: "I did it myself.",
            speech_threshold_rms=500,
            ms_per_word=300,
            update_interval_ms=250,
            confidence_ramp_ms=1000,
        )
        messages = [m for chunk in chunks(audio, chunk_size) for m in turns.feed(chunk)]
        for message in messages:
            message.pop("request_id")
        return messages

    one_piece, small_pieces = run(len(audio)), run(322)
    assert one_piece == small_pieces
    assert [(m["event"], m["audio_window_end"], m["transcript"]) for m in one_piece] == [
        ("StartOfTurn", 0.02, "I"),
        ("Update", 0.28, "I"),  # every 0.25 s, in whole 20 ms frames
        ("Update", 0.54, "I did"),
        ("Update", 0.8, "I did"),
        ("EagerEndOfTurn", 0.9, "I did"),
        ("Update", 1.16, "I did"),
        ("TurnResumed", 1.2, "I did"),
        ("EndOfTurn", 1.2, "I did it myself."),
        ("Update", 1.46, ""),
    ]
    assert one_piece[-2]["trigger"] == "model" and one_piece[-1]["turn_index"] == 1


def test_flux_timeout_force_end_and_thresholds_in_milliseconds(fake: FakeDeepgram) -> None:
    query = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": str(RATE)}

    def turns(**extra: str) -> FluxTurns:
        return FluxTurns(
            FluxOptions.from_query(query | extra),
            lambda: "Yes.",
            speech_threshold_rms=500,
            ms_per_word=300,
            update_interval_ms=250,
            confidence_ramp_ms=1000,
        )

    def turn_ends(messages: list[dict[str, Any]]) -> list[tuple[str, float, str]]:
        return [
            (m["event"], m["audio_window_end"], m.get("trigger", ""))
            for m in messages
            if m["event"] not in ("Update", "StartOfTurn")
        ]

    # eot_threshold=1.0: the confidence never gets there, the timeout ends the turn.
    manual = turns(eot_threshold="1.0", eot_timeout_ms="800")
    assert turn_ends(manual.feed(tone(0.2, RATE) + silence(1.0, RATE))) == [
        ("EndOfTurn", 1.0, "timeout")
    ]
    assert manual.force_end_turn() == []  # no turn open
    manual.feed(tone(0.3, RATE))
    [forced] = manual.force_end_turn()
    assert (forced["event"], forced["trigger"], forced["transcript"]) == (
        "EndOfTurn",
        "manual",
        "Yes.",
    )
    assert (forced["audio_window_start"], forced["audio_window_end"]) == (1.0, 1.5)

    assert fake.flux_silence_ms(0.5) == 500 and fake.flux_silence_ms(0.7) == 700
    assert fake.flux_silence_ms(1.0) is None
    fake.flux_confidence_ramp_ms = 375  # Flux's advertised ~260 ms end of turn at 0.7
    assert fake.flux_silence_ms(0.7) == 280  # 262.5 ms, in whole 20 ms frames


@pytest.mark.parametrize(
    "extra",
    [
        {"model": "nova-3"},
        {"eot_threshold": 0.45},
        {"eager_eot_threshold": 0.95},
        {"eager_eot_threshold": 0.8},  # above the default eot_threshold, 0.7
        {"eot_timeout_ms": 100},
        {"sample_rate": None},
    ],
    ids=["model", "eot", "eager", "eager-above-eot", "timeout", "no-sample-rate"],
)
async def test_flux_refuses_what_deepgram_refuses_before_the_upgrade(
    fake: FakeDeepgram, http: httpx.AsyncClient, extra: dict[str, Any]
) -> None:
    with pytest.raises(ApiError) as refused:
        async with sdk_client(fake, http).listen.v2.connect(**(FLUX | extra)):
            pass
    assert refused.value.status_code == 400
    assert not fake.flux_connections


async def test_flux_refuses_a_wrong_key_and_answers_what_it_does_not_do(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    with pytest.raises(ApiError) as wrong_key:
        async with sdk_client(fake, http, api_key="wrong").listen.v2.connect(**FLUX):
            pass
    assert wrong_key.value.status_code == 401

    async with sdk_client(fake, http).listen.v2.connect(**FLUX) as connection:
        assert (await connection.recv()).type == "Connected"
        await connection.send_configure({"type": "Configure", "thresholds": {"eot_threshold": 0.8}})
        configure = await connection.recv()
        await connection.send_configure({"type": "KeepAlive"})  # any dict; Flux has no KeepAlive
        warning = await connection.recv()
    assert configure.type == "ConfigureFailure" and configure.code == "UNSUPPORTED"
    assert warning.type == "Warning" and warning.code == "UNPARSABLE_CLIENT_MESSAGE"
    assert fake.flux_connections[0].ended == "client_closed"


async def test_speak_socket_flush_clear_and_close(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    fake.speak_chunk_delay_ms = 5
    client = sdk_client(fake, http)
    options = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000}
    async with client.speak.v1.connect(**options) as connection:
        metadata = await connection.recv()
        await connection.send_text(SpeakV1Text(text="Hello there."))
        await connection.send_flush()
        audio, messages = await speak_until(connection, "Flushed")

        long_text = "Tell me about a project you are proud of, and why."
        await connection.send_text(SpeakV1Text(text=long_text))
        await connection.send_flush()
        first_chunk = await connection.recv()
        await connection.send_clear()
        cut_audio, cleared = await speak_until(connection, "Cleared")
        await connection.send_close()
        after_close = [message async for message in connection]

    assert metadata.type == "Metadata" and metadata.model_name == "aura-2-thalia-en"
    assert audio == fake.speech_for("Hello there.", 24000)
    assert len(audio) == 24000 * 2 * 12 * 60 // 1000  # 60 ms a character
    assert [(m.type, m.sequence_id) for m in messages] == [("Flushed", 0)]
    assert isinstance(first_chunk, bytes)
    full = fake.speech_for(long_text, 24000)
    assert len(first_chunk) + len(cut_audio) < len(full)
    assert [(m.type, m.sequence_id) for m in cleared] == [("Cleared", 1)]
    assert after_close == []
    [log] = fake.speak_connections
    assert log.query == {
        "model": "aura-2-thalia-en",
        "encoding": "linear16",
        "sample_rate": "24000",
    }
    assert list(log.texts) == ["Hello there.", long_text]
    assert (log.flushes, log.clears, log.ended) == (2, 1, "close")


async def test_speak_socket_faults_and_flush_limit(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    client = sdk_client(fake, http)
    options = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000}
    with pytest.raises(ApiError) as wrong_key:
        async with sdk_client(fake, http, api_key="wrong").speak.v1.connect(**options):
            pass
    assert wrong_key.value.status_code == 401

    fake.speak_drop_next = 1
    with pytest.raises(ConnectionClosedError) as dropped:
        async with client.speak.v1.connect(**options) as connection:
            await connection.send_text(SpeakV1Text(text="Hello there."))
            await connection.send_flush()
            await speak_until(connection, "Flushed")
    assert dropped.value.rcvd is None

    fake.speak_flush_limit = 1
    async with client.speak.v1.connect(**options) as connection:
        await connection.send_flush()
        _, flushed = await speak_until(connection, "Flushed")
        await connection.send_flush()
        _, warned = await speak_until(connection, "Warning")
    assert flushed[-1].sequence_id == 0
    assert warned[-1].code == "FLUSH_LIMIT"
    assert [log.ended for log in fake.speak_connections] == ["dropped", "client_closed"]


async def test_speak_rest_returns_audio_and_fails_on_request(
    fake: FakeDeepgram, http: httpx.AsyncClient
) -> None:
    client = sdk_client(fake, http)
    options = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000}
    raw = b"".join(
        [
            chunk
            async for chunk in client.speak.v1.audio.generate(
                text="Hi there", container="none", **options
            )
        ]
    )
    wav = b"".join([chunk async for chunk in client.speak.v1.audio.generate(text="Hi", **options)])
    fake.rest_fail_next = 1
    with pytest.raises(ApiError) as failed:
        async for _ in client.speak.v1.audio.generate(text="Hi", **options):
            pass

    assert raw == fake.speech_for("Hi there", 24000)
    assert wav[:4] == b"RIFF" and wav[44:] == fake.speech_for("Hi", 24000)
    assert failed.value.status_code == 500
    assert [(r.text, r.status) for r in fake.rest_requests] == [
        ("Hi there", 200),
        ("Hi", 200),
        ("Hi", 500),
    ]
    assert fake.rest_requests[0].query["container"] == "none"


def _finals(messages: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    return [
        (m["channel"]["alternatives"][0]["transcript"], m["speech_final"])
        for m in messages
        if m["type"] == "Results" and m["is_final"]
    ]


def test_a_short_endpointing_finalizes_an_utterance_in_the_share_of_it_spoken() -> None:
    options = ListenOptions.from_query(
        {key: str(value) for key, value in LIVE.items()} | {"endpointing": "25"}
    )
    script = iter(
        [
            Utterance("One two three, four five six.", 1.1),
            "Next.",
            "Again.",
            Utterance("Seven.", 0.3),
        ]
    )
    transcriber = Transcriber(
        options, lambda: next(script), speech_threshold_rms=500, interim_interval_ms=250,
        ms_per_word=200,
    )  # fmt: skip
    # One utterance with a 0.1 s pause in the middle; then two more, apart.
    audio = tone(0.5, RATE) + silence(0.1, RATE) + tone(0.5, RATE) + silence(0.5, RATE)
    audio += tone(0.3, RATE) + silence(0.1, RATE) + tone(0.3, RATE) + silence(0.5, RATE)
    audio += tone(0.3, RATE) + silence(0.5, RATE)
    messages = transcriber.feed(audio)
    assert _finals(messages) == [
        ("One two three,", True),  # 0.5 s of 1.1: 3 of its 6 words
        ("four five six.", True),
        ("Next.", True),  # no length known: each segment is a whole transcript
        ("Again.", True),
        ("Seven.", True),
    ]
    first = next(m for m in messages if m["type"] == "Results" and m["is_final"])
    assert first["channel"]["alternatives"][0]["words"][-1]["end"] <= 0.5
    assert transcriber.unfinished_transcript() is None


def test_words_not_yet_finalized_are_what_a_dropped_connection_leaves_unheard() -> None:
    options = ListenOptions.from_query(
        {key: str(value) for key, value in LIVE.items()} | {"endpointing": "25"}
    )
    transcriber = Transcriber(
        options, lambda: Utterance("a b c d", 1.0), speech_threshold_rms=500,
        interim_interval_ms=250, ms_per_word=200,
    )  # fmt: skip
    transcriber.feed(tone(0.5, RATE) + silence(0.1, RATE))
    assert transcriber.unfinished_transcript() == "c d"


async def test_each_listen_connection_speaks_utterance_seconds_in_turn() -> None:
    async with run_fake_deepgram() as fake:
        fake.utterance_seconds = (1.1, 0.3)
        fake.fallback_transcript = "One two three four five six."
        next_utterance = fake._utterances()
        assert [next_utterance() for _ in range(3)] == [
            Utterance("One two three four five six.", 1.1),
            Utterance("One two three four five six.", 0.3),
            Utterance("One two three four five six.", 1.1),
        ]
        fake.script(Utterance("Own length.", 2.0))
        assert fake._utterances()() == Utterance("Own length.", 2.0)


def test_a_flux_turn_holds_what_was_said_in_it_whatever_the_script_entries() -> None:
    query = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": str(RATE)}
    script = iter(
        [
            Utterance("First I checked the logs,", 0.5),
            Utterance("then the metrics.", 0.3),
            # 2 s from its first speech to its last, a quarter of it before the pause
            Utterance("I was, well, it was the second one.", 2.0),
        ]
    )
    turns = FluxTurns(
        FluxOptions.from_query(query),
        lambda: next(script),
        speech_threshold_rms=500,
        ms_per_word=300,
        update_interval_ms=250,
        confidence_ramp_ms=1000,
    )
    # Two entries apart by less than the end-of-turn silence (0.7 s): one turn. Then one
    # entry with a long pause inside it: two turns, each with the words said in it.
    audio = tone(0.5, RATE) + silence(0.4, RATE) + tone(0.3, RATE) + silence(1.0, RATE)
    audio += tone(0.5, RATE) + silence(1.0, RATE) + tone(0.5, RATE) + silence(1.0, RATE)
    messages = turns.feed(audio)
    ends = [m["transcript"] for m in messages if m.get("event") == "EndOfTurn"]
    assert ends == [
        "First I checked the logs, then the metrics.",
        "I was,",
        "well, it was the second one.",
    ]
    assert turns.unfinished_transcript() is None
