"""Browser fixtures: Debian's Chromium driven by Playwright, a fake microphone that plays
speech made with espeak-ng, a real server, and a folder for screenshots.

Chromium is used when present; with ``CI=true`` a missing Chromium fails the tests that
need it instead of skipping them (like Postgres and Redis in ``tests/conftest.py``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import service_missing
from tests.server.conftest import settings  # noqa: F401 - the server tests' settings fixture

__all__ = ["Artifacts", "BrowserLog", "launch", "playwright_api", "read_download", "speech_wav"]

CHROMIUM = os.environ.get("INTRVUER_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "web"

if TYPE_CHECKING:
    from playwright import async_api as playwright_api
else:
    playwright_api = pytest.importorskip("playwright.async_api")


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

    def watch(self, page: playwright_api.Page) -> None:
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))

    def _console(self, message: playwright_api.ConsoleMessage) -> None:
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
