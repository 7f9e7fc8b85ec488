"""Reading an uploaded resume: what kind of file it is, and its text.

The type is told from the bytes, never from the name or the declared content type: a PDF
starts with ``%PDF-``; a DOCX is a zip holding ``word/document.xml``. Both readers run on
hostile input, so each is bounded before it does any real work:

- PDF: at most ``MAX_PDF_PAGES`` pages (counted before any text is extracted), encrypted
  files refused unless they open with an empty password;
- DOCX: the zip's declared sizes and compression ratios are checked before anything is
  decompressed (a zip bomb is refused unopened), and the XML is parsed by python-docx,
  whose parser does not resolve entities;
- both: the text is cut at ``MAX_TEXT_CHARS``.

Everything here is synchronous and CPU-bound: call ``extract_text`` in a worker thread.
Failures raise ``DocumentError`` with the status and code to answer; the message never
quotes the document.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from pipeline.documents.types import DocumentError

log = logging.getLogger("intrvuer.documents")

MAX_FILE_BYTES: Final = 10 * 1024 * 1024
MAX_PDF_PAGES: Final = 50
MAX_TEXT_CHARS: Final = 100_000
# A DOCX is a zip: limits on what it says it would unpack to, checked before unpacking.
MAX_ZIP_ENTRIES: Final = 2_000
MAX_UNPACKED_BYTES: Final = 64 * 1024 * 1024
MAX_ENTRY_RATIO: Final = 100  # Office XML compresses 5-40x; a bomb, thousands of times
RATIO_CHECK_FROM_BYTES: Final = 1024 * 1024  # small entries may compress as they like

PDF_TYPE: Final = "application/pdf"
DOCX_TYPE: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

FileKind = Literal["pdf", "docx"]
# What a resume of each kind is stored and served as.
CONTENT_TYPES: Final[Mapping[FileKind, str]] = {"pdf": PDF_TYPE, "docx": DOCX_TYPE}

_PDF_MAGIC = b"%PDF-"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .doc (and .xls, .ppt)
# Bullet glyphs, and the code points PDF fonts without a bullet map theirs to.
_BULLET_LIKE = "•●○◦▪▫■□►▶➢➤✓✔❖◆◇·‣⁃∙\x7f\uf0b7\uf0a7\uf076\uf0d8\uf0fc"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]")
_TABS = re.compile(r"[ \u00a0]*\t[\t \u00a0]*")
_SPACES = re.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f\u3000]+")


@dataclass(frozen=True, slots=True)
class Extracted:
    """A readable upload: its kind (and so its content type) and its text (one line per
    line)."""

    kind: FileKind
    text: str
    pages: int | None  # PDF pages; None for DOCX, which has no fixed pages

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.kind]


def sniff(data: bytes) -> FileKind:
    """The kind of file ``data`` is, from its first bytes; ``DocumentError`` if neither."""
    if not data:
        raise DocumentError(422, "empty_file", "The file is empty.")
    if _PDF_MAGIC in data[:1024]:  # the format allows a little junk before the header
        return "pdf"
    if data.startswith(_ZIP_MAGIC):
        return "docx"
    if data.startswith(_OLE_MAGIC):
        raise DocumentError(
            415,
            "unsupported_file_type",
            "This looks like an old Word (.doc) file; save it as DOCX or PDF and upload that.",
        )
    raise DocumentError(
        415, "unsupported_file_type", "Upload the resume as a PDF or a Word (DOCX) file."
    )


def extract_text(data: bytes) -> Extracted:
    """The text of a PDF or DOCX resume, or ``DocumentError`` saying why it cannot be read."""
    if len(data) > MAX_FILE_BYTES:
        raise DocumentError(
            413, "file_too_large", f"The file is larger than {MAX_FILE_BYTES // 2**20} MB."
        )
    kind = sniff(data)
    pages: int | None = None
    if kind == "pdf":
        text, pages = _pdf_text(data)
    else:
        text = _docx_text(data)
    text = normalize(text)[:MAX_TEXT_CHARS]
    if not text.strip():
        raise DocumentError(
            422,
            "no_text",
            "The document has no text we can read (is it a scanned image?). "
            "Upload a file with selectable text.",
        )
    return Extracted(kind=kind, text=text, pages=pages)


def normalize(text: str) -> str:
    """One line per line, spaces collapsed, invisible characters gone, bullets unified.

    Blank lines are kept (one at most in a row): the parsers read them as block breaks.
    """
    text = unicodedata.normalize("NFKC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines: list[str] = []
    for raw in text.split("\n"):
        line = _CONTROL.sub(_bullet_or_nothing, raw).strip()
        if line and line[0] in _BULLET_LIKE:
            line = "• " + line[1:].lstrip(_BULLET_LIKE + " \t")
        # A tab inside a line separates columns ("Engineer<tab>2019 – 2021"): keep a mark.
        line = _SPACES.sub(" ", _TABS.sub(" | ", line)).strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()


def _bullet_or_nothing(match: re.Match[str]) -> str:
    # PDF fonts without a bullet glyph leave DEL (0x7f) or a C1 control where it was.
    return "•" if match.group() in ("\x7f", "\x95") else ""


# PDF ------------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> tuple[str, int]:
    # Imported here: only an upload pays for loading pypdf.
    import pypdf
    from pypdf.errors import DependencyError, FileNotDecryptedError

    try:
        reader = pypdf.PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not _opens_without_password(reader):
            raise DocumentError(
                422,
                "encrypted_pdf",
                "The PDF is password-protected; upload a copy without a password.",
            )
        pages = len(reader.pages)
        if pages > MAX_PDF_PAGES:
            raise DocumentError(
                422,
                "too_many_pages",
                f"The PDF has {pages} pages; a resume may have at most {MAX_PDF_PAGES}.",
            )
        parts: list[str] = []
        size = 0
        for page in reader.pages:
            text = page.extract_text() or ""
            parts.append(text)
            size += len(text)
            if size >= MAX_TEXT_CHARS:
                break  # the rest would be cut anyway
    except DocumentError:
        raise
    except (DependencyError, FileNotDecryptedError):
        raise DocumentError(
            422, "encrypted_pdf", "The PDF is password-protected; upload a copy without one."
        ) from None
    except Exception as error:
        # pypdf raises nearly anything on a damaged file (PdfReadError, but also KeyError,
        # ValueError, RecursionError...); all of them mean the same to the user.
        log.info("unreadable PDF", extra={"error_type": type(error).__name__})
        raise _unreadable("PDF") from None
    return "\n".join(parts), pages


def _opens_without_password(reader: object) -> bool:
    """Whether an encrypted PDF opens with the empty user password (owner-only locks)."""
    from pypdf import PasswordType, PdfReader

    assert isinstance(reader, PdfReader)
    try:
        return reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except Exception:  # an unsupported cipher, a broken encryption dictionary
        return False


# DOCX -----------------------------------------------------------------------------------


def _check_zip(data: bytes) -> None:
    """Refuse a zip whose entries would unpack to too much, before unpacking anything."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise _unreadable("DOCX") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise _unsafe()
    total = 0
    for entry in entries:
        total += entry.file_size
        if total > MAX_UNPACKED_BYTES:
            raise _unsafe()
        if entry.file_size >= RATIO_CHECK_FROM_BYTES and entry.file_size > MAX_ENTRY_RATIO * max(
            entry.compress_size, 1
        ):
            raise _unsafe()
    names = {entry.filename for entry in entries}
    if "word/document.xml" not in names:
        raise DocumentError(
            415,
            "unsupported_file_type",
            "This zip file is not a Word document; upload the resume as a PDF or DOCX.",
        )


