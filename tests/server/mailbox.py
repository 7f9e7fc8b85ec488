"""Reading the mail a server sent: the ``.eml`` files of the embedded default, and the
links in messages (from those files or from the test SMTP server)."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.polling import eventually

_LINK = re.compile(r"https?://[^\s<>\"']+")


def eml_messages(data_dir: Path) -> list[EmailMessage]:
    """The messages written to ``DATA_DIR/mail``, oldest first."""
    paths = sorted((data_dir / "mail").glob("*.eml"), key=lambda path: path.stat().st_mtime_ns)
    messages = []
    for path in paths:
        parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    return str(part.get_content()) if part else ""


def links_in(text: str) -> list[str]:
    return _LINK.findall(text)


def link_to(links: list[str], page: str) -> str:
    """The one link that opens ``page`` of the web app (``/#/reset``)."""
    [link] = [link for link in links if urlsplit(link).fragment.split("?")[0] == page[2:]]
    return link


def token_of(link: str) -> str:
    """The ``token`` of a link to the web app: it sits in the fragment (``/#/reset?token=``)."""
    fragment = urlsplit(link).fragment
    query = fragment.split("?", 1)[1]
    [token] = parse_qs(query)["token"]
    return token


async def eml_link(data_dir: Path, to: str, page: str, *, count: int = 1) -> str:
    """The link to ``page`` of the newest ``.eml`` message to ``to`` once ``count`` such
    messages were written."""

    async def written() -> list[EmailMessage]:
        return [
            message
            for message in eml_messages(data_dir)
            if message["To"] == to and any(page in link for link in links_in(text_of(message)))
        ]

    found = await eventually(written, lambda messages: len(messages) >= count)
    return link_to(links_in(text_of(found[-1])), page)
