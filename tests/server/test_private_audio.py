"""Interviewer audio on disk is never personal (docs/privacy.md).

A candidate named Zebedee Quarrington, with a resume and a job description that put the
name into the tailored questions, holds a whole interview through the real server on the
offline voices (local Whisper, Kokoro) with the offline interviewer and with an LLM
interviewer (the wire fake, whose replies repeat the answer). Then every file under
DATA_DIR is searched for the name, as bytes in every text encoding the server could have
used, and every cached audio file is transcribed with the bundled Whisper; after the
account is deleted nothing made for that interview is left but generic phrases.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from pydantic import SecretStr

from bench.audio import check_tools, spoken_answers
from pipeline.interviewer.offline import GENERIC_PHRASES
from pipeline.interviewer.phrases import offline_phrases
from pipeline.questions import default_plan
from server.providers import ConfiguredProviders
from server.settings import Settings
from tests.documents import pdf
from tests.fakes.openai_compat import run_fake_openai
from tests.live_client import LiveClient, live
from tests.pipeline.test_session import interview as session_interview
from tests.polling import eventually
from tests.server.test_auth import PASSWORD, bearer, register
from tests.server.test_offline_interview import Microphone
from tests.serving import RunningServer, run_server
from voices.audio import resample
from voices.kokoro import KokoroSynthesizer
from voices.models import resolve_kokoro
from voices.phrase_cache import DISK_FOLDER, PhraseCache, PhraseKey, read_entry
from voices.text_normalize import segments
from voices.whisper import WhisperEngine, WhisperOptions, bundled_whisper_model, shared_engine

NAME = "Zebedee Quarrington"
NAME_WORDS = ("Zebedee", "Quarrington")
# What Whisper tiny.en makes of the name in Kokoro's voice ("Zebadi", "Corrington",
# "Quarantine Analytics"): a transcript matching any of these names the candidate.
HEARD_AS_NAME = re.compile(r"zeb|quarr|corring|quarant", re.IGNORECASE)
RESUME = [
    NAME,
    "zebedee.q@example.org | (555) 010-0123 | Leeds, UK",
    "EXPERIENCE",
    "Lead Engineer — Quarrington Analytics",
    "Jan 2020 – Present",
    "• Built the Quarrington ledger in Python",
    "SKILLS",
    "Python, PostgreSQL",
]
JOB = (
    "Staff Engineer at Quarrington Analytics\n"
    "Requirements\n- Experience running the Quarrington ledger in production\n"
    "Responsibilities\n- Own the Quarrington ledger platform\n"
)
SPOKEN_ANSWER = (
    "My name is Zebedee Quarrington. At Quarrington Analytics I moved the ledger to a new "
    "database, which cut our outages by forty percent in six months."
)
TYPED_ANSWER = (
    "As Zebedee Quarrington, lead engineer, I owned the Quarrington ledger rewrite and "
    "shipped it in four months, which reduced costs by thirty percent."
)
OUTPUT_RATE = 24000


@pytest.fixture(scope="module")
def kokoro_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    found = resolve_kokoro(data_dir=tmp_path_factory.mktemp("kokoro"))
    return found.model, found.voices


@pytest.fixture(scope="module")
def spoken_answer(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    check_tools()
    return spoken_answers([SPOKEN_ANSWER], tmp_path_factory.mktemp("answers"))[0].pcm


@pytest.fixture
def offline_settings(settings: Settings, kokoro_files: tuple[Path, Path]) -> Settings:
    return settings.model_copy(
        update={
            "kokoro_model": kokoro_files[0],
            "kokoro_voices": kokoro_files[1],
            "kokoro_threads": 2,
            "interview_patience_s": 0.3,
            "interview_follow_ups": 0,
            # Plans and feedback offline, so the questions are the tailored offline plan.
            "document_parser": "heuristic",
            "coaching_llm": "offline",
        }
    )


@pytest.fixture(params=["offline", "llm"])
async def server(
    request: pytest.FixtureRequest, offline_settings: Settings
) -> AsyncIterator[RunningServer]:
    if request.param == "offline":
        async with run_server(offline_settings) as running:
            yield running
        return
    async with run_fake_openai() as llm:
        # The LLM greets by name; its other replies repeat the answer (the fake's default).
        llm.script(f"Hello {NAME}, welcome. Tell me about the Quarrington ledger.")
        with_llm = offline_settings.model_copy(
            update={
                "openai_api_key": SecretStr(llm.api_key),
                "openai_base_url": llm.openai_base_url,
                "llm_providers": ["openai"],
                "llm_first_token_timeout_s": 5.0,
            }
        )
        async with run_server(with_llm) as running:
            yield running


def kokoro_of(server: RunningServer) -> tuple[KokoroSynthesizer, PhraseCache]:
    providers = server.app.state.services.providers
    assert isinstance(providers, ConfiguredProviders)
    kokoro = providers.kokoro()
    assert kokoro.cache is not None
    return kokoro, kokoro.cache


def files_under(folder: Path) -> set[Path]:
    """Every file, a cache entry still being written (``.<entry>.<pid>.<thread>``, renamed
    into place when whole) under the entry it will be."""
    return {_entry(path) for path in folder.rglob("*") if path.is_file()}


def _entry(path: Path) -> Path:
    name = path.name
    if name.startswith(".") and ".pcm." in name:
        return path.with_name(name[1:].split(".pcm.")[0] + ".pcm")
    return path


def _base64_cores(raw: bytes) -> list[bytes]:
    """The base64 text of ``raw`` wherever it sits in a longer value: at each of the three
    alignments, less the characters its neighbours change."""
    cores = []
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + raw)
        cores.append(encoded[4 if offset else 0 : -4])
    return cores


def name_forms() -> list[tuple[str, bytes, bool]]:
    """(what, bytes, case-insensitive) for every way the name could be written."""
    forms: list[tuple[str, bytes, bool]] = []
    for word in (*NAME_WORDS, NAME):
        for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
            # ASCII letters keep their byte values in each of these, so lowering the file's
            # bytes makes the search case-insensitive in every one of them.
            forms.append((f"{word} in {encoding}", word.lower().encode(encoding), True))
        for variant in (word, word.lower(), word.upper()):
            raw = variant.encode()
            forms.append((f"{variant} as hex", raw.hex().encode(), True))
            forms += [(f"{variant} in base64", core, False) for core in _base64_cores(raw)]
    return forms


def files_naming_the_candidate(folder: Path) -> list[tuple[Path, str]]:
    found = []
    forms = name_forms()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a cache entry renamed into place meanwhile
            continue
        lowered = data.lower()
        found += [
            (path, what)
            for what, needle, anycase in forms
            if needle in (lowered if anycase else data)
        ]
    return found


def generic_paths(cache: PhraseCache, kokoro: KokoroSynthesizer) -> set[Path]:
    """Where every generic sentence would be on disk in the voice the interviews use."""
    voice = kokoro.voice_for("default")
    keys = (PhraseKey(kokoro.engine.model_id, voice, kokoro.speed, s) for s in cache.generic)
    return {path for path in map(cache.path, keys) if path is not None}


async def transcribe(whisper: WhisperEngine, pcm: bytes, rate: int) -> str:
    audio = (np.frombuffer(resample(pcm, rate, 16000), dtype="<i2") / 32768).astype(np.float32)
    return (await whisper.submit(audio).future).text


async def _created(
    http: httpx.AsyncClient, auth: dict[str, str], path: str, **request: Any
) -> dict[str, Any]:
    response = await http.post(path, headers=auth, **request)
    assert response.status_code == 201, response.text
    created = dict(response.json())

    async def current() -> dict[str, Any]:
        return dict((await http.get(f"{path}/{created['id']}", headers=auth)).json())

    return await eventually(current, lambda body: body["status"] == "ready", within=30)


# The data directory is where SQLite keeps its file; Postgres keeps its rows elsewhere, and
# the rest of the suite holds interviews on both.
@pytest.mark.parametrize("backend", ["sqlite"])
async def test_interviewer_audio_on_disk_never_names_the_candidate(
    server: RunningServer, spoken_answer: bytes
) -> None:
    data_dir = server.settings.data_dir
    kokoro, cache = kokoro_of(server)  # loaded, as after an earlier live session
    whisper = shared_engine(str(bundled_whisper_model()), WhisperOptions(cpu_threads=2))
    await whisper.load()
    llm = server.settings.openai_api_key is not None
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:
        tokens = await register(http, "zq@example.org", name=NAME)
        auth = bearer(tokens["access_token"])
        resume = await _created(
            http, auth, "/v1/resumes", files={"file": ("cv.pdf", pdf(RESUME), "application/pdf")}
        )
        job = await _created(http, auth, "/v1/jobs", json={"text": JOB})
        before = files_under(data_dir)
        created = await http.post(
            "/v1/interviews",
            headers=auth,
            json={
                "type": "mixed",
                "question_count": 2,
                "resume_id": resume["id"],
                "job_id": job["id"],
            },
        )
        assert created.status_code == 201, created.text
        interview = created.json()
        questions = [q["text"] for q in interview["questions"]]
        assert all("Quarrington" in q for q in questions), questions  # tailored
        iid = interview["id"]

        if not llm:
            # The greeting naming the candidate, prepared at creation, is in memory only.
            async def prepared() -> int:
                return cache.private_bytes()

            await eventually(prepared, bool, within=120)
            assert files_naming_the_candidate(data_dir) == []

        ticket = await http.post(f"/v1/interviews/{iid}/ticket", headers=auth)
        url = f"{server.ws_url}/v1/interviews/{iid}/live?ticket={ticket.json()['ticket']}"
        async with live(url) as client:
            greeting_audio = await hold_interview(client, spoken_answer)
        assert not client.matching("error"), client.matching("error")
        assert client.matching("interview_end")[0]["reason"] == "completed"
        if not llm:
            # The greeting played from memory at once, as it did from disk before.
            assert client.matching("metrics")[0]["metrics"]["tts_first_byte_ms"] < 250

        async def private_left() -> int:
            return cache.private_bytes()

        await eventually(private_left, lambda left: left == 0, within=10)

        # The check hears the name when it is there: in what the candidate heard.
        heard = await transcribe(whisper, greeting_audio, OUTPUT_RATE)
        assert HEARD_AS_NAME.search(heard), heard

        assert files_naming_the_candidate(data_dir) == []

        # Generic phrases are prepared while nobody speaks, so the last may land after
        # the interview's end.
        async def on_disk() -> list[Path]:
            return sorted((data_dir / "cache" / DISK_FOLDER).rglob("*.pcm"))

        cached = await eventually(on_disk, bool, within=60)
        assert cached, "the interview cached no generic phrase"
        transcripts = [await transcribe(whisper, *read_entry(path)) for path in cached]
        assert any(transcripts), transcripts
        assert [t for t in transcripts if HEARD_AS_NAME.search(t)] == []
        assert set(cached) <= generic_paths(cache, kokoro)  # generic by construction

        async def detail() -> dict[str, Any]:
            return dict((await http.get(f"/v1/interviews/{iid}", headers=auth)).json())

        await eventually(detail, lambda d: d["status"] == "completed", within=30)
        deleted = await http.request(
            "DELETE", "/v1/account", headers=auth, json={"password": PASSWORD}
        )
        assert deleted.status_code == 204, deleted.text

    assert files_naming_the_candidate(data_dir) == []
    # What the interview added to the data directory is generic phrases alone: audio
    # any interview says, made for no one.
    assert files_under(data_dir) - before <= generic_paths(cache, kokoro)
    assert cache.private_bytes() == 0


async def hold_interview(client: LiveClient, spoken_answer: bytes) -> bytes:
    """Greeting, a spoken answer, a typed one, the closing; returns the greeting's audio
    as the client heard it."""
    await client.send({"type": "start"})
    await client.wait_for("ready", within=30)
    microphone = Microphone(client)
    mic = asyncio.create_task(microphone.run())
    try:
        await client.wait_for("agent_turn_end", 1, within=120)
        greeting = bytes(client.audio)
        await microphone.say(spoken_answer)
        await client.wait_for("user_turn_end", 1, within=60)
        await client.wait_for("agent_turn_end", 2, within=120)
        await client.send({"type": "text", "text": TYPED_ANSWER})
        await client.wait_for("interview_end", within=120)
    finally:
        mic.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await mic
    return greeting


def test_what_an_untailored_interview_says_is_generic_by_construction() -> None:
    """Every chunk of an interview with no name and bank questions may go to disk (so it
    is prepared once for everyone); a name or a tailored question makes a chunk private."""
    cache = PhraseCache(None, generic=GENERIC_PHRASES, max_bytes=0)
    for kind in ("behavioral", "technical", "mixed"):
        interview = replace(session_interview(), kind=kind, questions=tuple(default_plan(kind, 12)))
        spoken = offline_phrases(interview, None, greeting=True)
        sentences = [s for chunk in spoken for s in segments(chunk)]
        assert [s for s in sentences if s not in cache.generic] == []
        named = offline_phrases(interview, "Zebedee", greeting=True)
        private = {s for chunk in named for s in segments(chunk)} - cache.generic
        assert private and all("Zebedee" in s for s in private)
    tailored = "The role asks for the Quarrington ledger. Tell me about a time you used it."
    assert all(s not in cache.generic for s in segments(tailored))


async def test_an_upgrade_removes_the_old_cache_that_held_personal_audio(
    settings: Settings,
) -> None:
    old = settings.data_dir / "cache" / "phrases" / "ab"
    old.mkdir(parents=True)
    (old / "ab01.pcm").write_bytes(b"IVPC" + NAME.encode("utf-16-le"))
    async with run_server(settings):
        assert not (settings.data_dir / "cache" / "phrases").exists()
    assert files_naming_the_candidate(settings.data_dir) == []