def _docx_text(data: bytes) -> str:
    _check_zip(data)
    import docx
    from docx.oxml.ns import qn
    from docx.table import Table

    try:
        document = docx.Document(io.BytesIO(data))
        lines: list[str] = []
        # Headers first: some resumes put the name and contact details there.
        for section in document.sections:
            if not section.header.is_linked_to_previous:
                for block in section.header.iter_inner_content():
                    if isinstance(block, Table):
                        lines.extend(cell.text for row in block.rows for cell in row.cells)
                    else:
                        lines.append(block.text)
        # Every paragraph in reading order, also those in tables and text boxes; a
        # paragraph's own text leaves out what is nested in it, so nothing is read twice.
        for element in document.element.body.iter(qn("w:p")):
            lines.append(_paragraph_text(element))
    except DocumentError:
        raise
    except Exception as error:
        # python-docx and lxml raise KeyError, ValueError, XMLSyntaxError... on broken files.
        log.info("unreadable DOCX", extra={"error_type": type(error).__name__})
        raise _unreadable("DOCX") from None
    return "\n".join(lines)


def _paragraph_text(element: Any) -> str:
    text = str(element.text or "")
    properties = element.pPr
    if properties is None:
        return text
    style = properties.pStyle.val if properties.pStyle is not None else ""
    # A list paragraph's bullet is numbering, not text: put one back so the parsers see it.
    if text.strip() and (properties.numPr is not None or str(style).startswith("List")):
        return "• " + text
    return text


def _unreadable(kind: str) -> DocumentError:
    return DocumentError(
        422, "unreadable_document", f"The {kind} file is damaged or not a valid {kind}."
    )


def _unsafe() -> DocumentError:
    return DocumentError(
        422,
        "unsafe_docx",
        "The DOCX file would unpack to far more data than a resume holds; it was refused.",
    )
