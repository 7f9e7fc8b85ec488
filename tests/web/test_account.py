"""The account's life in real headless Chromium against a real server whose mail goes to
a real SMTP server (aiosmtpd on 127.0.0.1, STARTTLS and login, ``tests/smtp.py``): the
browser follows the links in the messages that arrive, as a person does.

"Forgot password?" through the reset link to a sign-in with the new password; the
verification banner, its resend button and the link that makes it go; Account → Security
(change the password and the address, the sessions signed in, sign out everywhere); the
banner of a changed privacy policy; the policy page's version; a refused Google sign-in
that says why.

The browser opens the server at ``http://localhost:<port>`` (``reached_at``). Links in
e-mails are built from ``PUBLIC_URL``, so the mail tests set it to that address, as a
deployment sets it to the one its users open.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator

import pytest

from server.mail.templates import SUBJECTS
from server.services import Services
from server.settings import Settings
from storage.policies import PolicyRepository
from tests.fakes.oauth_provider import FakeAccount, running_fake_provider
from tests.server.mailbox import link_to
from tests.server.test_account_mail import mail, smtp, with_smtp  # noqa: F401 - a fixture
from tests.serving import RunningServer, run_server
from tests.smtp import RunningSmtp
from tests.web.conftest import (
    PASSWORD,
    Artifacts,
    BrowserLog,
    assert_controls_labelled,
    launch,
    playwright_api,
    reached_at,
    sign_up,
)

NEW_PASSWORD = "a new horse battery"
# The second browser of the sessions test, told apart by its user agent.
FIREFOX_ON_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0"
)


@pytest.fixture
async def site(
    settings: Settings,
    smtp: RunningSmtp,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[RunningServer]:
    """The server sending its mail to the test SMTP server."""
    async with mail_server(with_smtp(settings, smtp, monkeypatch)) as running:
        yield running


@contextlib.asynccontextmanager
async def mail_server(settings: Settings) -> AsyncIterator[RunningServer]:
    async with run_server(settings) as running:
        opened = reached_at(running)
        # The port is only known now; links in e-mails point where the browser goes.
        running.settings.public_url = opened.url
        yield opened


def services_of(server: RunningServer) -> Services:
    svc: Services = server.app.state.services
    return svc


async def sign_in(page: playwright_api.Page, email: str, password: str) -> None:
    await page.get_by_role("heading", name="Sign in").wait_for()
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password", exact=True).fill(password)
    await page.get_by_role("button", name="Sign in", exact=True).click()


async def refused_sign_in(page: playwright_api.Page, email: str, password: str) -> str:
    """Sign in with a password that should not work; the page's error."""
    await sign_in(page, email, password)
    error = page.locator("#signin-error")
    await error.filter(has_text=re.compile(".")).wait_for()
    assert await page.get_by_role("heading", name="Sign in").is_visible()
    return await error.inner_text()


async def test_forgot_password_sets_a_new_one_through_the_e_mailed_link(
    site: RunningServer,
    smtp: RunningSmtp,  # noqa: F811
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
) -> None:
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        context = await browser.new_context(viewport={"width": 1000, "height": 760})
        page = await context.new_page()
        log.watch(page)
        log.expect_refusal(401, "/v1/auth/login")  # the old password
        log.expect_refusal(400, "/v1/auth/password/reset")  # the link used twice
        await sign_up(page, site, "ada@example.org")
        await page.get_by_role("button", name="Sign out", exact=True).click()

        await page.get_by_role("heading", name="Sign in").wait_for()
        await artifacts.shot(page, "sign-in")
        # By keyboard: the link, the address, Enter.
        await page.get_by_role("link", name="Forgot password?").focus()
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Forgot your password?").wait_for()
        await assert_controls_labelled(page)
        await page.get_by_label("E-mail").focus()
        await page.keyboard.type("ada@example.org")
        await page.keyboard.press("Enter")
        await page.get_by_role("heading", name="Check your e-mail").wait_for()
        # The same answer for every address: it does not say whether the account exists.
        assert "If an account uses this address" in await page.locator("#forgot-sent").inner_text()
        await artifacts.shot(page, "forgot-sent")
        await page.get_by_role("link", name="ask again").click()
        await page.get_by_role("heading", name="Forgot your password?").wait_for()

        # The link from the message, opened in a new tab as a mail client does.
        message = await mail(smtp, "ada@example.org", "password_reset")
        link = link_to(message.links(), "/#/reset")
        assert link.startswith(f"{site.url}/#/reset?token=")
        tab = await context.new_page()
        log.watch(tab)
        await tab.goto(link)
        await tab.get_by_role("heading", name="Choose a new password").wait_for()
        assert "token" not in tab.url  # out of the address bar and the history
        await assert_controls_labelled(tab)
        await tab.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await tab.get_by_label("Repeat the new password").fill("not the same password")
        await tab.get_by_role("button", name="Set the new password").click()
        assert "not the same" in await tab.locator("#reset-error").inner_text()
        assert await tab.evaluate("() => document.activeElement.name") == "repeat-password"
        await artifacts.shot(tab, "reset-mismatch")
        await tab.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        assert await tab.locator("#reset-error").inner_text() == ""
        await tab.get_by_role("button", name="Set the new password").click()

        await tab.get_by_role("heading", name="Sign in").wait_for()
        assert "password was changed" in await tab.locator("#signin-status").inner_text()
        assert "incorrect" in await refused_sign_in(tab, "ada@example.org", PASSWORD)
        await tab.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        await tab.get_by_role("button", name="Sign in", exact=True).click()
        await tab.get_by_role("heading", name="Hello, Ada").wait_for()

        # The link works once.
        await tab.goto(link)
        await tab.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await tab.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        await tab.get_by_role("button", name="Set the new password").click()
        await tab.locator("#reset-error", has_text="invalid").wait_for()
        await tab.get_by_role("link", name="Ask for a new link").wait_for()
        assert log.problems == []
    finally:
        await browser.close()


