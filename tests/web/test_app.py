"""The browser app in real headless Chromium against a real server: a whole candidate
journey with a fake microphone, barge-in, reconnecting, and a phone-sized screen.

Speech providers are the wire-level fakes the live tests use (``tests/fakes``), reached
through the real SDKs; the microphone plays a WAV made with espeak-ng.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from server.settings import Settings
from tests.documents import pdf
from tests.fakes.deepgram import FakeDeepgram, run_fake_deepgram
from tests.fakes.openai_compat import FakeOpenAI, run_fake_openai
from tests.serving import RunningServer, run_server
from tests.web.conftest import (
    Artifacts,
    BrowserLog,
    launch,
    playwright_api,
    read_download,
    speech_wav,
)

pytest.importorskip("voices.deepgram_stt")

PASSWORD = "correct horse battery"
ANSWER = "I led the billing migration and we cut failed payments by forty percent."
GREETING = "Hello and welcome. Tell me about a project you are proud of."
CLOSING = "Thank you, that is all for today. Goodbye."
JOB = (
    "Senior Backend Engineer at Analytical Engines Ltd\n"
    "Requirements:\n- 5+ years of Python\n- Experience with PostgreSQL\n"
    "Responsibilities:\n- Design APIs\n- Mentor engineers\n"
)


@pytest.fixture
def backend() -> str:
    # One backend is enough here: the storage suites cover both.
    return "sqlite"


@pytest.fixture
async def deepgram() -> AsyncIterator[FakeDeepgram]:
    async with run_fake_deepgram(FakeDeepgram(speak_ms_per_char=20.0, ms_per_word=150)) as fake:
        yield fake


@pytest.fixture
async def llm() -> AsyncIterator[FakeOpenAI]:
    async with run_fake_openai() as fake:
        yield fake


@pytest.fixture
async def server(
    settings: Settings, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> AsyncIterator[RunningServer]:
    configured = settings.model_copy(
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
        }
    )
    async with run_server(configured) as running:
        # The page's origin is the server's own: the live socket checks it.
        running.settings.public_url = running.url
        yield running


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


async def test_candidate_journey(
    server: RunningServer,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
    tmp_path: Path,
) -> None:
    deepgram.script(ANSWER)
    llm.script(GREETING, CLOSING)
    microphone = speech_wav(tmp_path / "answer.wav", ANSWER, lead_s=4.0, tail_s=20.0)
    browser = await launch(playwright, microphone)
    log = BrowserLog()
    try:
        context = await browser.new_context(
            viewport={"width": 1100, "height": 800}, accept_downloads=True
        )
        page = await context.new_page()
        log.watch(page)
        page.on("dialog", lambda dialog: dialog.accept())

        # Sign up: the refresh token is an HttpOnly cookie the page cannot read.
        await page.goto(server.url)
        await page.get_by_role("heading", name="Sign in").wait_for()
        await artifacts.shot(page, "sign-in")
        await page.get_by_role("link", name="Create an account").click()
        await assert_controls_labelled(page)
        await artifacts.shot(page, "sign-up")
        await page.get_by_label("Name").fill("Ada")
        await page.get_by_label("E-mail").fill("ada@example.org")
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Create account").click()
        assert "16" in await page.locator("#signup-error").inner_text() or await page.evaluate(
            "() => !document.querySelector('form').checkValidity()"
        )
        await page.get_by_label("I am at least 16 years old.").check()
        await page.get_by_role("button", name="Create account").click()
        await page.get_by_role("heading", name="Hello, Ada").wait_for()
        cookies = {c["name"]: c for c in await context.cookies()}
        assert cookies["intrvuer_refresh"]["httpOnly"] and cookies["intrvuer_refresh"]["secure"]
        assert cookies["intrvuer_refresh"]["sameSite"] == "Strict"
        assert "intrvuer_refresh" not in await page.evaluate("() => document.cookie")
        stored = await page.evaluate("() => JSON.stringify(Object.assign({}, localStorage))")
        assert "token" not in stored.lower()
        await artifacts.shot(page, "dashboard")

        # A reload keeps the session (the cookie refreshes the in-memory access token).
        await page.reload()
        await page.get_by_role("heading", name="Hello, Ada").wait_for()

        # Upload a resume: progress bar, then parse status polled until ready.
        await page.get_by_role("link", name="Resumes").click()
        await page.get_by_label("PDF or DOCX, up to 10 MB").set_input_files(
            files=[{"name": "ada.pdf", "mimeType": "application/pdf", "buffer": pdf()}]
        )
        await page.get_by_role("button", name="Upload").click()
        await page.locator("#resume-list li[data-status='ready']").wait_for(timeout=20000)
        assert await page.locator("#upload-progress").get_attribute("value") == "100"
        await page.get_by_role("button", name="View").click()
        await page.locator("#resume-detail").get_by_text("Python").first.wait_for()
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download original").click()
        assert await read_download(await download_info.value) == pdf()
        await assert_controls_labelled(page)
        await artifacts.shot(page, "resumes", full_page=True)

        # Paste a job description and see what was extracted.
        await page.get_by_role("link", name="Jobs").click()
        await page.get_by_label("Job description", exact=True).fill(JOB)
        await page.get_by_role("button", name="Save job").click()
        await page.locator("#job-detail .badge.ready").wait_for(timeout=20000)
        assert "Python" in await page.locator("#job-detail").inner_text()
        await artifacts.shot(page, "job", full_page=True)

        # A new interview from both.
        await page.get_by_role("link", name="New interview").click()
        await page.get_by_label("Number of questions").fill("1")
        await assert_controls_labelled(page)
        await artifacts.shot(page, "new-interview")
        await page.get_by_role("button", name="Create and enter the room").click()
        await page.get_by_role("heading", name="Interview room").wait_for()

        # The room: the greeting is played, the spoken answer appears as a caption.
        await page.get_by_role("button", name="Join and allow the microphone").click()
        await wait_room(page, "window.intrvuerRoom.framesScheduled > 0")
        # The final caption of the spoken answer (interim captions are marked as such).
        await page.locator(".caption.candidate:not(.interim)", has_text="forty percent").wait_for(
            timeout=30000
        )
        await page.locator(".caption.interviewer").nth(1).wait_for(timeout=20000)
        await wait_room(page, "window.intrvuerRoom.framesSent > 100")
        counters = await room_counters(page)
        assert counters["framesScheduled"] > 0 and counters["secondsScheduled"] > 0.5
        assert counters["framesScheduled"] == counters["framesReceived"]
        assert await page.locator(".caption.interviewer").first.inner_text() != ""
        await assert_controls_labelled(page)
        await artifacts.shot(page, "room")
        await page.get_by_role("button", name="End interview").click()
        await wait_room(page, "window.intrvuerRoom.state === 'ended'")
        await artifacts.shot(page, "room-ended")

        # The report.
        await page.get_by_role("link", name="Open the report").click()
        await page.get_by_role("heading", name="Interview report").wait_for()
        await page.get_by_text("forty percent").first.wait_for()
        # Feedback is made in the background; the page polls until it is ready.
        await page.get_by_role("heading", name="Answer by answer").wait_for(timeout=30000)
        assert await page.locator(".scores blockquote").count() > 0
        assert await page.locator(".coverage tbody tr").count() > 0
        assert await page.locator(".delivery dl").count() == 1
        await page.emulate_media(media="print")
        await artifacts.shot(page, "report-print", full_page=True)
        await page.emulate_media(media="screen")
        await artifacts.shot(page, "report", full_page=True)

        # Progress charts on the dashboard, then a quiz on the job.
        await page.get_by_role("link", name="Dashboard").click()
        await page.locator("svg.chart[aria-label^='Rubric scores']").wait_for()
        await artifacts.shot(page, "dashboard-progress", full_page=True)
        await page.get_by_role("link", name="Quizzes").click()
        await page.get_by_label("Questions").fill("2")
        await page.get_by_role("button", name="Make a quiz").click()
        await page.get_by_role("heading", name="Quiz", exact=True).wait_for()
        for radio in await page.locator("#quiz-area fieldset").all():
            await radio.get_by_role("radio").first.check()
        for text in await page.locator("#quiz-area textarea").all():
            await text.fill("I would measure it and mentor engineers on Python and PostgreSQL.")
        await page.get_by_role("button", name="Check my answers").click()
        await page.locator("#quiz-results", has_text="Score:").wait_for()
        await assert_controls_labelled(page)
        await artifacts.shot(page, "quiz", full_page=True)

        # Data & Privacy: export a ZIP, then delete the account.
        await page.get_by_role("link", name="Account").click()
        await page.get_by_role("heading", name="Data & Privacy").wait_for()
        await page.locator("#retention").wait_for()
        await page.locator("#audit-events li").first.wait_for()
        await assert_controls_labelled(page)
        await artifacts.shot(page, "account", full_page=True)
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Export as ZIP (with original files)").click()
        exported = await read_download(await download_info.value)
        with zipfile.ZipFile(io.BytesIO(exported)) as archive:
            names = archive.namelist()
            assert any(archive.read(name) == pdf() for name in names), names
        await page.get_by_label("Current password").fill(PASSWORD)
        await page.get_by_label("I understand this cannot be undone.").check()
        await page.get_by_role("button", name="Delete my account").click()
        await page.get_by_role("heading", name="Your account was deleted").wait_for()
        await artifacts.shot(page, "deleted")
        assert log.problems == []
    finally:
        await browser.close()
