"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what it receives, for tests.

It speaks STARTTLS with a certificate made for the test (``tls_context`` trusts it) and
takes a login. ``refusing = True`` makes it answer every message with a temporary failure
(451), as a full or broken relay does; ``stop()`` takes it off the network and ``start()``
brings it back on the same port.
"""

from __future__ import annotations

import asyncio
import datetime
import email
import email.policy
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

USERNAME = "intrvuer"
PASSWORD = "smtp-test-password"  # noqa: S105 - the test server's own


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp.crt", folder / "smtp.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        return str(part.get_content()) if part else ""

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        return str(part.get_content()) if part else ""

    def links(self) -> list[str]:
        return re.findall(r"https?://[^\s<>\"']+", self.text)


@dataclass
class SmtpSink:
    messages: list[Received] = field(default_factory=list)
    refusing: bool = False
    logins: list[str] = field(default_factory=list)
    _arrived: asyncio.Condition = field(default_factory=asyncio.Condition)
    _loop: asyncio.AbstractEventLoop | None = None

    # aiosmtpd handler hooks (called on the controller's own thread and loop) ------------
    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refusing:
            return "451 4.3.0 Try again later"
        data = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        received = Received(str(envelope.mail_from), list(envelope.rcpt_tos), parsed)
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._add(received), self._loop).result(5)
        return "250 OK"

    async def _add(self, received: Received) -> None:
        async with self._arrived:
            self.messages.append(received)
            self._arrived.notify_all()

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USERNAME.encode(),
            PASSWORD.encode(),
        )
        if ok:
            self.logins.append(USERNAME)
        return AuthResult(success=ok, handled=False)

    async def wait_for(self, count: int = 1, *, within: float = 15) -> list[Received]:
        async with asyncio.timeout(within), self._arrived:
            await self._arrived.wait_for(lambda: len(self.messages) >= count)
        return self.messages

    def to(self, address: str) -> list[Received]:
        return [m for m in self.messages if address in m.recipients]


class RunningSmtp:
    def __init__(self, sink: SmtpSink, folder: Path) -> None:
        self.sink = sink
        cert, key = _certificate(folder)
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(cert, key)
        self.tls_context = ssl.create_default_context(cafile=str(cert))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.host = "127.0.0.1"
        self.cert_file = cert
        self._server_context = server_context
        self._controller: Controller | None = None
        self.running = False

    def start(self) -> None:
        """Start serving (again, after ``stop``: on the same port, as a relay back up)."""
        # A controller's event loop is closed when it stops: each start needs a new one.
        self._controller = Controller(
            self.sink,
            hostname=self.host,
            port=self.port,
            tls_context=self._server_context,
            require_starttls=True,
            authenticator=self.sink.authenticate,
            auth_required=True,
            ready_timeout=10,
        )
        self._controller.start()
        self.running = True

    def stop(self) -> None:
        if self.running and self._controller is not None:
            self._controller.stop()
            self.running = False


async def start_smtp(folder: Path) -> RunningSmtp:
    """Start the server; ``folder`` keeps its certificate."""
    sink = SmtpSink(_loop=asyncio.get_running_loop())
    running = RunningSmtp(sink, folder)
    await asyncio.to_thread(running.start)
    return running
