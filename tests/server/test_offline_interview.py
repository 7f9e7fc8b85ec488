"""A whole spoken interview with no API keys and no network: espeak-ng answers streamed in
real time over the live protocol, local recognition (Silero VAD + Whisper tiny.en), the
offline interviewer and Kokoro speech, through a real uvicorn and a real database."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.audio import ANSWERS, FRAME_S, SILENT_FRAME, check_tools, spoken_answers
from server.providers import ConfiguredProviders
from server.settings import Settings
from tests.live_client import LiveClient, live
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.serving import RunningServer, run_server
from voices.kokoro import KokoroSynthesizer
from voices.models import resolve_kokoro
from voices.text_normalize import normalize

OUTPUT_RATE = 24000
# Whisper tiny.en on espeak-ng's robotic voice mishears a few words per answer ("billing"
# → "building"); recognition accuracy has its own tests (tests/voices/test_local_stt.py).
# Here the words only need to be clearly the answer that was spoken.
MAX_WER = 0.4


@pytest.fixture(scope="module")
def answers(tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    check_tools()
    return spoken_answers(ANSWERS[:2], tmp_path_factory.mktemp("answers"))


@pytest.fixture(scope="module")
def kokoro_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    # Join the bundled model once for the module; each test still gets its own data
    # directory (and so a cold phrase cache).
    found = resolve_kokoro(data_dir=tmp_path_factory.mktemp("kokoro"))
    return found.model, found.voices


@pytest.fixture
async def server(
    settings: Settings, kokoro_files: tuple[Path, Path]
) -> AsyncIterator[RunningServer]:
    offline = settings.model_copy(
        update={
            "kokoro_model": kokoro_files[0],
            "kokoro_voices": kokoro_files[1],
            "kokoro_threads": 2,
            "interview_patience_s": 0.3,
            # Misheard numbers could call for a follow-up; this test wants a fixed path.
            "interview_follow_ups": 0,
        }
    )
    async with run_server(offline) as running:
        yield running


class Microphone:
    """Streams 20 ms frames in real time, as a browser does: an answer when one is queued,
    silence otherwise."""

    def __init__(self, client: LiveClient) -> None:
        self.client = client
        self._frames: list[bytes] = []
        self._said: asyncio.Future[float] | None = None

    def say(self, pcm: bytes) -> asyncio.Future[float]:
        step = len(SILENT_FRAME)
        self._frames = [pcm[i : i + step] for i in range(0, len(pcm), step)]
        self._said = asyncio.get_running_loop().create_future()
        return self._said

    async def run(self) -> None:
        started = time.monotonic()
        tick = 0
        while True:
            if self._frames:
                await self.client.send(self._frames.pop(0))
                if not self._frames and self._said is not None:
                    self._said.set_result(time.monotonic())
            else:
                await self.client.send(SILENT_FRAME)
            tick += 1
            await asyncio.sleep(max(0.0, started + tick * FRAME_S - time.monotonic()))


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z ]", " ", normalize(text).lower().replace("-", " ")).split()


def word_error_rate(reference: str, heard: str) -> float:
    ref, hyp = _words(reference), _words(heard)
    row = list(range(len(hyp) + 1))
    for i, expected in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, got in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (expected != got))
    return row[-1] / max(1, len(ref))


def kokoro_of(server: RunningServer) -> KokoroSynthesizer:
    providers = server.app.state.services.providers
    assert isinstance(providers, ConfiguredProviders) and providers._kokoro is not None
    return providers._kokoro


async def test_offline_interview_with_audio_in_and_out(
    server: RunningServer, answers: list[Any]
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        token = (await register(http, "offline@example.org"))["access_token"]
        created = await http.post(
            "/v1/interviews",
            json={"type": "behavioral", "question_count": 2},
            headers=bearer(token),
        )
        assert created.status_code == 201, created.text
        iid = created.json()["id"]
        ticket = (await http.post(f"/v1/interviews/{iid}/ticket", headers=bearer(token))).json()
        url = f"{server.ws_url}/v1/interviews/{iid}/live?ticket={ticket['ticket']}"

        async with live(url) as client:
            await client.send({"type": "start"})
            await client.wait_for("ready", within=30)
            microphone = Microphone(client)
            mic = asyncio.create_task(microphone.run())
            try:
                await client.wait_for("agent_turn_end", 1, within=90)
                # The candidate takes a moment before answering, so the acknowledgement
                # that opens the next reply is prepared (preparation waits while they
                # speak; bench/offline.py measures the timing without this pause).
                kokoro = kokoro_of(server)
                assert kokoro.cache is not None
                ack = kokoro.cache_key("Got it, thanks.", kokoro.default_voice)

                async def ack_ready() -> bool:
                    assert kokoro.cache is not None
                    return kokoro.cache.contains(ack)

                await eventually(ack_ready, bool, within=120)
                for number, answer in enumerate(answers, start=1):
                    audio_before = len(client.audio)
                    await microphone.say(answer.pcm)
                    ended = await client.wait_for("user_turn_end", number, within=60)
                    assert word_error_rate(answer.text, ended["text"]) <= MAX_WER, ended["text"]
                    reply = await client.wait_for("agent_turn_end", number + 1, within=90)
                    assert reply["interrupted"] is False
                    # The reply was spoken: at least a second of interviewer audio.
                    assert len(client.audio) - audio_before >= OUTPUT_RATE * 2
                end = await client.wait_for("interview_end", within=30)
            finally:
                mic.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await mic
        assert end["reason"] == "completed"
        actions = [e["action"] for e in client.matching("agent_turn_start")]
        assert actions == ["greet", "next_question", "close"]
        assert not client.matching("error")
        metrics = client.matching("metrics")
        assert len(metrics) == 3 and all("tts_first_byte_ms" in m["metrics"] for m in metrics)

        # The acknowledgement that opens the first reply was prepared: it came from the
        # phrase cache, not from the model.
        assert kokoro.cache.hits >= 1
        assert kokoro.engine.prepared > 0

        detail = await eventually(
            lambda: _interview(http, token, iid),
            lambda d: len(d["turns"]) == 2 and d["status"] == "completed",
            within=20,
        )
        turns = detail["turns"]
        assert all(t["interviewer_source"] == "offline" for t in turns)
        for turn, answer in zip(turns, answers, strict=True):
            assert word_error_rate(answer.text, turn["answer"]) <= MAX_WER
            assert turn["words"] and turn["question"]


async def _interview(http: httpx.AsyncClient, token: str, iid: str) -> dict[str, Any]:
    response = await http.get(f"/v1/interviews/{iid}", headers=bearer(token))
    return dict(response.json())


def test_no_keys_select_the_local_voices(tmp_path: Path) -> None:
    """README command 1 sets nothing: the providers are local and the model is bundled."""
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    providers = ConfiguredProviders(settings)
    assert providers.recognizer_choice()[0] == "local"
    assert providers.synthesizer_choice() == ("kokoro", "no DEEPGRAM_API_KEY")
    described = providers.describe()
    assert described["speech synthesis"].startswith("kokoro")
    assert "bundled" in described["kokoro model"]
    assert described["interviewer"] == "offline"
    assert isinstance(providers.synthesizer(), KokoroSynthesizer)
    assert providers.synthesizer() is providers.synthesizer()  # one per process
    asyncio.run(providers.aclose())
