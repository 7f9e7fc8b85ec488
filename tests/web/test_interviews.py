"""Interviews in the browser from start to end, however they end: deleted from the
dashboard and from the report (each after a confirmation), taken over by a second tab,
resumed after the tab was closed, and concluded by the server (``completed`` or
``abandoned``) after the candidate left without "End interview".

The rooms run on the wire-level fakes of the cloud providers (deterministic timing); the
browser opens the server at ``http://localhost:<port>`` with no ``PUBLIC_URL``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings
from tests.fakes.deepgram import FakeDeepgram
from tests.fakes.openai_compat import FakeOpenAI
from tests.polling import eventually
from tests.processes import haproxy
from tests.serving import RunningServer, run_server
from tests.web.conftest import (
    Artifacts,
    BrowserLog,
    assert_controls_labelled,
    cloud_settings,
    launch,
    playwright_api,
    reached_at,
    room_counters,
    sign_up,
    start_room,
    typed_answers_only,
    wait_room,
)

REPLACED = "This interview continued in another tab or window."
# The interviewer of a two-question interview that is left and taken up again.
WELCOMED_BACK = (
    "Hello, tell me about a deadline.",
    "Thank you. What would you change next time?",
    "Welcome back. What would you change next time?",
    "Thank you, that is all.",
)
BOTH_ANSWERS = ("I planned the release early.", "I would test the rollback before the release.")


@pytest.fixture
async def short_window_server(
    settings: Settings, deepgram: FakeDeepgram, llm: FakeOpenAI
) -> AsyncIterator[RunningServer]:
    """A server that concludes an interview 1 s after its socket closed without "stop"."""
    configured = cloud_settings(
        settings, deepgram, llm, interview_resume_window_s=1.0, interview_sweep_interval_s=0.2
    )
    async with run_server(configured) as running:
        yield reached_at(running)


async def interviews_of(page: playwright_api.Page) -> dict[str, dict[str, Any]]:
    """The signed-in user's interviews by id, read through the page's own API client."""
    listed = await page.evaluate(
        "async () => (await (await import('/js/api.js')).api('/v1/interviews')).interviews"
    )
    return {item["id"]: item for item in listed}


async def answer_dialog(page: playwright_api.Page, *, accept: bool) -> list[str]:
    """Answer the next dialog the page opens; returns a list its message is put in. (The
    click that opens it waits until it is answered.)"""
    seen: list[str] = []

    async def answer(dialog: playwright_api.Dialog) -> None:
        seen.append(dialog.message)
        await (dialog.accept() if accept else dialog.dismiss())

    page.once("dialog", answer)
    return seen


async def type_answer(page: playwright_api.Page, text: str) -> None:
    await page.get_by_role("textbox", name="Type your answer instead").fill(text)
    await page.get_by_role("button", name="Send answer").click()
    await page.locator(".caption.candidate", has_text=text[:20]).wait_for()


async def last_answer_then_transcript(page: playwright_api.Page, text: str) -> list[str]:
    """Type the last answer, end the interview once the interviewer closes it, and read
    the candidate's answers from the report's transcript."""
    await type_answer(page, text)
    await page.locator(".caption.interviewer", has_text="that is all").wait_for()
    await page.get_by_role("button", name="End interview").click()
    await wait_room(page, "window.intrvuerRoom.state === 'ended'")
    await page.get_by_role("link", name="Open the report").click()
    await page.get_by_role("heading", name="Transcript").wait_for()
    return [
        text.split("You: ", 1)[1] for text in await page.locator(".transcript li").all_inner_texts()
    ]


async def test_an_interview_is_deleted_from_the_dashboard_and_from_its_report(
    server: RunningServer, playwright: playwright_api.Playwright, artifacts: Artifacts
) -> None:
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        page = await browser.new_page()
        log.watch(page)
        await sign_up(page, server, "delete@example.org")
        for _ in range(2):
            await page.get_by_role("link", name="New interview").click()
            await page.get_by_role("button", name="Create and enter the room").click()
            await page.get_by_role("heading", name="Interview room").wait_for()
        await page.get_by_role("link", name="Dashboard").click()
        rows = page.locator("#interview-list tbody tr")
        await rows.nth(1).wait_for()
        assert await rows.count() == 2
        newer, older = [await row.get_attribute("data-id") for row in await rows.all()]
        assert newer and older
        await assert_controls_labelled(page)
        await artifacts.shot(page, "dashboard-two-interviews", full_page=True)

        # Cancelling the confirmation deletes nothing.
        row = page.locator(f"#interview-list tr[data-id='{older}']")
        asked = await answer_dialog(page, accept=False)
        await row.get_by_role("button", name="Delete").click()
        assert len(asked) == 1 and "cannot be undone" in asked[0]
        assert await rows.count() == 2
        assert set(await interviews_of(page)) == {newer, older}

        # Accepting it deletes the interview, and the list shows what is left.
        await answer_dialog(page, accept=True)
        await row.get_by_role("button", name="Delete").click()
        await row.wait_for(state="detached")
        await page.locator("#status", has_text="Interview deleted.").wait_for()
        assert await rows.count() == 1
        assert set(await interviews_of(page)) == {newer}
        await artifacts.shot(page, "dashboard-after-delete", full_page=True)

        # From the report: the same confirmation, then back to an empty dashboard.
        await page.goto(f"{server.url}/#/interviews/{newer}/report")
        await page.get_by_role("heading", name="Interview report").wait_for()
        await answer_dialog(page, accept=True)
        await page.get_by_role("button", name="Delete this interview").click()
        await page.get_by_role("heading", name="Hello, Ada").wait_for()
        await page.get_by_text("No interviews yet.").wait_for()
        assert await interviews_of(page) == {}
        assert log.problems == []
    finally:
        await browser.close()


async def test_a_system_design_interview_is_chosen_with_its_kind_explained(
    server: RunningServer, playwright: playwright_api.Playwright, artifacts: Artifacts
) -> None:
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        page = await browser.new_page()
        log.watch(page)
        await sign_up(page, server, "design@example.org")
        await page.get_by_role("link", name="New interview").click()
        kind = page.get_by_label("Interview type")
        # evaluate_all does not wait: the page renders once its lists have arrived.
        await kind.wait_for()
        # Every kind is offered, and the one chosen is explained in one line.
        offered = await kind.locator("option").evaluate_all("options => options.map(o => o.value)")
        assert offered == ["behavioral", "technical", "system_design", "role", "mixed"]
        hint = page.locator("#" + (await kind.get_attribute("aria-describedby") or ""))
        assert "STAR" in (await hint.text_content() or "")
        await kind.select_option("system_design")
        await hint.filter(has_text="high-level design").wait_for()
        await artifacts.shot(page, "new-system-design-interview", full_page=True)
        await page.get_by_label("Number of questions").fill("3")
        await page.get_by_role("button", name="Create and enter the room").click()
        await page.get_by_role("heading", name="Interview room").wait_for()
        (created,) = (await interviews_of(page)).values()
        assert created["type"] == "system_design"
        assert len(created["questions"]) == 3
        assert all(q["kind"] == "system_design" for q in created["questions"])
        assert created["questions"][0]["text"].startswith("Design ")
        assert log.problems == []
    finally:
        await browser.close()


async def test_a_second_tab_takes_the_interview_over_and_the_first_stays_closed(
    cloud_server: RunningServer,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
) -> None:
    llm.script(
        "Hello, tell me about a deadline.",
        "Welcome back. Tell me about a deadline.",
        "Thank you. What did you learn?",
    )
    typed_answers_only(deepgram)
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        context = await browser.new_context()
        first = await context.new_page()
        log.watch(first)
        await start_room(first, cloud_server, "tabs@example.org")
        await wait_room(first, "window.intrvuerRoom.state === 'listening'")

        # The same room in a second tab of the same browser: it takes the interview over.
        second = await context.new_page()
        log.watch(second)
        await second.goto(first.url)
        await second.get_by_role("heading", name="Interview room").wait_for()
        await second.get_by_role("button", name="Join and allow the microphone").click()
        await wait_room(second, "window.intrvuerRoom.state === 'listening'")

        await first.get_by_text(REPLACED).wait_for()
        await wait_room(first, "window.intrvuerRoom.state === 'replaced'")
        # It stays so: no reconnecting, which would only take the interview back.
        await first.wait_for_timeout(2000)
        counters = await room_counters(first)
        assert counters["state"] == "replaced" and counters["reconnects"] == 0, counters
        assert await first.get_by_role("button", name="End interview").is_disabled()
        assert await first.get_by_role("button", name="Send answer").is_disabled()
        assert await first.locator("#room-error").inner_text() == ""
        await artifacts.shot(first, "first-tab-replaced")

        # The second tab goes on with the interview.
        await type_answer(second, "I planned the release early.")
        await second.locator(".caption.interviewer", has_text="learn").wait_for()
        assert (await room_counters(second))["reconnects"] == 0
        assert (await room_counters(first))["state"] == "replaced"
        await artifacts.shot(second, "second-tab-goes-on")
        assert log.problems == []
    finally:
        await browser.close()


async def test_a_closed_tab_leaves_the_interview_to_resume(
    cloud_server: RunningServer,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
) -> None:
    llm.script(*WELCOMED_BACK)
    typed_answers_only(deepgram)
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        context = await browser.new_context()
        page = await context.new_page()
        log.watch(page)
        await start_room(page, cloud_server, "resume@example.org")
        await wait_room(page, "window.intrvuerRoom.state === 'listening'")
        await type_answer(page, BOTH_ANSWERS[0])
        await page.locator(".caption.interviewer", has_text="change").wait_for()
        await page.close()  # no "End interview"

        page = await context.new_page()
        log.watch(page)
        await page.goto(cloud_server.url)
        row = page.locator("#interview-list tbody tr").first
        await row.wait_for()
        assert await row.get_attribute("data-status") == "live"
        await artifacts.shot(page, "dashboard-resume")
        await row.get_by_role("link", name="Resume", exact=True).click()
        await page.get_by_role("heading", name="Interview room").wait_for()
        await page.locator("#room-resume-note").wait_for()
        await page.get_by_role("button", name="Join and allow the microphone").click()
        await wait_room(page, "window.intrvuerRoom.state === 'listening'")
        answers = await last_answer_then_transcript(page, BOTH_ANSWERS[1])
        # Both answers, from before and after the tab was closed, are in the report, once.
        assert answers == list(BOTH_ANSWERS)
        assert log.problems == []
    finally:
        await browser.close()


async def test_interviews_left_without_ending_are_listed_as_ended(
    short_window_server: RunningServer,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
) -> None:
    server = short_window_server
    llm.script(
        "Hello, tell me about a deadline.",
        "Hello, tell me about a deadline.",
        "Thank you. What would you change next time?",
    )
    typed_answers_only(deepgram)
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        context = await browser.new_context()
        # One interview left as soon as the interviewer spoke: nothing was answered.
        page = await context.new_page()
        log.watch(page)
        await start_room(page, server, "left@example.org")
        await wait_room(page, "window.intrvuerRoom.state === 'listening'")
        silent = page.url.split("/interviews/")[1].split("/")[0]
        await page.close()

        # Another left after one answer.
        page = await context.new_page()
        log.watch(page)
        await page.goto(server.url)
        await page.get_by_role("link", name="New interview").click()
        await page.get_by_role("button", name="Create and enter the room").click()
        await page.get_by_role("heading", name="Interview room").wait_for()
        answered = page.url.split("/interviews/")[1].split("/")[0]
        await page.get_by_role("button", name="Join and allow the microphone").click()
        await wait_room(page, "window.intrvuerRoom.state === 'listening'")
        await type_answer(page, "I planned the release early and cut the scope.")
        await page.locator(".caption.interviewer", has_text="change").wait_for()
        await page.close()

        page = await context.new_page()
        log.watch(page)
        await page.goto(server.url)
        await page.get_by_role("heading", name="Hello, Ada").wait_for()

        async def statuses() -> dict[str, str]:
            return {key: item["status"] for key, item in (await interviews_of(page)).items()}

        concluded = {silent: "abandoned", answered: "completed"}
        await eventually(statuses, lambda found: found == concluded, within=30)
        await page.reload()
        silent_row = page.locator(f"#interview-list tr[data-id='{silent}']")
        answered_row = page.locator(f"#interview-list tr[data-id='{answered}']")
        await silent_row.wait_for()
        assert "abandoned — no answers were given" in await silent_row.inner_text()
        listed = page.locator("#interview-list")
        assert await listed.get_by_role("link", name="Resume", exact=True).count() == 0
        assert await silent_row.get_by_role("link", name="Report").count() == 0
        await artifacts.shot(page, "dashboard-ended", full_page=True)

        # The answered one has its report, scored as after "End interview".
        await answered_row.get_by_role("link", name="Report").click()
        await page.get_by_role("heading", name="Interview report").wait_for()
        await page.get_by_text("cut the scope").first.wait_for()
        await page.get_by_role("heading", name="Answer by answer").wait_for(timeout=30000)
        # Under the planned question it answers, without the greeting it followed.
        first = await page.locator(".answer-feedback h3").first.inner_text()
        assert first.startswith("Question 1: ") and "thanks for joining" not in first, first
        # Scored in the behavioural kind's terms, with what a stronger answer would hold.
        await page.get_by_role("heading", name="A stronger answer would…").first.wait_for()
        assert await page.locator(".scores strong", has_text="Action:").count() >= 1
        await page.get_by_text("Average score per dimension (1–5)").first.wait_for()
        await artifacts.shot(page, "report-after-leaving", full_page=True)

        await page.goto(f"{server.url}/#/interviews/{silent}/report")
        await page.get_by_text("abandoned — no answers were given").first.wait_for()
        assert log.problems == []
    finally:
        await browser.close()


async def test_a_draining_server_moves_the_interview_to_another_behind_the_balancer(
    settings: Settings,
    deepgram: FakeDeepgram,
    llm: FakeOpenAI,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
    tmp_path: Path,
) -> None:
    # Two servers on one database behind deploy/haproxy.cfg; the page knows only the
    # balancer's address.
    llm.script(*WELCOMED_BACK)
    typed_answers_only(deepgram)
    configured = cloud_settings(settings, deepgram, llm)
    browser = await launch(playwright)
    log = BrowserLog()
    async with (
        run_server(configured) as first,
        run_server(configured) as second,
        haproxy([first.port, second.port], tmp_path / "haproxy.log") as url,
    ):
        try:
            page = await (await browser.new_context()).new_page()
            log.watch(page)
            await start_room(page, replace(first, url=url), "moved@example.org")
            await wait_room(page, "window.intrvuerRoom.state === 'listening'")
            await type_answer(page, BOTH_ANSWERS[0])
            await page.locator(".caption.interviewer", has_text="change").wait_for()

            # The server holding the interview is stopped as a deploy stops it, with no
            # time left to drain: it asks the room to reconnect elsewhere.
            [holder] = [s for s in (first, second) if s.app.state.drain.live == 1]
            drain = holder.app.state.drain
            drain.begin(0)
            assert drain.finished() is False  # the session is told to move, then ends
            await wait_room(page, "window.intrvuerRoom.moves === 1", 30)
            await page.locator(".caption.interviewer", has_text="Welcome back").wait_for()
            await wait_room(page, "window.intrvuerRoom.state === 'listening'")
            [other] = [s for s in (first, second) if s is not holder]
            assert other.app.state.drain.live == 1 and drain.live == 0
            await artifacts.shot(page, "room-moved")

            answers = await last_answer_then_transcript(page, BOTH_ANSWERS[1])
            # Both answers, from before and after the move, once each.
            assert answers == list(BOTH_ANSWERS)
            assert log.problems == []
        finally:
            await browser.close()
