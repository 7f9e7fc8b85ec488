"""The offline job-description parser: a job description read with rules, no model.

It serves when no LLM is configured or when one fails. The title and company come from
labelled lines ("Job title: ..."), the posting's first lines in the layouts postings use
("Acme is hiring a Data Engineer (Remote)", "Data Engineer – Acme", "Data Engineer at
Acme (London, hybrid)", a title over a company line) or the text ("At Acme, we ...");
the requirements, responsibilities and skills from the sections their headings name
("What you bring", "You might be a fit if you have:"). Skills are what the requirements
ask for, read phrase by phrase (``requirement_skills``), with the vocabulary's names
anywhere else. It takes any text and never raises on what it is given.
"""

from __future__ import annotations

import re
from typing import Final

from pipeline.documents import skills as vocabulary
from pipeline.documents.fragments import (
    COMPANY_WORDS,
    LOCATION,
    TITLE_WORDS,
    US_STATES,
    comma_parts,
    is_location_fragment,
    strip_trailing,
)
from pipeline.documents.reading import (
    Line,
    file_line,
    heading_key,
    parts,
    read_lines,
    split_heading,
)
from pipeline.documents.requirement_skills import requirement_skills
from pipeline.documents.skills import listed_skills
from pipeline.documents.types import JobData

