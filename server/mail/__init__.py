"""Outgoing e-mail: an interface, an SMTP adapter, and ``.eml`` files as the embedded default."""

from server.mail.outbox import MAIL_JOB, send_later
from server.mail.registry import open_mailer
from server.mail.types import Email, Mailer, MailError

__all__ = ["MAIL_JOB", "Email", "MailError", "Mailer", "open_mailer", "send_later"]