async def test_the_verification_banner_sends_a_new_link_until_the_address_is_confirmed(
    settings: Settings,
    smtp: RunningSmtp,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
) -> None:
    configured = with_smtp(settings, smtp, monkeypatch, mail_link_rate_limit=2)
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        async with mail_server(configured) as server:
            context = await browser.new_context(viewport={"width": 1000, "height": 700})
            page = await context.new_page()
            log.watch(page)
            log.expect_refusal(429, "/v1/auth/verify-email/resend")
            log.expect_refusal(400, "/v1/auth/verify-email")  # a link used twice
            await sign_up(page, server, "bob@example.org")
            banner = page.locator("#verify-banner")
            await banner.wait_for()
            assert "bob@example.org" in await banner.inner_text()
            await assert_controls_labelled(page)

            resend = page.get_by_role("button", name="Send the link again")
            outcome = page.locator("#verify-banner-status")
            await resend.click()
            await outcome.filter(has_text="24 hours").wait_for()
            await artifacts.shot_of(banner, "verification-banner")
            await artifacts.shot(page, "verification-banner-page")
            await outcome.evaluate("(element) => { element.textContent = ''; }")
            await resend.click()
            await outcome.filter(has_text="24 hours").wait_for()
            await resend.click()  # past MAIL_LINK_RATE_LIMIT
            await outcome.filter(has_text="Too many verification e-mails").wait_for()
            assert re.search(r"Try again in \d+ seconds", await outcome.inner_text())
            assert await page.evaluate("() => document.activeElement.id") == "resend-verification"

            newest = await mail(smtp, "bob@example.org", "verify_email", count=3)
            first = smtp.sink.to("bob@example.org")[0]  # sent at registration
            assert first.message["Subject"] == SUBJECTS["verify_email"]
            await page.goto(link_to(newest.links(), "/#/verify"))
            await page.get_by_role("heading", name="Your e-mail address is confirmed").wait_for()
            assert "bob@example.org" in await page.locator("#link-outcome").inner_text()
            assert "token" not in page.url
            await banner.wait_for(state="detached")
            await page.get_by_role("link", name="Go to your dashboard").click()
            await page.get_by_role("heading", name="Hello, Ada").wait_for()
            await page.reload()
            await page.get_by_role("heading", name="Hello, Ada").wait_for()
            await page.wait_for_load_state("networkidle")
            assert await banner.count() == 0

            # Opened where nobody is signed in, a link still confirms, and says where to go.
            elsewhere = await (await browser.new_context()).new_page()
            log.watch(elsewhere)
            await elsewhere.goto(link_to(first.links(), "/#/verify"))
            await elsewhere.get_by_role(
                "heading", name="Your e-mail address is confirmed"
            ).wait_for()
            await elsewhere.get_by_role("link", name="Sign in").click()
            await elsewhere.get_by_role("heading", name="Sign in").wait_for()
            await elsewhere.goto(link_to(first.links(), "/#/verify"))
            await elsewhere.get_by_role("heading", name="This link did not work").wait_for()
            assert "used already" in await elsewhere.locator("#link-outcome").inner_text()
        assert log.problems == []
    finally:
        await browser.close()


