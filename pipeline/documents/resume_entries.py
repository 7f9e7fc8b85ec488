"""The entries of a resume's experience and education sections: positions and schools.

A position is anchored on its date range ("Jan 2020 – Present", "2018-2021"), with its
header (title, company, place) above, beside or below the dates and its highlights after
them; a school's line is told from a degree's by keyword.
"""

from __future__ import annotations

import re
from typing import Final

from pipeline.documents.fragments import (
    COMPANY_WORDS,
    TITLE_WORDS,
    US_STATES,
    comma_parts,
    is_location_fragment,
    strip_trailing,
)
from pipeline.documents.reading import SINGLE_DATE, Line, find_range, parts, without
from pipeline.documents.types import Education, Experience

# Positions ------------------------------------------------------------------------------


def read_positions(lines: list[Line]) -> list[Experience]:
    anchors = [i for i, line in enumerate(lines) if not line.bullet and find_range(line.text)]
    if not anchors:
        return _experience_without_dates(lines)
    # Is an entry's header written above its dates, or are the dates on its first line?
    header_above = anchors[0] > 0 and lines[anchors[0] - 1].is_short()
    starts: list[int] = []
    for number, anchor in enumerate(anchors):
        start = anchor
        if header_above:
            floor = anchors[number - 1] + 1 if number else 0
            while start - 1 >= floor and anchor - (start - 1) <= 2 and lines[start - 1].is_short():
                start -= 1
        starts.append(start)
    entries: list[Experience] = []
    for number, (start, anchor) in enumerate(zip(starts, anchors, strict=True)):
        stop = starts[number + 1] if number + 1 < len(starts) else len(lines)
        entry = _position(lines[start:anchor], lines[anchor], lines[anchor + 1 : stop])
        if header_above and start == anchor and entry.company is None and entries:
            # Nothing above its dates: another role at the company of the entry before
            # ("Etsy" / "Staff Engineer 2022 – Present" / "Senior Engineer 2019 – 2022").
            entry = entry.model_copy(update={"company": entries[-1].company})
        entries.append(entry)
    return entries


def _position(above: list[Line], dated: Line, below: list[Line]) -> Experience:
    found = find_range(dated.text)
    assert found is not None
    start, end, match = found
    header = [line.text for line in above]
    rest_of_dated = without(dated.text, match)
    if rest_of_dated:
        header.append(rest_of_dated)
    body = list(below)
    # Header lines may also follow the dates ("Acme Corp  2019 – 2021" / "Engineer").
    while body and body[0].is_short() and len(header) < 3 and not _has_title_and_company(header):
        header.append(body.pop(0).text)
    title, company = _title_and_company(header)
    highlights = [line.text for line in body if line.bullet or not line.is_short()]
    return Experience(title=title, company=company, start=start, end=end, highlights=highlights)


def _has_title_and_company(header: list[str]) -> bool:
    title, company = _title_and_company(header)
    return title is not None and company is not None


def _experience_without_dates(lines: list[Line]) -> list[Experience]:
    """Without dates, an entry is a run of short lines (its header, up to three) and the
    bullets and sentences after it."""
    entries: list[Experience] = []
    header: list[str] = []
    highlights: list[str] = []
    for line in lines:
        opens_header = line.is_short() and (bool(highlights) or len(header) < 3)
        if opens_header and highlights:
            entries.append(_undated(header, highlights))
            header, highlights = [], []
        if opens_header:
            header.append(line.text)
        else:
            highlights.append(line.text)
    if header or highlights:
        entries.append(_undated(header, highlights))
    return entries


def _undated(header: list[str], highlights: list[str]) -> Experience:
    title, company = _title_and_company(header)
    return Experience(title=title, company=company, highlights=highlights)


def _title_and_company(header: list[str]) -> tuple[str | None, str | None]:
    """Which part of an entry's header is the job title and which the company."""
    fragments: list[str] = []
    for text in header:
        text = re.sub(
            r"\((?:remote|hybrid|on-?site|contract|part[- ]time|full[- ]time)\)",
            "",
            text,
            flags=re.I,
        )
        at = re.match(r"^(.+?)\s+(?:at|@)\s+(.+)$", text)
        if at and TITLE_WORDS.search(at.group(1)):
            fragments.extend([at.group(1), *parts(at.group(2))])
            continue
        for part in parts(text):
            fragments.extend(comma_parts(part))
    candidates = [
        f for f in fragments if not is_location_fragment(f) and not SINGLE_DATE.fullmatch(f)
    ]
    title = next((f for f in candidates if TITLE_WORDS.search(f) and not _is_company(f)), None)
    others = [f for f in candidates if f is not title]
    company = next((f for f in others if _is_company(f)), None) or next(iter(others), None)
    if title is None and company is not None:
        rest = [f for f in others if f is not company]
        title = rest[0] if rest else None
    return title, company


