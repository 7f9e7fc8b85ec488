"""What an e-mail is, and the interface every way of sending one implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class Email:
    """One message to one recipient, with a plain-text and an HTML part."""

    to: str
    subject: str
    text: str
    html: str
    user_id: str | None = None  # for the operator's log lines, which never hold the address


class MailError(Exception):
    """The message could not be handed over; the queue tries again later."""


class Mailer(Protocol):
    """Hands a message to whatever delivers it. Called only from queue jobs."""

    name: str

    async def send(self, email: Email) -> None: ...

    async def check(self) -> str:
        """A line for ``intrvuer doctor`` that says what is active; raises ``MailError``
        when it cannot work (the SMTP server refuses the login, say)."""
        ...
