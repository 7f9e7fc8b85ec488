"""Which mailer a server uses: a row per kind, the first whose condition holds."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from server.mail.files import DisabledMailer, FileMailer
from server.mail.smtp import SmtpMailer, SmtpOptions
from server.mail.types import Mailer
from server.settings import Settings


def smtp_options(settings: Settings) -> SmtpOptions:
    return SmtpOptions(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else "",
        security=settings.smtp_security,
        timeout_s=settings.smtp_timeout_s,
        sender=settings.mail_from,
    )


@dataclass(frozen=True)
class MailerKind:
    name: str
    applies: Callable[[Settings], bool]
    factory: Callable[[Settings], Mailer]


MAILERS: tuple[MailerKind, ...] = (
    MailerKind("disabled", lambda s: s.mail_disabled, lambda s: DisabledMailer()),
    MailerKind("smtp", lambda s: bool(s.smtp_host), lambda s: SmtpMailer(smtp_options(s))),
    MailerKind(
        "file", lambda s: True, lambda s: FileMailer(s.data_dir / "mail", sender=s.mail_from)
    ),
)


def open_mailer(settings: Settings) -> Mailer:
    kind = next(kind for kind in MAILERS if kind.applies(settings))
    return kind.factory(settings)
