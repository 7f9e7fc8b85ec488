"""Real PDF and DOCX files for tests, made with reportlab and python-docx, and the bad
files an upload must refuse."""

from __future__ import annotations

import io
import zipfile

import docx
import pypdf
from reportlab.pdfgen import canvas

RESUME_LINES = [
    "Ada Lovelace",
    "ada.lovelace@example.org | (555) 010-0199 | London, UK | github.com/ada",
    "EXPERIENCE",
    "Senior Software Engineer — Analytical Engines Ltd",
    "Jan 2020 – Present",
    "• Built the difference engine's scheduler in Python",
    "• Mentored four engineers",
    "Software Engineer — Babbage & Co",
    "2016 - 2019",
    "• Wrote the first published algorithm",
    "EDUCATION",
    "B.Sc. Mathematics, University of London, 2012 – 2016",
    "SKILLS",
    "Python, Go, PostgreSQL, Kubernetes",
    "ACHIEVEMENTS",
    "• Royal Society Medal, 2021",
]


def pdf(lines: list[str] = RESUME_LINES, *, pages: int = 1) -> bytes:
    """A PDF with ``lines`` of text on each of ``pages`` pages."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=1)
    for _ in range(pages):
        y = 800.0
        for line in lines:
            page.setFont("Helvetica", 10)
            page.drawString(60, y, line)
            y -= 16
        page.showPage()
    page.save()
    return buffer.getvalue()


def image_only_pdf() -> bytes:
    """A PDF with a drawing and no text, like a scanned page."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer, invariant=1)
    page.rect(100, 100, 200, 300, fill=1)
    page.showPage()
    page.save()
    return buffer.getvalue()


def encrypted_pdf(user_password: str = "secret") -> bytes:  # noqa: S107 - a test file's password
    """``pdf()`` locked with a password (empty: locked for editing only)."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf())))
    writer.encrypt(user_password=user_password, owner_password="owner-secret", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx(lines: list[str] = RESUME_LINES) -> bytes:
    """A DOCX with one paragraph per line; lines starting with "• " become list items."""
    document = docx.Document()
    for line in lines:
        if line.startswith("• "):
            document.add_paragraph(line[2:], style="List Bullet")
        else:
            document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def corrupt_docx() -> bytes:
    """A DOCX whose zip is cut off half way."""
    data = make_docx()
    return data[: len(data) // 2]


def zip_bomb_docx(unpacked_bytes: int = 8 * 1024 * 1024) -> bytes:
    """A zip that looks like a DOCX and unpacks to ``unpacked_bytes`` from a few KB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", b"<" + b" " * unpacked_bytes + b">")
    return buffer.getvalue()