async def test_security_settings_change_the_password_and_address_and_end_sessions(
    site: RunningServer,
    smtp: RunningSmtp,  # noqa: F811
    playwright: playwright_api.Playwright,
    artifacts: Artifacts,
) -> None:
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        context = await browser.new_context(viewport={"width": 1100, "height": 900})
        page = await context.new_page()
        log.watch(page)
        log.expect_refusal(403, "/v1/me/password")  # the wrong current password
        await sign_up(page, site, "ada@example.org")
        await page.get_by_role("link", name="Account").click()
        security = page.locator("#security")
        await security.wait_for()
        await assert_controls_labelled(page)
        password_form = page.locator("#password-change")

        # Change the password: the wrong current one is refused, then it changes.
        await password_form.get_by_label("Current password").fill("not my password")
        await password_form.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        await password_form.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
        await password_form.get_by_role("button", name="Change password").click()
        await page.locator("#password-error", has_text="current password").wait_for()
        assert await page.evaluate("() => document.activeElement.id") == "current-password"
        await password_form.get_by_label("Current password").fill(PASSWORD)
        await password_form.get_by_role("button", name="Change password").click()
        await page.locator("#password-status", has_text="password was changed").wait_for()

        # Another browser: the old password fails, the new one signs in.
        other_context = await browser.new_context(user_agent=FIREFOX_ON_WINDOWS)
        other = await other_context.new_page()
        other_log = BrowserLog()
        other_log.watch(other)
        other_log.expect_refusal(401, "/v1/auth/login")  # the old password
        # Signed out from the first browser: whatever it asks next is refused.
        other_log.expect_refusal(401, "/v1/")
        await other.goto(site.url)
        await refused_sign_in(other, "ada@example.org", PASSWORD)
        await other.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
        await other.get_by_role("button", name="Sign in", exact=True).click()
        await other.get_by_role("heading", name="Hello, Ada").wait_for()

        # Both sessions are listed, this one marked.
        await page.reload()
        sessions = page.locator("ul.sessions > li")
        await sessions.nth(1).wait_for()
        assert await sessions.count() == 2
        current = page.locator('ul.sessions > li[data-current="true"]')
        assert "this browser" in await current.inner_text()
        assert "Chrome on Linux" in await current.inner_text()
        assert (
            "Firefox on Windows"
            in await page.locator('ul.sessions > li[data-current="false"]').inner_text()
        )
        assert await current.get_by_role("button").count() == 0
        await assert_controls_labelled(page)
        await artifacts.shot_of(security, "security")

        # Sign the other one out: its very next request finds it signed out.
        await page.get_by_role("button", name=re.compile(r"^Sign out Firefox on Windows")).click()
        await page.locator(
            "#sessions-status", has_text="Firefox on Windows was signed out"
        ).wait_for()
        assert await sessions.count() == 1
        assert await page.evaluate("() => document.activeElement.id") == "sessions-title"
        await other.get_by_role("link", name="Account").click()
        await other.get_by_role("heading", name="Sign in").wait_for()
        assert await other.get_by_role("button", name="Sign out", exact=True).is_hidden()

        # Change the address: the link goes to the new one, and works where nobody is
        # signed in.
        email_form = page.locator("#email-change")
        await email_form.get_by_label("New e-mail address").fill("ada.new@example.org")
        await email_form.get_by_label("Current password").fill(NEW_PASSWORD)
        await email_form.get_by_role("button", name="Send a confirmation link").click()
        await page.locator("#email-status", has_text="ada.new@example.org").wait_for()
        message = await mail(smtp, "ada.new@example.org", "email_change_confirm")
        await other.goto(link_to(message.links(), "/#/confirm-email"))
        await other.get_by_role("heading", name="Your e-mail address was changed").wait_for()
        assert "ada.new@example.org" in await other.locator("#link-outcome").inner_text()
        await artifacts.shot(other, "address-changed")
        await other.get_by_role("link", name="Sign in").click()
        await sign_in(other, "ada.new@example.org", NEW_PASSWORD)
        # Back to the page it was on when its session was signed out.
        await other.get_by_role("heading", name="Account", exact=True).wait_for()
        assert "ada.new@example.org" in await other.get_by_role("form", name="Profile").inner_text()

        # Sign out everywhere: this browser too.
        await page.reload()
        await page.get_by_role("button", name="Sign out everywhere").click()
        await page.get_by_role("heading", name="Sign in").wait_for()
        assert "signed out everywhere" in await page.locator("#signin-status").inner_text()
        assert await page.get_by_role("button", name="Sign out", exact=True).is_hidden()
        await page.reload()
        await page.get_by_role("heading", name="Sign in").wait_for()
        await other.get_by_role("link", name="Dashboard").click()
        await other.get_by_role("heading", name="Sign in").wait_for()
        assert log.problems == []
        assert other_log.problems == []
    finally:
        await browser.close()


