"""The browser app in real headless Chromium against a real server: a whole candidate
journey on the offline voices with a fake microphone, barge-in, reconnecting, and a
phone-sized screen.

The browser opens the server as a new user does, at ``http://localhost:<port>``, with
``PUBLIC_URL`` left at its default (``http://127.0.0.1:8000``): the server allows the
origin the browser reached it at. One test opens it at ``http://127.0.0.1:<port>``.

The microphone plays a WAV made with espeak-ng. The journey runs as a fresh install does,
with no API keys (local Whisper, Kokoro, the offline interviewer); the barge-in and
reconnect tests use the wire-level fakes of the cloud providers (``tests/fakes``), reached
through the real SDKs, because their timing is deterministic.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest
from pydantic import SecretStr

from server.settings import Settings
from tests.documents import make_docx, pdf
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.oauth_provider import FakeAccount, running_fake_provider
from tests.fakes.openai_compat import FakeOpenAI
from tests.serving import RunningServer, run_server
from tests.web.conftest import (
    PASSWORD,
    Artifacts,
    BrowserLog,
    assert_controls_labelled,
    launch,
    playwright_api,
    reached_at,
    read_download,
    room_counters,
    sign_up,
    speech_wav,
    start_room,
    typed_answers_only,
    wait_room,
)

pytest.importorskip("voices.deepgram_stt")

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
# What the fake microphone says (espeak-ng); local Whisper transcribes it in the room.
SPOKEN_ANSWER = "I led the billing migration and we reduced failed payments for our customers."
JOB = (
    "Senior Backend Engineer at Analytical Engines Ltd\n"
    "Requirements:\n- 5+ years of Python\n- Experience with PostgreSQL\n"
    "Responsibilities:\n- Design APIs\n- Mentor engineers\n"
)
LONG_GREETING = (
    "Welcome to this practice interview, it is good to have you here today. "
    "Before we begin, let me explain how this will work, step by step, slowly. "
    "I will ask a few questions and you can take your time with each of them."
)


async def test_candidate_journey(
    server: RunningServer,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
    tmp_path: Path,
) -> None:
    # The answer comes after the greeting has (nearly) been spoken; if the offline voice
    # is slow on a busy machine, the answer barges in instead: either way it is heard.
    microphone = speech_wav(tmp_path / "answer.wav", SPOKEN_ANSWER, lead_s=14.0, tail_s=40.0)
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
            files=[
                playwright_api.FilePayload(name="ada.pdf", mimeType="application/pdf", buffer=pdf())
            ]
        )
        await page.get_by_role("button", name="Upload").click()
        try:
            await page.locator("#resume-list li[data-status='ready']").wait_for(timeout=60000)
        except playwright_api.TimeoutError:
            print("resumes:", await page.locator("#resume-list").inner_text())
            raise
        # The bar follows the XMLHttpRequest's upload progress events to the end.
        progress = page.locator("#upload-progress")
        assert await progress.get_attribute("value") == "100"
        assert int(await progress.get_attribute("data-events") or 0) >= 1
        await page.get_by_role("button", name="View").click()
        await page.locator("#resume-detail").get_by_text("Python").first.wait_for()
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Download original").click()
        assert await read_download(await download_info.value) == pdf()
        # Archive hides it from the list until "Show archived"; unarchive brings it back.
        await page.get_by_role("button", name="Archive").click()
        await page.get_by_text("No resumes yet.").wait_for()
        await page.get_by_label("Show archived").check()
        await page.get_by_role("button", name="Unarchive").click()
        await page.locator("#resume-list li[data-status='ready'] .badge.archived").wait_for(
            state="detached"
        )
        await page.get_by_label("Show archived").uncheck()
        # A second resume (DOCX), deleted again.
        await page.get_by_label("PDF or DOCX, up to 10 MB").set_input_files(
            files=[playwright_api.FilePayload(name="old.docx", mimeType=DOCX, buffer=make_docx())]
        )
        await page.get_by_role("button", name="Upload").click()
        old = page.locator("#resume-list li", has_text="old.docx")
        await old.wait_for()
        await old.get_by_role("button", name="Delete").click()
        await old.wait_for(state="detached")
        assert await page.locator("#resume-list li").count() == 1
        await page.get_by_role("button", name="View").click()
        await page.locator("#resume-detail").get_by_text("Python").first.wait_for()
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

        # The room on offline voices: the greeting is played, the spoken answer is
        # transcribed by local Whisper and appears as a caption.
        await page.get_by_role("button", name="Join and allow the microphone").click()
        await wait_room(page, "window.intrvuerRoom.framesScheduled > 0", timeout_s=60)
        answer = page.locator(".caption.candidate:not(.interim)", has_text="migration")
        try:
            await answer.wait_for(timeout=60000)
        except playwright_api.TimeoutError:
            # What the room saw, for the failure report.
            print(
                "room:", await room_counters(page), await page.locator(".caption").all_inner_texts()
            )
            await artifacts.shot(page, "room-timeout")
            raise
        counters = await room_counters(page)
        assert counters["framesScheduled"] > 0 and counters["secondsScheduled"] > 0
        assert counters["framesScheduled"] <= counters["framesReceived"]
        assert counters["framesSent"] > 100
        print("room on offline voices:", counters)
        # The interviewer answers, and that turn is played too.
        await page.locator(".caption.interviewer").nth(1).wait_for(timeout=60000)
        await wait_room(
            page, f"window.intrvuerRoom.framesScheduled > {counters['framesScheduled']}", 60
        )
        await assert_controls_labelled(page)
        await artifacts.shot(page, "room")
        await page.get_by_role("button", name="End interview").click()
        await wait_room(page, "window.intrvuerRoom.state === 'ended'")
        await artifacts.shot(page, "room-ended")

        # The report.
        await page.get_by_role("link", name="Open the report").click()
        await page.get_by_role("heading", name="Interview report").wait_for()
        await page.get_by_text("migration").first.wait_for()
        # Feedback is made in the background; the page polls until it is ready.
        await page.get_by_role("heading", name="Answer by answer").wait_for(timeout=90000)
        assert await page.locator(".scores blockquote").count() > 0
        assert await page.locator(".coverage tbody tr").count() > 0
        assert await page.locator(".delivery dl").count() == 1
        await page.emulate_media(media="print")
        await artifacts.shot(page, "report-print", full_page=True)
        await page.emulate_media(media="screen")
        await artifacts.shot(page, "report", full_page=True)

        # A drill: one question practised again, then set beside the first attempt.
        report_url = page.url
        await page.get_by_role("button", name="Practise this question again").first.click()
        await page.wait_for_url("**/room")
        await page.goto(report_url)
        await page.get_by_role("heading", name="Attempts at the same question").wait_for()
        attempts = page.locator(".attempts table")
        await attempts.get_by_text("Not answered yet").wait_for()
        assert await attempts.locator("thead th").count() == 3  # the row names, two attempts
        await artifacts.shot(page, "report-attempts", full_page=True)

        # Progress charts on the dashboard, then a quiz on the job.
        await page.get_by_role("link", name="Dashboard").click()
        # Each dimension of the interview's own kind's rubric over time.
        await page.locator("svg.chart[aria-label^='Behavioural: rubric scores']").wait_for()
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
            await page.get_by_role("button", name="Export as JSON").click()
        exported_json = json.loads(await read_download(await download_info.value))
        assert "ada@example.org" in json.dumps(exported_json)
        async with page.expect_download() as download_info:
            await page.get_by_role("button", name="Export as ZIP (with original files)").click()
        exported = await read_download(await download_info.value)
        with zipfile.ZipFile(io.BytesIO(exported)) as archive:
            names = archive.namelist()
            assert any(archive.read(name) == pdf() for name in names), names
        deletion = page.get_by_role("form", name="Delete your account")
        await deletion.get_by_label("Current password").fill(PASSWORD)
        await page.get_by_label("I understand this cannot be undone.").check()
        await page.get_by_role("button", name="Delete my account").click()
        await page.get_by_role("heading", name="Your account was deleted").wait_for()
        remaining = {c["name"] for c in await context.cookies()}
        assert not remaining & {"intrvuer_refresh", "intrvuer_csrf"}
        await artifacts.shot(page, "deleted")
        assert log.problems == []
    finally:
        await browser.close()


async def test_barge_in_stops_the_interviewers_audio(
    cloud_server: RunningServer,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
    tmp_path: Path,
) -> None:
    # A greeting of ~13 s of audio; the microphone speaks 2.5 s after the room opens.
    llm.script(LONG_GREETING, "Of course. Tell me about a deadline you met.")
    deepgram.script("Sorry, could you repeat the question please")
    microphone = speech_wav(
        tmp_path / "barge.wav", "Sorry, could you repeat the question please", lead_s=2.5, tail_s=20
    )
    browser = await launch(playwright, microphone)
    log = BrowserLog()
    try:
        page = await browser.new_page()
        log.watch(page)
        await start_room(page, cloud_server, "barge@example.org")
        await wait_room(page, "window.intrvuerRoom.framesScheduled > 0")
        await wait_room(page, "window.intrvuerRoom.bargeIns > 0")
        counters = await room_counters(page)
        assert counters["stoppedPlayback"] >= 1, counters
        assert counters["pauses"] == 1 and counters["resumes"] == 0, counters
        print(f"barge-in: {counters['secondsScheduled']:.2f} s of the greeting scheduled")
        # Playback stopped with the greeting far from fully played, and nothing plays on.
        greeting_audio_s = len(LONG_GREETING) * 0.06
        assert counters["secondsScheduled"] < greeting_audio_s / 2
        assert counters["activeSources"] == 0
        interrupted = page.locator(".caption.interviewer", has_text="interrupted")
        await interrupted.wait_for()
        await page.locator(".caption.candidate", has_text="repeat the question").wait_for()
        await artifacts.shot(page, "barge-in")
        # The next turn plays again.
        scheduled = counters["framesScheduled"]
        await wait_room(page, f"window.intrvuerRoom.framesScheduled > {scheduled}")
        assert log.problems == []
    finally:
        await browser.close()


async def test_a_backchannel_pauses_the_interviewer_which_then_plays_on(
    cloud_server: RunningServer,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
    tmp_path: Path,
) -> None:
    llm.script(LONG_GREETING, "Thanks. Tell me about a deadline you met.")
    deepgram.script("Okay.")
    microphone = speech_wav(tmp_path / "okay.wav", "Okay.", lead_s=2.5, tail_s=30)
    browser = await launch(playwright, microphone)
    log = BrowserLog()
    try:
        page = await browser.new_page()
        log.watch(page)
        await start_room(page, cloud_server, "okay@example.org")
        await wait_room(page, "window.intrvuerRoom.framesScheduled > 0")
        await wait_room(page, "window.intrvuerRoom.pauses > 0")
        paused = await room_counters(page)
        # The audio it had not played was kept, and nothing plays while paused.
        assert paused["heldSeconds"] > 0 and paused["activeSources"] == 0, paused
        await wait_room(page, "window.intrvuerRoom.resumes > 0")
        scheduled = (await room_counters(page))["framesScheduled"]
        await wait_room(page, f"window.intrvuerRoom.framesScheduled > {scheduled}")
        # The greeting is spoken to its end: no barge-in, no "interrupted".
        await wait_room(page, "window.intrvuerRoom.state === 'listening'", 60)
        counters = await room_counters(page)
        assert counters["bargeIns"] == 0 and counters["resumes"] == 1, counters
        caption = page.locator(".caption.interviewer").first
        assert "interrupted" not in await caption.inner_text()
        greeting_audio_s = len(LONG_GREETING) * 0.06
        assert counters["secondsScheduled"] > greeting_audio_s * 0.9
        await artifacts.shot(page, "backchannel")
        assert log.problems == []
    finally:
        await browser.close()


async def test_room_reconnects_after_a_dropped_connection(
    cloud_server: RunningServer,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
) -> None:
    deepgram.speak_ms_per_char = 10.0
    llm.script("Hello, tell me about a deadline.", "Welcome back. Tell me about a deadline.")
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        page = await browser.new_page()
        log.watch(page)
        await start_room(page, cloud_server, "drop@example.org")
        await wait_room(page, "window.intrvuerRoom.framesScheduled > 0")
        await wait_room(page, "window.intrvuerRoom.state === 'listening'")
        await page.evaluate("() => window.intrvuerRoom.simulateDrop()")
        await wait_room(page, "window.intrvuerRoom.reconnects === 1")
        # The same interview goes on over a new socket (a new ticket): the interviewer
        # speaks again.
        await page.locator(".caption.interviewer").nth(1).wait_for()
        await wait_room(page, "window.intrvuerRoom.state !== 'connecting'")
        # Mute stops the microphone's frames; unmuting sends them again.
        mute = page.get_by_role("button", name="Mute")
        await mute.click()
        assert (
            await page.get_by_role("button", name="Unmute").get_attribute("aria-pressed") == "true"
        )
        sent = (await room_counters(page))["framesSent"]
        await page.wait_for_timeout(500)
        assert (await room_counters(page))["framesSent"] == sent
        await page.get_by_role("button", name="Unmute").click()
        await wait_room(page, f"window.intrvuerRoom.framesSent > {sent}")
        # Typed answers are the accessible alternative to speaking.
        await page.get_by_role("textbox", name="Type your answer instead").fill(
            "I planned the release early."
        )
        await page.keyboard.press("Tab")
        await page.keyboard.press("Enter")
        await page.locator(".caption.candidate", has_text="planned the release").wait_for()
        await artifacts.shot(page, "reconnected")
        assert log.problems == []
    finally:
        await browser.close()


async def test_the_app_at_127_0_0_1_on_a_port_public_url_does_not_name(
    cloud_server: RunningServer,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
) -> None:
    # PUBLIC_URL names port 8000; the server listens on another one.
    llm.script("Hello, tell me about a deadline.", "Thank you. What did you learn from it?")
    typed_answers_only(deepgram)
    at_ip = reached_at(cloud_server, "127.0.0.1")
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        page = await browser.new_page()
        log.watch(page)
        await sign_up(page, at_ip, "ip@example.org")
        # The refresh-cookie route checks the origin: the session survives a reload.
        await page.reload()
        await page.get_by_role("heading", name="Hello, Ada").wait_for()
        await page.get_by_role("link", name="New interview").click()
        await page.get_by_role("button", name="Create and enter the room").click()
        await page.get_by_role("heading", name="Interview room").wait_for()
        await page.get_by_role("button", name="Join and allow the microphone").click()
        # So does the live socket: it opens at once, with no reconnecting.
        await wait_room(page, "window.intrvuerRoom.state === 'listening'")
        assert (await room_counters(page))["reconnects"] == 0
        await page.get_by_role("textbox", name="Type your answer instead").fill(
            "I split the work and shipped on the Friday."
        )
        await page.get_by_role("button", name="Send answer").click()
        await page.locator(".caption.interviewer", has_text="learn").wait_for()
        await artifacts.shot(page, "room-at-127-0-0-1")
        assert page.url.startswith(f"http://127.0.0.1:{cloud_server.port}/")
        assert log.problems == []
    finally:
        await browser.close()


async def test_phone_sized_screen_and_keyboard(
    server: RunningServer, playwright: playwright_api.Playwright, artifacts: Artifacts
) -> None:
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        context = await browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
        )
        page = await context.new_page()
        log.watch(page)
        await page.goto(server.url)
        # Keyboard only: from the e-mail field to the sign-up link and into the form.
        await page.get_by_role("heading", name="Sign in").wait_for()
        await page.get_by_role("link", name="Create an account").focus()
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Create your account").wait_for()
        await page.get_by_label("Name").focus()
        await page.keyboard.type("Ada")
        await page.keyboard.press("Tab")
        await page.keyboard.type("phone@example.org")
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Tab")
        await page.keyboard.press("Space")
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Hello, Ada").wait_for()
        for route, heading in [
            ("#/dashboard", "Hello, Ada"),
            ("#/resumes", "Resumes"),
            ("#/jobs", "Job descriptions"),
            ("#/interviews/new", "New interview"),
            ("#/quizzes", "Quizzes"),
            ("#/account", "Account"),
        ]:
            await page.goto(f"{server.url}/{route}")
            await page.get_by_role("heading", name=heading, exact=True).wait_for()
            overflow = await page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (route, overflow)
            await assert_controls_labelled(page)
        await page.goto(f"{server.url}/#/interviews/new")
        await page.get_by_role("button", name="Create and enter the room").click()
        await page.get_by_role("heading", name="Interview room").wait_for()
        assert await page.evaluate("() => document.documentElement.scrollWidth") <= 390
        await artifacts.shot(page, "phone-room", full_page=True)
        # The theme is a preference kept in localStorage, applied before the first paint.
        await page.get_by_label("Theme").select_option("dark")
        assert await page.evaluate("() => localStorage.getItem('intrvuer.theme')") == "dark"
        await page.reload()
        await page.get_by_role("heading", name="Interview room").wait_for()
        assert await page.evaluate("() => document.documentElement.dataset.theme") == "dark"
        background = await page.evaluate("() => getComputedStyle(document.body).backgroundColor")
        assert background == "rgb(18, 19, 22)"
        await artifacts.shot(page, "phone-room-dark", full_page=True)
        await page.goto(f"{server.url}/privacy.html")
        await page.get_by_role("heading", name="Privacy policy").wait_for()
        await artifacts.shot(page, "phone-privacy")
        assert log.problems == []

        # The CSP forbids inline script, and this test's watch would see a violation.
        ran = await page.evaluate(
            """() => { const s = document.createElement('script');
            s.textContent = 'window.inlineRan = true'; document.body.append(s);
            return window.inlineRan === true; }"""
        )
        assert ran is False
        await page.wait_for_timeout(200)
        assert any("Content Security Policy" in problem for problem in log.problems)
    finally:
        await browser.close()


async def test_sign_in_offers_the_configured_providers_only(
    settings: Settings, playwright: playwright_api.Playwright
) -> None:
    browser = await launch(playwright)
    try:
        page = await browser.new_page()
        async with run_server(settings) as plain:
            await page.goto(reached_at(plain).url)
            await page.get_by_role("heading", name="Sign in").wait_for()
            assert await page.locator("#oauth-providers a").count() == 0
        with_github = settings.model_copy(
            update={"github_client_id": "id", "github_client_secret": SecretStr("secret")}
        )
        async with run_server(with_github) as configured:
            await page.goto(reached_at(configured).url)
            button = page.get_by_role("link", name="Sign in with GitHub")
            await button.wait_for()
            assert await button.get_attribute("href") == (
                "/v1/auth/oauth/github/start?redirect_to=%2F"
            )
            assert await page.get_by_role("link", name="Sign in with Google").count() == 0
    finally:
        await browser.close()


async def test_google_sign_in_lands_in_a_cookie_session(
    settings: Settings, playwright: playwright_api.Playwright, artifacts: Artifacts
) -> None:
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        async with running_fake_provider() as provider:
            provider.sign_in(
                "google", FakeAccount(subject="1082", email="grace@example.org", name="Grace")
            )
            configured = settings.model_copy(update=provider.settings_overrides())
            async with run_server(configured) as running:
                running.settings.public_url = running.url
                provider.allow_redirects_to(running.url)
                context = await browser.new_context()
                page = await context.new_page()
                log.watch(page)
                await page.goto(running.url)
                await page.get_by_role("link", name="Sign in with Google").click()
                # Made by Google: the age is confirmed before anything else.
                await page.get_by_role("heading", name="One more step").wait_for()
                assert "token" not in page.url
                await artifacts.shot(page, "confirm-age")
                await page.get_by_label("I am at least 16 years old.").check()
                await page.get_by_role("button", name="Continue").click()
                await page.get_by_role("heading", name="Hello, Grace").wait_for()
                cookies = {c["name"]: c for c in await context.cookies()}
                assert cookies["intrvuer_refresh"]["httpOnly"]
                await page.reload()
                await page.get_by_role("heading", name="Hello, Grace").wait_for()
        assert log.problems == []
    finally:
        await browser.close()