_JOB_HEADINGS: Final[dict[str, tuple[str, ...]]] = {
    "responsibilities": (
        "responsibilities", "key responsibilities", "your responsibilities", "what you'll do",
        "what you will do", "what youll do", "what you'll be doing", "what you will be doing",
        "the role", "your role", "role", "duties", "main duties", "job duties",
        "duties and responsibilities", "day to day", "in this role", "in this role you will",
        "what the job involves", "your impact", "what you'll work on", "the job",
        "role and responsibilities", "roles and responsibilities", "the opportunity",
        "responsibilities include", "you will", "what you will work on", "your mission",
    ),
    "requirements": (
        "requirements", "job requirements", "qualifications", "minimum qualifications",
        "basic qualifications", "required qualifications", "preferred qualifications",
        "what we're looking for", "what we are looking for", "what you'll need",
        "what you will need", "what you need", "what you bring", "what you'll bring",
        "who you are", "about you", "you have", "you should have", "must have",
        "must haves", "nice to have", "nice to haves", "bonus points", "bonus", "preferred",
        "skills and experience", "requirements and qualifications", "key requirements",
        "skills and qualifications", "the ideal candidate", "ideal candidate",
        "you might also have", "experience", "required experience", "desired skills",
        "preferred skills", "required skills", "you bring", "we'd love to see",
        "what we need", "essential", "desirable", "essential criteria", "desirable criteria",
        "person specification", "candidate requirements", "your profile", "profile",
    ),
    "skills": (
        "skills", "tech stack", "our stack", "technologies", "tools", "technical skills",
        "key skills", "stack", "technology stack", "tools and technologies", "our tech stack",
    ),
    "company": (
        "about us", "about the company", "who we are", "company", "our company",
        "about the team", "the team", "our team", "our mission", "company overview",
    ),
    "other": (
        "benefits", "perks", "what we offer", "compensation", "salary", "location",
        "how to apply", "why join us", "our values", "perks and benefits",
        "equal opportunity", "equal opportunity employer", "compensation and benefits",
        "about the role", "job summary", "overview", "summary", "position summary",
        "role overview", "job description", "description", "the position", "interview process",
    ),
}  # fmt: skip
JOB_HEADINGS: Final = {
    heading_key(key): section for section, keys in _JOB_HEADINGS.items() for key in keys
}
_JOB_LABEL: Final = re.compile(
    r"^(?P<label>job title|title|position|role|company|employer|organi[sz]ation)\s*:"
    r"\s*(?P<value>.+)$",
    re.IGNORECASE,
)
# A heading the list does not know, told by its words: "You might be a fit if you have:".
# The first family that matches wins, so "What you'll need" is a requirement, not a duty.
_HEADING_WORDS: Final = (
    ("other", re.compile(r"\b(?:benefits?|perks?|we offer|salary|pay|compensation|apply)\b")),
    ("responsibilities", re.compile(r"\b(?:responsibilit\w*|duties|tasks)\b")),
    (
        "requirements",
        re.compile(
            r"\b(?:you have|you(?:'ll| will)? need|we need|need from you|looking for|bring"
            r"|qualifications?|requirements?|required|essential|desirable|profile|about you"
            r"|fit|must[- ]haves?|nice[- ]to[- ]haves?|bonus|skills|who you are"
            r"|ideal candidate|person specification|you should|you(?:'ll| will)? have"
            r"|you are|you're|licen[cs]es?|certifications?)\b"
        ),
    ),
    (
        "responsibilities",
        re.compile(r"\b(?:you(?:'ll| will)|do|doing|the role|this role|the job|day to day)\b"),
    ),
    ("company", re.compile(r"\b(?:about us|who we are|the team|our team|the company)\b")),
)
# A place or way of working in brackets after a title or a company: "(London, hybrid)",
# "(Remote, EU time zones)", "(Houston or remote, US)".
_WHERE_IN_BRACKETS: Final = re.compile(r"\s*[(\[](?P<inside>[^()\[\]]*)[)\]]\s*$")
_WORK_MODE: Final = re.compile(
    r"\b(?:remote|hybrid|on-?site|in[- ]office|time ?zones?|relocation|anywhere|wfh)\b",
    re.IGNORECASE,
)
# "Acme is hiring a Data Engineer", "Acme is looking for an RN", "Acme is hiring: ..."
_IS_HIRING: Final = re.compile(
    r"^(?P<company>[A-Z0-9][^,.!?:]{0,60}?)\s+(?:is|are)\s+(?:now\s+)?"
    r"(?:hiring|recruiting|looking\s+for|seeking|searching\s+for)(?:\s+for)?\s*:?\s+"
    r"(?:(?:an?|the|one|two|our\s+next|a\s+new)\s+)?(?P<title>.+)$"
)
# "We are looking for a Data Engineer to join Acme's data team"
_TO_JOIN: Final = re.compile(
    r"^[Ww]e(?:'re|’re|\s+are)?\s+(?:now\s+)?(?:hiring|recruiting|looking\s+for|seeking)"
    r"\s+(?:an?|the)?\s*(?P<title>.+?)\s+to\s+join\s+(?:the\s+)?"
    r"(?P<company>[A-Z][\w&.'-]*(?:\s+[A-Z&][\w&.'-]*)*?)"
    r"(?:['’]s\b.*|\s+(?:team|as|in|on)\b.*|[.!])?$"
)
# What follows the title in such a sentence: "... a Nurse to join our ICU team."
_TITLE_TAIL: Final = re.compile(r"\s+(?:to join|who|in|for|based|with)\s+|[.!]\s*$")
# Words that name a team after a title's comma ("Engineer, Payments Infrastructure").
_TEAM_WORDS: Final = frozenset(
    {
        "growth", "payments", "platform", "infrastructure", "pricing", "marketing", "sales",
        "engineering", "product", "design", "data", "security", "research", "operations",
        "finance", "legal", "people", "brand", "search", "mobile", "web", "backend",
        "frontend", "ml", "ai", "core", "billing", "risk", "trust", "safety", "identity",
        "emea", "apac", "americas", "enterprise", "consumer", "commercial", "retail",
    }
)  # fmt: skip
_TITLE_PREFIX: Final = re.compile(
    r"^(?:job description|job posting|job|we(?:'| a)re hiring|hiring|now hiring|open role"
    r"|position|vacancy)\s*[:\-–—]\s*",
    re.IGNORECASE,
)
_COMPANY_NAME = r"[A-Z][\w&.'-]*(?:\s+(?:[A-Z][\w&.'-]*|&|of))*"
_COMPANY_PATTERNS: Final = (
    re.compile(rf"\b(?:At|Join)\s+(?P<name>{_COMPANY_NAME})(?=[,.!]|\s+(?:we|is|and|as)\b)"),
    re.compile(
        rf"^(?P<name>{_COMPANY_NAME})\s+(?:is|are)\s+(?:hiring|looking|seeking|a|an|the)\b",
        re.MULTILINE,
    ),
)
_ABOUT: Final = re.compile(r"^about\s+(?P<name>.+?):?$", re.IGNORECASE)
_NOT_A_COMPANY: Final = frozenset(
    {
        "us", "you", "the role", "the team", "the company", "the job", "the position",
        "this role", "the opportunity", "the candidate",
    }
)  # fmt: skip


