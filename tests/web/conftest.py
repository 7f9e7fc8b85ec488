"""Browser fixtures: Debian's Chromium driven by Playwright, a fake microphone that plays
speech made with espeak-ng, a real server reached as a new user reaches it, and a folder
for screenshots.

Chromium is used when present; with ``CI=true`` a missing Chromium fails the tests that
need it instead of skipping them (like Postgres and Redis in ``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from pydantic import SecretStr

from server.origins import normalize
from server.settings import Settings
from tests.conftest import service_missing
from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai
from tests.server.conftest import settings  # noqa: F401 - the server tests' settings fixture
from tests.serving import RunningServer, run_server

__all__ = [
    "PASSWORD",
    "Artifacts",
    "BrowserLog",
    "assert_controls_labelled",
    "cloud_settings",
    "typed_answers_only",
    "launch",
    "playwright_api",
    "reached_at",
    "read_download",
    "room_counters",
    "sign_up",
    "speech_wav",
    "start_room",
    "wait_room",
]

PASSWORD = "correct horse battery"

CHROMIUM = os.environ.get("INTRVUER_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

if TYPE_CHECKING:
    from playwright import async_api as playwright_api
else:
    playwright_api = pytest.importorskip("playwright.async_api")


def reached_at(running: RunningServer, host: str = "localhost") -> RunningServer:
    """The server as the browser opens it: ``http://<host>:<port>``, an origin that is not
    ``PUBLIC_URL`` (left at its default), as when someone types ``localhost`` into the
    address bar. The server listens on 127.0.0.1; Chromium resolves ``localhost`` there."""
    url = f"http://{host}:{running.port}"
    assert normalize(url) != normalize(running.settings.public_url), "the test would prove nothing"
    return replace(running, url=url)


def speech_wav(path: Path, text: str, *, lead_s: float, tail_s: float) -> Path:
    """A 48 kHz mono WAV: ``lead_s`` of silence, ``text`` spoken by espeak-ng, then
    ``tail_s`` of silence."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            service_missing(tool, FileNotFoundError(tool))
    raw = path.with_suffix(".raw.wav")
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(raw), text], check=True)
    subprocess.run(
        [
            "sox",
            str(raw),
            "-r",
            "48000",
            "-c",
            "1",
            "-b",
            "16",
            str(path),
            "pad",
            str(lead_s),
            str(tail_s),
        ],
        check=True,
    )
    raw.unlink()
    return path


@dataclass
class Artifacts:
    """Screenshots of one test, numbered in the order they were taken."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    async def shot(self, page: playwright_api.Page, name: str, *, full_page: bool = False) -> Path:
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=full_page)
        self.taken.append(path)
        return path

    async def shot_of(self, element: playwright_api.Locator, name: str) -> Path:
        """A screenshot of one part of the page (a section, a banner)."""
        path = self.folder / f"{len(self.taken) + 1:02d}-{name}.png"
        await element.screenshot(path=str(path))
        self.taken.append(path)
        return path


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Artifacts:
    folder = ARTIFACTS / request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    print(f"\nscreenshots: {folder}")
    return Artifacts(folder)


@dataclass
class BrowserLog:
    """Console errors, page errors and CSP violations seen by a page; must stay empty."""

    problems: list[str] = field(default_factory=list)
    # (status, path) of API answers a test provokes on purpose, such as a wrong password.
    refusals: set[tuple[int, str]] = field(default_factory=set)

    def watch(self, page: playwright_api.Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def expect_refusal(self, status: int, path: str) -> None:
        """Chromium logs every 4xx answer as a console error: not a problem for these.
        A ``path`` ending in ``/`` stands for every path under it."""
        self.refusals.add((status, path))

    def _expected(self, message: playwright_api.ConsoleMessage) -> bool:
        if not message.text.startswith("Failed to load resource"):
            return False
        path = urlsplit(str(message.location.get("url", ""))).path
        return any(
            f"status of {status} " in message.text
            and (path == refused or (refused.endswith("/") and path.startswith(refused)))
            for status, refused in self.refusals
        )

    def _console(self, message: playwright_api.ConsoleMessage) -> None:
        if self._expected(message):
            return
        if message.type in ("error", "assert"):
            self.problems.append(f"console {message.type}: {message.text} @ {message.location}")
        elif "Content Security Policy" in message.text:
            self.problems.append(f"CSP: {message.text}")


@pytest.fixture
def chromium() -> str:
    if not Path(CHROMIUM).exists():
        service_missing("Chromium", FileNotFoundError(CHROMIUM))
    return CHROMIUM


@pytest.fixture
async def playwright(chromium: str) -> AsyncIterator[playwright_api.Playwright]:
    async with playwright_api.async_playwright() as running:
        yield running


async def launch(
    playwright: playwright_api.Playwright, microphone: Path | None = None
) -> playwright_api.Browser:
    """Headless Chromium with a fake microphone (a WAV played once) and no permission
    prompts."""
    args = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]
    if microphone is not None:
        args.append(f"--use-file-for-fake-audio-capture={microphone}%noloop")
    return await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)


async def read_download(download: playwright_api.Download) -> bytes:
    """The bytes of a file the page downloaded."""
    return await asyncio.to_thread(Path(await download.path()).read_bytes)


@pytest.fixture
def backend() -> str:
    # One backend is enough here: the storage and server suites cover both.
    return "sqlite"


@pytest.fixture
async def server(settings: Settings) -> AsyncIterator[RunningServer]:  # noqa: F811
    """The server as a fresh install runs it: no API keys, so offline voices (local
    Whisper, Kokoro) and the offline interviewer; no ``PUBLIC_URL``, opened at
    ``http://localhost:<port>``."""
    offline = settings.model_copy(
        update={"coaching_llm": "offline", "document_parser": "heuristic"}
    )
    async with run_server(offline) as running:
        yield reached_at(running)


