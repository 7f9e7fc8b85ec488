"""Reading extracted text as a person would: lines with their bullets, section headings,
dates and date ranges. Shared by the resume and the job-description parsers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

BULLET: Final = "•"
_BULLET_START = re.compile(r"^(?:[•*▪◦‣⁃➢➤►✓✔✅☑▸▹→➔➜○◆■□✦–-]|\d{1,2}[.)])\s+")
_WRAP_MIN_CHARS: Final = 45
_ENDS_UNFINISHED = re.compile(r"(?:[,&]|\b(?:and|or|the|of|to|for|with|in|at)|[a-z]-)$")
_ENDS_SENTENCE = re.compile(r"[.!?]$")
_ABBREVIATION_END = re.compile(r"\b(?:Inc|Ltd|Co|Corp|LLC|Jr|Sr|St|Dr|Bros|etc|Ph\.D|B\.S|M\.S)\.$")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a document: its text without the bullet, whether it had one, and
    whether a blank line came before it."""

    text: str
    bullet: bool = False
    after_gap: bool = False

    @property
    def words(self) -> int:
        return len(self.text.split())

    def is_short(self, max_words: int = 12) -> bool:
        """Short enough, and not a sentence, to be a heading or an entry's header."""
        if self.bullet or self.words > max_words or len(self.text) > 110:
            return False
        return not _ENDS_SENTENCE.search(self.text) or bool(_ABBREVIATION_END.search(self.text))


def read_lines(text: str) -> list[Line]:
    """The document's non-blank lines, with wrapped lines joined back together.

    A bullet alone on its line (PDF list items are often drawn that way) joins the line
    after it; a line that starts in lower case continues the one before it, because a
    new item or heading starts with a capital, a digit or a bullet.
    """
    lines: list[Line] = []
    pending_bullet = False
    gap = False
    for raw in text.split("\n"):
        stripped = raw.strip()
        if not stripped:
            gap = True
            continue
        if stripped in (BULLET, "-", "*", "▪", "◦"):
            pending_bullet = True
            continue
        match = _BULLET_START.match(stripped)
        bullet = pending_bullet or match is not None
        body = stripped[match.end() :] if match else stripped
        body = body.strip()
        pending_bullet = False
        if not body:
            continue
        if lines and not bullet and not gap and _continues(lines[-1], body):
            previous = lines[-1]
            joiner = "" if previous.text.endswith("-") else " "
            lines[-1] = Line(previous.text + joiner + body, previous.bullet, previous.after_gap)
            continue
        lines.append(Line(body, bullet, gap))
        gap = False
    return lines


def _continues(previous: Line, body: str) -> bool:
    # A phrase cut after a joining word ("Harvard Graduate School of") goes on, whatever
    # the next line starts with: narrow columns wrap early.
    if _ENDS_UNFINISHED.search(previous.text):
        return True
    # Otherwise only a line that ran to the margin wraps; short lines ("Python" over
    # "pandas" in a list of skills) are items of their own whatever their case.
    if len(previous.text) < _WRAP_MIN_CHARS:
        return False
    first_word = body.split()[0]
    if any(mark in first_word for mark in "@/.:"):
        return False  # an address or a link on a line of its own ("linkedin.com/in/ada")
    return body[0].islower() or body[0] in "([&"


# Dates ----------------------------------------------------------------------------------

_MONTHS: Final = {
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
    "jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
}  # fmt: skip
_MONTH_NAME = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_SEASON = r"(?:spring|summer|fall|autumn|winter)"
_YEAR = r"(?:19|20)\d{2}"
DATE: Final = (
    rf"(?:{_MONTH_NAME}\.?,?\s+{_YEAR}|{_SEASON}\s+{_YEAR}|\d{{1,2}}/{_YEAR}"
    rf"|{_YEAR}[-/.]\d{{1,2}}(?![\d])|{_YEAR})"
)
_PRESENT = r"(?:present|current(?:ly)?|now|today|ongoing|date)"
DATE_RANGE: Final = re.compile(
    rf"(?<![\w/.-])(?P<start>{DATE})\s*(?:[-–—‒―~→]|\bto\b|\buntil\b|\btill\b|\bthrough\b)\s*"
    rf"(?P<end>{DATE}|{_PRESENT})(?![\w/])"
    rf"|\b(?:since|from)\s+(?P<since>{DATE})(?![\w/])",
    re.IGNORECASE,
)
SINGLE_DATE: Final = re.compile(rf"(?<![\w/.-]){DATE}(?![\w/])", re.IGNORECASE)


def normalize_date(text: str) -> str | None:
    """``YYYY-MM``, ``YYYY`` or ``present`` for a written date; None if it is not one."""
    value = text.strip().lower().rstrip(".")
    if re.fullmatch(_PRESENT, value):
        return "present"
    if match := re.fullmatch(rf"({_MONTH_NAME})\.?,?\s+({_YEAR})", value):
        return f"{match.group(2)}-{_MONTHS[match.group(1)[:3]]:02d}"
    if match := re.fullmatch(rf"{_SEASON}\s+({_YEAR})", value):
        return match.group(1)
    if match := re.fullmatch(rf"(\d{{1,2}})/({_YEAR})", value):
        month = int(match.group(1))
        return f"{match.group(2)}-{month:02d}" if 1 <= month <= 12 else match.group(2)
    if match := re.fullmatch(rf"({_YEAR})[-/.](\d{{1,2}})", value):
        month = int(match.group(2))
        return f"{match.group(1)}-{month:02d}" if 1 <= month <= 12 else match.group(1)
    if re.fullmatch(_YEAR, value):
        return value
    return None


