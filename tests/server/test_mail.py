"""Outgoing e-mail against a real SMTP server (aiosmtpd on 127.0.0.1): STARTTLS and login,
both MIME parts, autoescaped templates, ``.eml`` files as the embedded default, and
delivery through the durable queue with retries and dead letters."""

from __future__ import annotations

import logging
import stat
from collections.abc import AsyncIterator
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from server.mail import MailError, open_mailer, send_later
from server.mail.files import FileMailer
from server.mail.outbox import handlers
from server.mail.registry import smtp_options
from server.mail.smtp import SmtpMailer
from server.mail.templates import SUBJECTS, render
from server.settings import Settings
from storage import Database
from storage.queue import DeadLetter, open_queue
from tests.polling import eventually
from tests.smtp import PASSWORD, USERNAME, RunningSmtp, start_smtp

CONTEXT = {
    "name": "Ada",
    "link": "http://127.0.0.1:8000/#/reset?token=abc",
    "support_email": "help@intrvuer.test",
    "public_url": "http://127.0.0.1:8000",
    "when": "2 December 2026, 05:00 UTC",
    "new_email": "new<script>alert(1)</script>@example.org",
    "version": "2026-12",
    "effective": "2 December 2026",
    "summary": "We now keep dead-letter jobs for 30 days at most.",
}


@pytest.fixture
async def smtp(tmp_path: Path) -> AsyncIterator[RunningSmtp]:
    running = await start_smtp(tmp_path)
    yield running
    running.stop()


def smtp_settings(smtp: RunningSmtp, tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        data_dir=tmp_path,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_username=USERNAME,
        smtp_password=PASSWORD,
        smtp_security="starttls",
        mail_from="Intrvuer <no-reply@intrvuer.test>",
        support_email="help@intrvuer.test",
    )


def mailer(smtp: RunningSmtp, tmp_path: Path) -> SmtpMailer:
    options = replace(smtp_options(smtp_settings(smtp, tmp_path)), tls_context=smtp.tls_context)
    return SmtpMailer(options)


def test_every_message_renders_both_parts_and_escapes_html() -> None:
    for template in SUBJECTS:
        email = render(template, to="ada@example.org", user_id="u1", **CONTEXT)
        assert email.subject == SUBJECTS[template]
        assert "help@intrvuer.test" in email.text and "help@intrvuer.test" in email.html
        assert "<script>" not in email.html
        assert "Ada" not in email.text + email.html  # no message names its recipient
    notice = render("email_change_notice", to="ada@example.org", user_id="u1", **CONTEXT)
    assert "&lt;script&gt;" in notice.html
    assert "new<script>" in notice.text  # plain text is not HTML: nothing to escape
    with pytest.raises(KeyError):
        render("no_such_message", to="a@b.c", user_id=None, **CONTEXT)


async def test_smtp_delivers_over_starttls_with_a_login(smtp: RunningSmtp, tmp_path: Path) -> None:
    sender = mailer(smtp, tmp_path)
    assert "smtp 127.0.0.1" in await sender.check()
    await sender.send(render("password_reset", to="ada@example.org", user_id="u1", **CONTEXT))
    [received] = await smtp.sink.wait_for(1)
    assert received.recipients == ["ada@example.org"]
    assert received.message["Subject"] == SUBJECTS["password_reset"]
    assert received.message["From"] == "Intrvuer <no-reply@intrvuer.test>"
    assert received.links() == [CONTEXT["link"]]
    assert 'href="http://127.0.0.1:8000/#/reset?token=abc"' in received.html
    assert smtp.sink.logins == [USERNAME, USERNAME]


async def test_a_refused_login_or_a_missing_server_is_a_mail_error(
    smtp: RunningSmtp, tmp_path: Path
) -> None:
    wrong = SmtpMailer(replace(mailer(smtp, tmp_path).options, password="wrong"))
    with pytest.raises(MailError):
        await wrong.check()
    email = render("verify_email", to="ada@example.org", user_id="u1", **CONTEXT)
    with pytest.raises(MailError) as failed:
        await wrong.send(email)
    assert "ada@example.org" not in str(failed.value)
    smtp.stop()
    with pytest.raises(MailError):
        await mailer(smtp, tmp_path).send(email)


async def test_without_smtp_messages_are_eml_files_and_the_log_names_no_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    files = open_mailer(settings)
    assert isinstance(files, FileMailer)
    with caplog.at_level(logging.INFO, logger="intrvuer.mail"):
        await files.send(render("password_reset", to="ada@example.org", user_id="u1", **CONTEXT))
    [path] = list((tmp_path / "mail").glob("*.eml"))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["To"] == "ada@example.org"
    assert CONTEXT["link"] in parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "u1" in logged and "ada@example.org" not in logged and "token=abc" not in logged
    disabled = open_mailer(settings.model_copy(update={"mail_disabled": True}))
    assert disabled.name == "disabled"


async def test_queued_mail_is_retried_until_smtp_answers_then_dead_letters(
    smtp: RunningSmtp, tmp_path: Path, db: Database
) -> None:
    settings = smtp_settings(smtp, tmp_path)
    queue = await open_queue(db=db, max_attempts=3, retry_base_s=0.05, poll_interval_s=0.01)
    jobs = handlers(mailer(smtp, tmp_path))
    try:
        # A refusing relay: the job fails and waits for a retry; the message goes out once
        # the relay answers again, within the attempts.
        smtp.sink.refusing = True
        await send_later(queue, settings, "verify_email", to="a@example.org", user_id="u1",
                         name="A", link="http://x/verify")  # fmt: skip
        assert await queue.process_available(jobs, consumer="t") == 1
        assert smtp.sink.messages == [] and await queue.pending_count() == 1
        smtp.sink.refusing = False
        await eventually(lambda: queue.process_available(jobs, consumer="t"), lambda n: n == 1)
        [delivered] = await smtp.sink.wait_for(1)
        assert delivered.recipients == ["a@example.org"]
        assert await queue.pending_count() == 0

        # A relay that stays down: after max_attempts the message is a dead letter.
        smtp.stop()
        await send_later(queue, settings, "verify_email", to="b@example.org", user_id="u2",
                         name="B", link="http://x/verify")  # fmt: skip

        async def dead_letters() -> list[DeadLetter]:
            await queue.process_available(jobs, consumer="t")
            return await queue.dead_letters()

        [dead] = await eventually(dead_letters, bool)
        assert dead.kind == "mail.send" and dead.attempts == 3
        assert "b@example.org" not in dead.last_error
    finally:
        await queue.close()