@pytest.fixture
async def deepgram() -> AsyncIterator[FakeDeepgram]:
    async with run_fake_deepgram(FakeDeepgram(speak_ms_per_char=60.0, ms_per_word=150)) as fake:
        yield fake


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as fake:
        yield fake


def cloud_settings(
    settings: Settings,  # noqa: F811
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    **overrides: Any,
) -> Settings:
    """Settings of a server on cloud providers, each a wire-level fake."""
    return settings.model_copy(
        update={
            "deepgram_api_key": SecretStr(deepgram.api_key),
            "deepgram_base_url": deepgram.url,
            "openai_api_key": SecretStr(llm.api_key),
            "openai_base_url": llm.openai_base_url,
            "llm_providers": ["openai"],
            "interview_patience_s": 0.2,
            "deepgram_endpointing_ms": 300,
            "document_parser": "heuristic",
            "coaching_llm": "offline",
            **overrides,
        }
    )


def typed_answers_only(deepgram: FakeDeepgram) -> None:
    """The fake microphone beeps, and the fake Deepgram takes the beeps for speech unless
    told not to: for candidates who type their answers."""
    deepgram.speech_threshold_rms = float("inf")


@pytest.fixture
async def cloud_server(
    settings: Settings,  # noqa: F811
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
) -> AsyncIterator[RunningServer]:
    """The server on cloud providers, each a wire-level fake: timing is deterministic."""
    async with run_server(cloud_settings(settings, deepgram, llm)) as running:
        yield reached_at(running)


async def room_counters(page: playwright_api.Page) -> dict[str, Any]:
    return dict(
        await page.evaluate(
            "() => Object.fromEntries(Object.entries(window.intrvuerRoom)"
            ".filter(([, v]) => typeof v !== 'function'))"
        )
    )


async def wait_room(page: playwright_api.Page, condition: str, timeout_s: float = 20) -> None:
    await page.wait_for_function(
        f"() => window.intrvuerRoom && ({condition})", timeout=timeout_s * 1000
    )


async def assert_controls_labelled(page: playwright_api.Page) -> None:
    """Every visible form control and button has an accessible name."""
    unnamed = await page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea, button, meter, progress')]
        .filter((el) => el.offsetParent !== null && el.type !== 'hidden')
        .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
            && !el.getAttribute('aria-labelledby')
            && !(el.tagName === 'BUTTON' && el.textContent.trim()))
        .map((el) => el.outerHTML.slice(0, 80))"""
    )
    assert unnamed == []


async def sign_up(page: playwright_api.Page, server: RunningServer, email: str) -> None:
    await page.goto(server.url)
    await page.get_by_role("link", name="Create an account").click()
    await page.get_by_label("Name").fill("Ada")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("I am at least 16 years old.").check()
    await page.get_by_role("button", name="Create account").click()
    await page.get_by_role("heading", name="Hello, Ada").wait_for()


async def start_room(page: playwright_api.Page, server: RunningServer, email: str) -> None:
    """Sign up, plan a two-question interview and join its room."""
    await sign_up(page, server, email)
    await page.get_by_role("link", name="New interview").click()
    await page.get_by_label("Number of questions").fill("2")
    await page.get_by_role("button", name="Create and enter the room").click()
    await page.get_by_role("heading", name="Interview room").wait_for()
    await page.get_by_role("button", name="Join and allow the microphone").click()
