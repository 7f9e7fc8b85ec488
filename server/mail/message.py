"""Building the MIME message of an ``Email``: plain text first, HTML as the alternative."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import make_msgid

from server.mail.types import Email


def mime(email: Email, *, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to
    message["Subject"] = email.subject
    domain = sender.rpartition("@")[2].strip(">") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(email.text)
    message.add_alternative(email.html, subtype="html")
    return message