def _is_company(fragment: str) -> bool:
    match = COMPANY_WORDS.search(fragment)
    if match is None:
        return False
    # "Support Engineer, Acme Labs": a title word outranks an ordinary company word, but
    # not a legal suffix ("Sales Partners Inc.").
    return not TITLE_WORDS.search(fragment) or bool(
        re.search(r"\b(?:inc|llc|ltd|gmbh|corp|plc)\b", fragment, re.I)
    )


# Schools --------------------------------------------------------------------------------

_DEGREE: Final = re.compile(
    r"\b(?:bachelor|master|doctor(?:ate)?|associate(?:'s)?\s+(?:degree|of|in)|diploma"
    r"|high school diploma|certificate|ph\.?\s?d|mba|m\.b\.a|b\.?\s?sc|m\.?\s?sc"
    r"|b\.?\s?eng|m\.?\s?eng|b\.?\s?tech|m\.?\s?tech|b\.?com|ll\.?[bm]|j\.d|m\.d|bba|bfa|mfa"
    r"|ged|a-levels?|hnd|gcse|ed\.?\s?[ms]|ed\.?d)\b\.?",
    re.IGNORECASE,
)
# "BS", "M.A.": only as written, or every "ms" and "ba" in a sentence would be a degree.
_DEGREE_CASED: Final = re.compile(r"(?<![\w.])[BM]\.?(?:S|A|Ed|Phil)\.?(?!\w)")
_SCHOOL: Final = re.compile(
    r"\b(?:university|universit[äéy]|universidad|universidade|università|college|institute"
    r"|school|academy|polytechnic|conservatory|seminary|hochschule|lyceum|gymnasium"
    r"|mit|ucla|ucsd|nyu|eth|epfl|kth|cmu|usc|lse|ucl|iit\w*|caltech|georgia tech"
    r"|virginia tech)\b",
    re.IGNORECASE,
)


def read_schools(lines: list[Line]) -> list[Education]:
    entries: list[dict[str, str | None]] = []
    current: dict[str, str | None] = {}

    def close() -> None:
        nonlocal current
        if current.get("degree") or current.get("school"):
            entries.append(current)
        current = {}

    for line in lines:
        if line.bullet or not line.is_short(16):
            continue  # coursework, honours, GPA: details of the entry above
        dates: str | None = None
        text = line.text
        found = find_range(text)
        if found:
            dates = found[2].group()
            text = without(text, found[2])
        else:
            single = _last_year(text)
            if single is not None:
                dates = single.group()
                text = without(text, single)
        degree, school = _degree_and_school(text)
        if (degree and current.get("degree")) or (school and current.get("school")):
            close()
        if degree:
            current["degree"] = degree
        if school:
            current["school"] = school
        if dates:
            if current.get("dates") and not (degree or school):
                close()
            current.setdefault("dates", dates)
    close()
    return [Education(**entry) for entry in entries]


def _last_year(text: str) -> re.Match[str] | None:
    matches = list(SINGLE_DATE.finditer(text))
    return matches[-1] if matches else None


def _degree_and_school(text: str) -> tuple[str | None, str | None]:
    degree: str | None = None
    school: str | None = None
    fragments: list[str] = []
    for part in parts(text):
        fragments.extend(comma_parts(part))
    for index, fragment in enumerate(fragments):
        if is_location_fragment(fragment) or fragment in US_STATES:
            continue
        is_school = bool(_SCHOOL.search(fragment)) and not fragment.lower().startswith(
            ("high school diploma",)
        )
        is_degree = bool(_DEGREE.search(fragment) or _DEGREE_CASED.search(fragment))
        if is_degree and (not is_school or _starts_with_degree(fragment)) and degree is None:
            degree = strip_trailing(fragment)
        elif is_school and school is None:
            school = strip_trailing(fragment)
            # "University of California, Berkeley": the campus after the comma is part of it.
            following = fragments[index + 1] if index + 1 < len(fragments) else ""
            if (
                school.lower().startswith("university of")
                and following
                and not (_DEGREE.search(following) or _SCHOOL.search(following))
                and len(following.split()) <= 2
                and following[0].isupper()
                and not is_location_fragment(following)
                and following.split()[0] not in US_STATES
            ):
                school = f"{school}, {following}"
    return degree, school


def _starts_with_degree(fragment: str) -> bool:
    match = _DEGREE.search(fragment) or _DEGREE_CASED.search(fragment)
    return bool(match and match.start() == 0)
