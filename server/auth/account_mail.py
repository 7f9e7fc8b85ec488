"""The e-mails of an account's life: single-use links and the notices that go with them.

Each link carries a token of ``storage.email_tokens`` and opens a page of the web app,
which posts the token back:

- ``PUBLIC_URL/#/verify?token=…`` — confirms the address (24 hours), sent at registration
  and on request;
- ``PUBLIC_URL/#/reset?token=…`` — sets a new password (1 hour), asked for with the
  address alone;
- ``PUBLIC_URL/#/confirm-email?token=…`` — moves the account to a new address (24 hours),
  sent to that new address while the old one gets a notice.

A changed password is announced to the address too. Every message leaves through the
durable queue (sealed there: it holds an address and perhaps a link).

"Forgot password" must not tell whether an address has an account, not even by how long
it takes: the request only queues a sealed ``auth.password_reset_request`` job with the
address, the same for every address. The job looks the address up and, when it belongs
to an account, issues the link and queues the message.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from server.mail import send_later
from server.settings import Settings
from storage._util import utcnow
from storage.audit import AuditRepository
from storage.database import Database
from storage.email_tokens import EmailPurpose, EmailTokenRepository
from storage.queue import Handler, Job, JobQueue
from storage.types import User
from storage.users import UserRepository

log = logging.getLogger("intrvuer.account_mail")

# The templates state these durations in words: change both together.
LINK_TTL: dict[EmailPurpose, timedelta] = {
    EmailPurpose.verify_email: timedelta(hours=24),
    EmailPurpose.password_reset: timedelta(hours=1),
    EmailPurpose.email_change: timedelta(hours=24),
}
# The pages of the web app the links open (hash routes).
LINK_PAGES: dict[EmailPurpose, str] = {
    EmailPurpose.verify_email: "/#/verify",
    EmailPurpose.password_reset: "/#/reset",
    EmailPurpose.email_change: "/#/confirm-email",
}
FORGOT_PAGE = "/#/forgot"  # "if this was not you, reset your password"
SECURITY_PAGE = "/#/account"  # "if this was not you, change your password"

RESET_REQUEST_JOB = "auth.password_reset_request"


def long_time(moment: datetime) -> str:
    """``2 December 2026, 05:00 UTC``: as a notice states when something happened."""
    return f"{moment.astimezone(UTC):%-d %B %Y, %H:%M} UTC"


class AccountMail:
    """Issues links and queues the messages of one server (its database and queue)."""

    def __init__(self, db: Database, queue: JobQueue, settings: Settings) -> None:
        self.db = db
        self.queue = queue
        self.settings = settings

    def page(self, path: str) -> str:
        return f"{self.settings.public_url.rstrip('/')}{path}"

    async def _link(self, purpose: EmailPurpose, user: User, email: str) -> str:
        token = await EmailTokenRepository(self.db).issue(
            purpose, user_id=user.id, email=email, ttl=LINK_TTL[purpose]
        )
        return f"{self.page(LINK_PAGES[purpose])}?token={token}"

    async def _send(
        self,
        template: str,
        user: User,
        *,
        to: str,
        idempotency_key: str | None = None,
        **context: Any,
    ) -> None:
        await send_later(
            self.queue,
            self.settings,
            template,
            to=to,
            user_id=user.id,
            idempotency_key=idempotency_key,
            **context,
        )

    async def verification(self, user: User) -> None:
        """A link that confirms the account's current address."""
        link = await self._link(EmailPurpose.verify_email, user, user.email)
        await self._send("verify_email", user, to=user.email, link=link)

    async def password_reset(self, user: User, *, idempotency_key: str | None = None) -> None:
        """A link that sets a new password, to the account's address."""
        link = await self._link(EmailPurpose.password_reset, user, user.email)
        await self._send(
            "password_reset", user, to=user.email, link=link, idempotency_key=idempotency_key
        )

    async def email_change(self, user: User, new_email: str) -> None:
        """A confirmation link to ``new_email``; a notice to the address in use."""
        link = await self._link(EmailPurpose.email_change, user, new_email)
        await self._send("email_change_confirm", user, to=new_email, link=link)
        await self._send(
            "email_change_notice",
            user,
            to=user.email,
            new_email=new_email,
            link=self.page(SECURITY_PAGE),
        )

    async def password_changed(self, user: User, *, when: datetime | None = None) -> None:
        """The notice that the password changed (by a reset link or in the settings)."""
        await self._send(
            "password_changed",
            user,
            to=user.email,
            when=long_time(when or utcnow()),
            link=self.page(FORGOT_PAGE),
        )

    async def request_password_reset(
        self, email: str, *, ip: str | None, user_agent: str | None
    ) -> None:
        """Queue the look-up of ``email``: the same work whether it has an account or not."""
        await self.queue.enqueue(
            RESET_REQUEST_JOB, {"email": email, "ip": ip, "user_agent": user_agent}
        )


def handlers(mail: AccountMail) -> dict[str, Handler]:
    async def password_reset_request(job: Job) -> None:
        user = await UserRepository(mail.db).get_by_email(str(job.payload["email"]))
        if user is None:
            log.info("password reset asked for an address that has no account")
            return
        # Keyed by the job: a redelivery after a crash does not send a second message.
        await mail.password_reset(user, idempotency_key=f"password-reset:{job.id}")
        await AuditRepository(mail.db).record(
            "auth.password_reset_requested",
            user_id=user.id,
            target_id=user.id,
            ip=job.payload.get("ip"),
            user_agent=job.payload.get("user_agent"),
        )

    return {RESET_REQUEST_JOB: password_reset_request}