def parse_job(text: str) -> JobData:
    """A job description's title, company, requirements, responsibilities and skills."""
    lines = read_lines(text)
    found = job_sections(lines)
    title, company = _job_title_and_company(lines)
    if company is None:
        company = _company_from_text(lines)
    requirements = _job_items(found.get("requirements", []))
    asked = [skill for item in requirements for skill in requirement_skills(item)]
    listed = [vocabulary.canonical(s) for s in listed_skills(found.get("skills", []))]
    rest = _without_names(text, title, company)
    elsewhere = [(rest[a:b], name) for a, b, name in vocabulary.find_spans(rest, relaxed=False)]
    return JobData(
        title=title,
        company=company,
        requirements=requirements,
        responsibilities=_job_items(found.get("responsibilities", [])),
        skills=_merge([*asked, *listed], elsewhere),
    )


def _merge(asked: list[str], elsewhere: list[tuple[str, str]]) -> list[str]:
    """The skills asked for, then the vocabulary's names found elsewhere (as written,
    and the name) that are not already part of one of them ("Forecasting" once "time
    series forecasting" is in, "UX" once "UX research" is)."""
    kept = vocabulary.unique(asked)
    words = [f" {skill.casefold()} " for skill in kept]
    for written, skill in elsewhere:
        keys = (f" {written.casefold()} ", f" {skill.casefold()} ")
        if not any(key in phrase for phrase in words for key in keys):
            kept.append(skill)
            words.append(keys[1])
    return vocabulary.unique(kept)


def _without_names(text: str, *names: str | None) -> str:
    # A company called "Brightline Logistics" does not ask for logistics.
    for name in names:
        if name:
            text = text.replace(name, " | ")
    return text


def job_sections(lines: list[Line]) -> dict[str, list[Line]]:
    """The lines under each section of a job description; lines before any heading are
    its "intro". A heading is one the list knows, or a short line whose words say what
    follows ("You might be a fit if you have:") and that ends in a colon or stands over
    a list."""
    found: dict[str, list[Line]] = {"intro": []}
    current = "intro"
    for index, line in enumerate(lines):
        after = lines[index + 1] if index + 1 < len(lines) else None
        heading = split_heading(line, JOB_HEADINGS)
        if heading is not None and heading[1] and heading[0] == "other":
            heading = None  # "Location: Leeds" is a label, not a section
        if heading is None and index > 0:
            section = _heading_by_words(line, after)
            heading = (section, "") if section else None
        if heading is None and _labelled_other(line):
            current = "other"  # "We offer: $26–$31/hr, overtime" ends what came before
        current = file_line(found, current, heading, line)
    return found


def _labelled_other(line: Line) -> bool:
    head, colon, rest = line.text.partition(":")
    if line.bullet or not colon or not rest.strip() or len(head.split()) > 4:
        return False
    key = heading_key(head)
    return any(section == "other" and words.search(key) for section, words in _HEADING_WORDS)


def _heading_by_words(line: Line, after: Line | None) -> str | None:
    text = line.text.strip()
    if line.bullet or len(text.split()) > 9 or len(text) > 70:
        return None
    over_list = after is not None and after.bullet
    if not (text.endswith(":") or over_list):
        return None
    if re.search(r"[.!?]$", text):
        return None
    key = heading_key(text.replace("’", "'")).replace("youll", "you'll")
    key = key.replace("youre", "you're")
    for section, words in _HEADING_WORDS:
        if words.search(key):
            return section
    return None