def find_range(text: str) -> tuple[str | None, str | None, re.Match[str]] | None:
    """The first date range in ``text``: (start, end, match), dates normalized."""
    match = DATE_RANGE.search(text)
    if match is None:
        return None
    if match.group("since"):
        return normalize_date(match.group("since")), "present", match
    return normalize_date(match.group("start")), normalize_date(match.group("end")), match


# Headings -------------------------------------------------------------------------------


def heading_key(text: str) -> str:
    """A heading reduced to lower-case words: "WORK  EXPERIENCE:" -> "work experience".

    Letter-spaced headings ("E X P E R I E N C E") are closed up first.
    """
    value = text.strip()
    if re.fullmatch(r"(?:\S ){3,}\S", value) and all(len(part) == 1 for part in value.split()):
        value = value.replace(" ", "")
    value = value.replace("’", "'").replace("&", " and ").lower()
    value = re.sub(r"[^a-z' ]+", " ", value)
    return " ".join(value.replace("'", "").split())


def split_heading(line: Line, headings: dict[str, str]) -> tuple[str, str] | None:
    """(section, rest) when ``line`` is a heading of ``headings``, alone ("Skills") or
    followed by its content ("Skills: Python, SQL"); rest is "" for a lone heading."""
    if line.bullet or len(line.text) > 80:
        return None
    key = heading_key(line.text)
    if len(key.split()) > 6:
        return None
    if key in headings and len(line.text) <= 60:
        # (the keys of ``headings`` are written as ``heading_key`` returns them)
        return headings[key], ""
    head, colon, rest = line.text.partition(":")
    if colon and rest.strip() and len(head.split()) <= 4:
        key = heading_key(head)
        if key in headings:
            return headings[key], rest.strip()
    return None


def sections(
    lines: list[Line],
    headings: dict[str, str],
    first: str,
    *,
    labels_inside: frozenset[str] = frozenset(),
) -> dict[str, list[Line]]:
    """The lines under each section, by section name; lines before any heading go to
    ``first``. A section that appears twice (a sidebar and a main column) is joined.

    A "Heading: content" line starts a section only where it cannot be a label: never
    inside the sections named in ``labels_inside`` ("Tools: Docker" under a position),
    and never for an "other" section ("Languages: Python, Go" among skills).
    """
    found: dict[str, list[Line]] = {first: []}
    current = first
    for line in lines:
        heading = split_heading(line, headings)
        if (
            heading is not None
            and heading[1]
            and (current in labels_inside or heading[0] == "other")
        ):
            heading = None
        current = file_line(found, current, heading, line)
    return found


def file_line(
    found: dict[str, list[Line]], current: str, heading: tuple[str, str] | None, line: Line
) -> str:
    """Put ``line`` where it belongs: a heading starts its section (keeping the content
    after "Heading:"), any other line goes to ``current``. Returns the section now current."""
    if heading is None:
        found.setdefault(current, []).append(line)
        return current
    section, rest = heading
    found.setdefault(section, [])
    if rest:
        found[section].append(Line(rest))
    return section


# Splitting a line into its parts --------------------------------------------------------

# Separators that always divide a header into parts: pipes, dashes with spaces, bullets.
_STRONG_SEPARATOR = re.compile(r"\s+[|–—•·]\s+|\s+-\s+|\s\|\s|\s{2,}|^\||\|$")


def parts(text: str) -> list[str]:
    """``text`` split at its strong separators (" | ", " – ", " • "), parts stripped."""
    pieces = [piece.strip(" ,;|") for piece in _STRONG_SEPARATOR.split(text)]
    return [piece for piece in pieces if piece]


def split_list(text: str) -> list[str]:
    """Items of an inline list ("Python, Go; SQL | Docker"), not splitting inside
    parentheses: "Python (Django, Flask)" stays one item."""
    items: list[str] = []
    depth = 0
    current: list[str] = []
    for index, char in enumerate(text):
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        separator = char in ",;|•·" or (
            char == "/" and text[index - 1 : index] == " " and text[index + 1 : index + 2] == " "
        )
        if depth == 0 and separator:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return [item.strip(" .\t") for item in items if item.strip(" .\t")]


def without(text: str, match: re.Match[str]) -> str:
    """``text`` with what ``match`` found cut out (and the brackets it stood in), the
    parts on either side kept apart."""
    before = re.sub(r"[(\[]\s*$", "", text[: match.start()].rstrip())
    after = re.sub(r"^\s*[)\]]", "", text[match.end() :].lstrip())
    return f"{before} | {after}".strip(" |,;")
