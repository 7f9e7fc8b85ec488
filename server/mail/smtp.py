"""Sending through an SMTP server with aiosmtplib (STARTTLS, TLS or plain)."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from typing import Literal

import aiosmtplib

from server.mail.message import mime
from server.mail.types import Email, MailError

log = logging.getLogger("intrvuer.mail")

Security = Literal["starttls", "tls", "none"]


@dataclass(frozen=True, slots=True)
class SmtpOptions:
    host: str
    port: int = 587
    username: str = ""
    password: str = ""
    security: Security = "starttls"
    timeout_s: float = 20.0
    sender: str = "Intrvuer <no-reply@localhost>"
    # Certificates are checked against the system's CAs (or SSL_CERT_FILE); tests pass a
    # context that trusts their own server's certificate.
    tls_context: ssl.SSLContext | None = None


class SmtpMailer:
    name = "smtp"

    def __init__(self, options: SmtpOptions) -> None:
        self.options = options

    def _connection(self) -> dict[str, object]:
        o = self.options
        return {
            "hostname": o.host,
            "port": o.port,
            "username": o.username or None,
            "password": o.password or None,
            "use_tls": o.security == "tls",
            "start_tls": o.security == "starttls",
            "timeout": o.timeout_s,
            "tls_context": o.tls_context or ssl.create_default_context(),
        }

    async def send(self, email: Email) -> None:
        message = mime(email, sender=self.options.sender)
        try:
            await aiosmtplib.send(message, **self._connection())  # type: ignore[arg-type]
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            # The class and SMTP code tell the operator enough; the text may echo the address.
            code = getattr(error, "code", None)
            raise MailError(
                f"SMTP delivery failed: {error.__class__.__name__} {code or ''}"
            ) from None
        log.info("mail sent", extra={"subject": email.subject, "user_id": email.user_id})

    async def check(self) -> str:
        o = self.options
        client = aiosmtplib.SMTP(**self._connection())  # type: ignore[arg-type]
        try:
            await client.connect()
            await client.noop()
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            raise MailError(f"{o.host}:{o.port}: {error.__class__.__name__}: {error}") from None
        finally:
            if client.is_connected:
                await client.quit()
        login = f", logged in as {o.username}" if o.username else ""
        return f"smtp {o.host}:{o.port} ({o.security}{login})"