def _job_title_and_company(lines: list[Line]) -> tuple[str | None, str | None]:
    title: str | None = None
    company: str | None = None
    for line in lines[:15]:
        labelled = _JOB_LABEL.match(line.text)
        if labelled:
            value = _without_where(labelled.group("value").strip())
            if labelled.group("label").lower() in (
                "company",
                "employer",
                "organisation",
                "organization",
            ):
                company = company or value
            else:
                title = title or value
    if title is not None:
        return title, company
    header = lines[:3]
    for index, line in enumerate(header):
        if line.bullet or _JOB_LABEL.match(line.text):
            continue
        sentence = _title_from_sentence(line.text)
        if sentence is not None:
            return sentence[0], company or sentence[1]
        if not line.is_short(14):
            continue
        if _heading_of(line) is not None:
            break
        after = lines[index + 1] if index + 1 < len(lines) else None
        if (
            company is None
            and after is not None
            and not TITLE_WORDS.search(line.text)
            and _company_line(line) is not None
            and _title_line(after)
        ):
            # A company over its title ("Gullwing Outdoor" over "Content Marketing Manager").
            return _without_where_parts(after.text), _company_line(line)
        text = _TITLE_PREFIX.sub("", line.text).strip()
        at = re.match(r"^(.+?)\s+(?:at|@)\s+(.+)$", text)
        if at and not TITLE_WORDS.search(at.group(2)):
            return _without_where(at.group(1)), company or _company_part(at.group(2))
        below = _company_below(lines, index)
        if below is not None and company is None:
            # A title over its company ("Charge Nurse – Emergency Department" over
            # "Lakeside Regional Hospital (Madison, WI)"): the whole first line is the title.
            return _without_where_parts(text), below
        pieces = _header_pieces(text)
        if len(pieces) >= 2:
            titled = next((p for p in pieces if TITLE_WORDS.search(p)), pieces[0])
            rest = [p for p in pieces if p is not titled]
            return titled, company or (_company_part(_likeliest_company(rest)) if rest else None)
        if pieces:
            return _title_comma_company(pieces[0], company)
    return None, company


def _title_comma_company(text: str, company: str | None) -> tuple[str, str | None]:
    """ "CDL-A Truck Driver, Prairie Line Transport": a title, a comma and a company; but
    "Product Manager, Growth" names a team, and "Engineer, Payments Infrastructure" one."""
    head, comma, tail = text.rpartition(",")
    tail = tail.strip()
    if company is not None or not comma or not TITLE_WORDS.search(head):
        return text, company
    words = tail.split()
    if (
        TITLE_WORDS.search(tail)
        or _is_where(tail)
        or not all(word[:1].isupper() or word in ("&", "of", "and") for word in words)
        or (len(words) < 2 and not COMPANY_WORDS.search(tail))
        or any(word.casefold() in _TEAM_WORDS for word in words)
    ):
        return text, company
    return head.strip(), tail


def _likeliest_company(pieces: list[str]) -> str:
    """Of a header's other parts, the one that names a company: "Oakfield Primary School"
    rather than "Year 2" in "Teaching Assistant - Year 2 - Oakfield Primary School"."""
    for piece in pieces:
        if COMPANY_WORDS.search(piece):
            return piece
    return next((piece for piece in pieces if not re.search(r"\d", piece)), pieces[0])


def _title_line(line: Line) -> bool:
    return (
        not line.bullet
        and not line.after_gap
        and line.is_short(8)
        and bool(TITLE_WORDS.search(line.text))
        and not _JOB_LABEL.match(line.text)
        and _heading_of(line) is None
    )


def _title_from_sentence(text: str) -> tuple[str, str] | None:
    """(title, company) of "Acme is hiring a Data Engineer (Remote)" or "We're looking
    for a Data Engineer to join Acme's team"."""
    joining = _TO_JOIN.match(text)
    if joining:
        return _without_where(joining.group("title")), joining.group("company").strip()
    hiring = _IS_HIRING.match(text)
    if hiring and not re.match(r"(?i)we\b|our\b|the team\b", hiring.group("company")):
        title = _TITLE_TAIL.split(hiring.group("title"))[0]
        return _without_where(title.strip(" .!")), hiring.group("company").strip()
    return None


def _without_where_parts(text: str) -> str:
    """A header line without the parts that are places ("Staff Accountant | Atlanta, GA"),
    its own separators kept ("Senior Product Manager - Payments")."""
    chunks = re.split(r"(\s+[|–—•·-]\s+)", text)
    kept = [chunks[0]] if chunks else []
    for separator, chunk in zip(chunks[1::2], chunks[2::2], strict=True):
        if not _is_where(_without_where(chunk)):
            kept.extend([separator, chunk])
    return _without_where("".join(kept))