async def test_a_changed_policy_shows_a_banner_until_acknowledged(
    server: RunningServer, playwright: playwright_api.Playwright, artifacts: Artifacts
) -> None:
    policies = PolicyRepository(services_of(server).db)
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        page = await browser.new_page(viewport={"width": 1000, "height": 700})
        log.watch(page)
        log.expect_refusal(409, "/v1/me/policy-ack")  # a notice no longer the newest
        await sign_up(page, server, "ada@example.org")
        await policies.publish(
            "2027-02-01",
            summary="Interview transcripts are now kept for 90 days instead of 180.",
            material=True,
        )
        await page.reload()
        banner = page.locator("#policy-banner")
        await banner.wait_for()
        assert "kept for 90 days" in await banner.inner_text()
        assert "2027-02-01" in await banner.inner_text()
        link = banner.get_by_role("link", name="privacy policy")
        assert await link.get_attribute("href") == "/privacy.html"
        await assert_controls_labelled(page)
        await artifacts.shot_of(banner, "policy-banner")
        await artifacts.shot(page, "policy-banner-page")

        await banner.get_by_role("button", name="Got it").click()
        await banner.wait_for(state="detached")
        assert await page.evaluate("() => document.activeElement.tagName") == "H1"
        await page.reload()
        await page.locator("#verify-banner").wait_for()  # the notices were read
        assert await banner.count() == 0

        # A version published while the page is open: "Got it" on the older one shows it.
        await policies.publish(
            "2027-03-01", summary="Audit events are kept for a year.", material=True
        )
        await page.reload()
        await banner.filter(has_text="Audit events").wait_for()
        await policies.publish("2027-03-02", summary="Exports include quiz answers.", material=True)
        await banner.get_by_role("button", name="Got it").click()
        await banner.filter(has_text="Exports include quiz answers").wait_for()
        assert await page.evaluate("() => document.activeElement.id") == "policy-ack"
        await banner.get_by_role("button", name="Got it").click()
        await banner.wait_for(state="detached")
        assert log.problems == []
    finally:
        await browser.close()


async def test_the_privacy_page_shows_the_version_and_date_the_server_names(
    server: RunningServer, playwright: playwright_api.Playwright
) -> None:
    await PolicyRepository(services_of(server).db).publish(
        "2027-02-01", summary="Transcripts are kept for 90 days.", material=False
    )
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        page = await browser.new_page()
        log.watch(page)
        await page.goto(f"{server.url}/privacy.html")
        policy = await (await page.request.get(f"{server.url}/v1/policy")).json()
        assert policy["version"] == "2027-02-01"
        await page.locator("#policy-meta").wait_for()
        assert await page.locator("#policy-version").inner_text() == policy["version"]
        assert await page.locator("#policy-updated").inner_text() == policy["updated"]
        contact = page.locator("#policy-contact")
        assert await contact.inner_text() == policy["support_email"]
        assert await contact.get_attribute("href") == f"mailto:{policy['support_email']}"
        assert log.problems == []
    finally:
        await browser.close()


async def test_a_refused_google_sign_in_says_why(
    settings: Settings, playwright: playwright_api.Playwright, artifacts: Artifacts
) -> None:
    browser = await launch(playwright)
    log = BrowserLog()
    try:
        async with running_fake_provider() as provider:
            configured = settings.model_copy(update=provider.settings_overrides())
            async with run_server(configured) as running:
                running.settings.public_url = running.url
                provider.allow_redirects_to(running.url)
                page = await browser.new_page()
                log.watch(page)
                # A password account whose address is not confirmed yet...
                await sign_up(page, running, "grace@example.org")
                await page.get_by_role("button", name="Sign out", exact=True).click()
                # ...is not taken over by a Google account with the same address.
                provider.sign_in(
                    "google", FakeAccount(subject="1082", email="grace@example.org", name="Grace")
                )
                await page.get_by_role("link", name="Sign in with Google").click()
                error = page.locator("#signin-error")
                await error.filter(has_text="has not confirmed the address").wait_for()
                assert "Forgot password?" in await error.inner_text()
                assert "error" not in page.url
                await artifacts.shot(page, "google-refused")
                await page.get_by_role("heading", name="Sign in").wait_for()

                provider.deny = True
                await page.get_by_role("link", name="Sign in with Google").click()
                await error.filter(has_text="was cancelled").wait_for()
        assert log.problems == []
    finally:
        await browser.close()
