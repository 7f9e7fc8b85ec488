"""The embedded default: each message is written as an ``.eml`` file.

With no SMTP server configured a self-hoster can still finish a password reset: the
message lies in ``DATA_DIR/mail/`` (readable by the server's user only) and the log names
its subject, the recipient's user id and the file — never the address or the link.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from server.mail.message import mime
from server.mail.types import Email, MailError

log = logging.getLogger("intrvuer.mail")


class FileMailer:
    name = "file"

    def __init__(self, folder: Path, *, sender: str) -> None:
        self.folder = folder
        self.sender = sender

    async def send(self, email: Email) -> None:
        message = mime(email, sender=self.sender)
        stamp = message["Message-ID"].strip("<>").split("@")[0]
        path = self.folder / f"{stamp}.eml"
        try:
            await asyncio.to_thread(self._write, path, message.as_bytes())
        except OSError as error:
            raise MailError(f"could not write {path.name}: {error.strerror}") from None
        log.info(
            "mail written to a file",
            extra={"subject": email.subject, "user_id": email.user_id, "file": str(path)},
        )

    def _write(self, path: Path, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
        os.replace(temporary, path)

    async def check(self) -> str:
        return f"files in {self.folder} (no SMTP_HOST)"


class DisabledMailer:
    """``MAIL_DISABLED=true``: nothing is sent; each message is only logged as dropped."""

    name = "disabled"

    async def send(self, email: Email) -> None:
        log.info("mail disabled; message dropped", extra={"subject": email.subject})

    async def check(self) -> str:
        return "disabled (MAIL_DISABLED=true): no e-mail is sent"