def _header_pieces(text: str) -> list[str]:
    """A header line's parts without the places and ways of working."""
    pieces: list[str] = []
    for part in parts(text):
        part = _without_where(part)
        for piece in comma_parts(part) if not TITLE_WORDS.search(part) else [part]:
            if piece and not _is_where(piece):
                pieces.append(piece)
    return pieces


def _company_below(lines: list[Line], index: int) -> str | None:
    """The company's line under the title at ``index``, past labels ("Req ID: 48213")."""
    for line in lines[index + 1 : index + 3]:
        if re.match(r"^[^:]{1,20}:", line.text) and not line.after_gap:
            continue
        return _company_line(line)
    return None


def _company_line(line: Line) -> str | None:
    """The company, when ``line`` is a company's line under the title: "Harbourside
    Academy, Bristol", "Kestrel Electric Co. — Phoenix, AZ", "Acme · Remote (UK/EU)"."""
    if line.bullet or line.after_gap or not line.is_short(10) or _JOB_LABEL.match(line.text):
        return None
    if _ABOUT.match(line.text):
        return None
    if _heading_of(line) is not None or re.match(r"^[^:]{1,20}:", line.text):
        return None
    pieces = [piece for piece in parts(line.text) if not _is_where(_without_where(piece))]
    if not pieces:
        return None
    name = _company_part(pieces[0])
    words = name.split()
    if not words or len(words) > 7 or not name[:1].isupper() or TITLE_WORDS.search(name):
        return None
    if sum(word[:1].isupper() or word in ("&", "of", "and", "the") for word in words) < len(words):
        return None  # a sentence or a tagline, not a name
    return name


def _company_part(text: str) -> str:
    """A company fragment without the place after it: "Harbourside Academy, Bristol"."""
    # A company's name does not end in brackets: "The Copper Kettle (Edinburgh)".
    text = re.sub(r"\s*[(\[][^()\[\]]*[)\]]\s*$", "", strip_trailing(text))
    pieces = comma_parts(text)
    kept = [pieces[0]] + [p for p in pieces[1:] if not _is_where(p) and not _is_city(p)]
    return strip_trailing(", ".join(kept))


def _is_city(piece: str) -> bool:
    # One or two capitalised words after a company's comma, with no company word.
    words = piece.split()
    return (
        0 < len(words) <= 2
        and all(w[:1].isupper() for w in words)
        and not (COMPANY_WORDS.search(piece))
    )


def _without_where(text: str) -> str:
    """``text`` without a bracketed place or way of working at its end."""
    text = text.strip()
    match = _WHERE_IN_BRACKETS.search(text)
    if match and _is_where(match.group("inside")):
        text = text[: match.start()]
    return strip_trailing(text)


def _is_where(text: str) -> bool:
    text = text.strip(" ()[]")
    if not text:
        return True
    if _WORK_MODE.search(text) or is_location_fragment(text):
        return True
    return all(is_location_fragment(piece) or _is_place_word(piece) for piece in text.split(","))


def _is_place_word(piece: str) -> bool:
    piece = piece.strip()
    return (
        bool(LOCATION.fullmatch(piece))
        or piece.upper() in US_STATES
        or (piece.lower() in ("us", "usa", "uk", "eu", "emea", "apac", "latam"))
    )


def _heading_of(line: Line) -> str | None:
    heading = split_heading(line, JOB_HEADINGS)
    return heading[0] if heading else None


def _company_from_text(lines: list[Line]) -> str | None:
    for line in lines:
        about = _ABOUT.match(line.text)
        if about and line.is_short(6):
            name = about.group("name").strip()
            if name.lower() not in _NOT_A_COMPANY and name[:1].isupper():
                return name
    intro = "\n".join(line.text for line in lines[:12])
    for pattern in _COMPANY_PATTERNS:
        match = pattern.search(intro)
        if match:
            return match.group("name").strip()
    return None


def _job_items(lines: list[Line]) -> list[str]:
    bullets = [line.text for line in lines if line.bullet]
    if bullets:
        return bullets
    items: list[str] = []
    for line in lines:
        if line.text.endswith(":"):
            continue
        # A paragraph instead of a list: each sentence is an item.
        items.extend(
            sentence.strip()
            for sentence in re.split(r"(?<=[.!?])\s+(?=[A-Z])", line.text)
            if len(sentence.strip()) > 3
        )
    return items
