"""Offline parsers: a resume or a job description read with rules, no model.

They serve when no LLM is configured, when one fails, and always for contact details
(which are never sent to an LLM). A resume is read section by section: headings from a
vocabulary of the names resumes use, contact details by pattern, positions anchored on
their date ranges ("Jan 2020 – Present", "2018-2021"), schools and degrees by keyword,
skills split from their lists. ``bench/parsing.py`` measures how well.

Both parsers take any text and never raise on what they are given.
"""

from __future__ import annotations

import re
from typing import Final

from pipeline.documents import skills as vocabulary
from pipeline.documents.reading import (
    SINGLE_DATE,
    Line,
    find_range,
    heading_key,
    parts,
    read_lines,
    sections,
    split_heading,
    split_list,
)
from pipeline.documents.types import Education, Experience, JobData, Personal, ResumeData
from pipeline.interviewer.redact import is_phone_number

PARSER_VERSION: Final = 1

# Resume sections, by the headings that name them.
_RESUME_HEADINGS: Final[dict[str, tuple[str, ...]]] = {
    "experience": (
        "experience", "work experience", "professional experience", "relevant experience",
        "employment", "employment history", "work history", "career history", "career",
        "professional history", "professional background", "positions held",
        "industry experience", "experience and employment", "work",
    ),
    "education": (
        "education", "academic background", "academic history", "education and training",
        "educational background", "academics", "qualifications", "academic qualifications",
        "education and certifications", "education history", "training and education",
    ),
    "skills": (
        "skills", "technical skills", "key skills", "core skills", "core competencies",
        "competencies", "key competencies", "skills and tools", "tools", "technologies",
        "tech stack", "skills and expertise", "areas of expertise", "expertise", "skill set",
        "skillset", "technical proficiencies", "proficiencies", "tools and technologies",
        "languages and tools", "skills summary", "professional skills", "hard skills",
        "soft skills", "skills and abilities", "technical expertise", "strengths",
    ),
    "achievements": (
        "achievements", "key achievements", "selected achievements", "awards", "honors",
        "honours", "awards and honors", "honors and awards", "awards and honours",
        "honours and awards", "awards and achievements", "accomplishments",
        "certifications", "certificates", "licenses and certifications",
        "certifications and awards", "certifications and licenses", "recognition",
        "awards and recognition",
    ),
    "summary": (
        "summary", "profile", "professional summary", "objective", "career objective",
        "about", "about me", "personal statement", "overview", "career summary",
        "executive summary", "professional profile", "summary of qualifications",
    ),
    "contact": (
        "contact", "contact information", "contact details", "personal details",
        "personal information", "details", "contact info",
    ),
    "other": (
        "projects", "personal projects", "selected projects", "key projects",
        "publications", "interests", "hobbies", "hobbies and interests", "languages",
        "references", "volunteer", "volunteering", "volunteer experience",
        "volunteer work", "activities", "leadership", "extracurricular activities",
        "courses", "coursework", "relevant coursework", "training", "memberships",
        "affiliations", "professional affiliations", "additional information",
        "portfolio", "patents", "talks", "open source", "conferences", "presentations",
    ),
}  # fmt: skip
# Positions often end with a labelled line ("Tools: Docker, Terraform"): not a section.
_LABELLED_RESUME_SECTIONS: Final = frozenset({"experience"})
RESUME_HEADINGS: Final = {
    heading_key(key): section for section, keys in _RESUME_HEADINGS.items() for key in keys
}

# Words that make a phrase a job title ("Senior Data Analyst") rather than a company.
_TITLE_WORDS: Final = re.compile(
    r"\b(?:engineer|developer|programmer|manager|analyst|designer|scientist|intern|lead"
    r"|director|consultant|specialist|architect|administrator|coordinator|associate|officer"
    r"|head|vp|vice president|president|founder|co-?founder|assistant|nurse|teacher"
    r"|accountant|representative|technician|researcher|fellow|professor|lecturer|editor"
    r"|writer|owner|executive|strategist|advisor|adviser|supervisor|clerk|recruiter"
    r"|partner|principal|sre|devops|qa|tester|operator|agent|cashier|chef|driver|therapist"
    r"|pharmacist|physician|counselor|counsellor|instructor|tutor|paralegal|attorney|lawyer"
    r"|auditor|controller|buyer|planner|producer|artist|photographer|mechanic|electrician"
    r"|bookkeeper|receptionist|secretary|trainee|apprentice|member of technical staff"
    r"|cto|ceo|cfo|coo|chief|staff|superintendent|foreman|medic|paramedic|dentist"
    r"|hygienist|caregiver|aide|barista|server|waiter|bartender|salesperson|account"
    r"|marketer|marketing|sales|support|student|postdoc|resident)\b",
    re.IGNORECASE,
)
_COMPANY_WORDS: Final = re.compile(
    r"\b(?:inc|llc|ltd|limited|corp|corporation|co|company|gmbh|ag|sa|plc|labs?"
    r"|technologies|technology|systems|solutions|group|bank|hospital|clinic|agency"
    r"|partners|studios?|software|health|healthcare|foods|capital|ventures|media"
    r"|consulting|services|industries|holdings|network|networks|district|council"
    r"|foundation|institute|university|college|school|academy|department|ministry)\b\.?",
    re.IGNORECASE,
)
_US_STATES: Final = frozenset(
    {
        "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN",
        "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV",
        "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN",
        "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC", "ON", "BC", "QC", "AB",
        "NSW", "VIC", "QLD",
    }
)  # fmt: skip
_COUNTRIES: Final = frozenset(
    {
        "usa", "us", "uk", "uae", "united states", "united kingdom", "canada", "germany",
        "france", "spain", "italy", "netherlands", "ireland", "india", "australia",
        "new zealand", "brazil", "mexico", "japan", "china", "singapore", "sweden",
        "norway", "denmark", "finland", "poland", "portugal", "switzerland", "austria",
        "belgium", "israel", "nigeria", "kenya", "south africa", "argentina", "chile",
        "colombia", "egypt", "pakistan", "philippines", "vietnam", "indonesia", "scotland",
        "england", "wales", "romania", "ukraine", "czech republic", "greece", "turkey",
    }
)  # fmt: skip
_REMOTE: Final = re.compile(r"^\(?(?:remote|hybrid|on-?site)\)?$", re.IGNORECASE)
_REMOTE_START: Final = re.compile(r"^\(?(remote|hybrid)\b", re.IGNORECASE)
_LEGAL_SUFFIX: Final = re.compile(
    r"^(?:inc|llc|ltd|limited|corp|co|gmbh|ag|sa|plc|l\.?p|s\.?a)\.?$", re.IGNORECASE
)

_EMAIL: Final = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
_PHONE: Final = re.compile(r"(?<![\w@/.])(?:\+\s?)?\(?\d[\d\s().-]{5,22}\d(?![\w@/])")
_LINK: Final = re.compile(
    r"(?:https?://|www\.)[^\s|,;<>\"']+"
    r"|\b(?:[a-z0-9-]+\.)+(?:com|org|net|io|dev|me|co|ai|app|page|site|tech|xyz|info|in"
    r"|uk|de|ca|eu)/[^\s|,;<>\"']*",
    re.IGNORECASE,
)
_NAME_PARTICLES: Final = frozenset(
    {
        "de", "da", "di", "del", "della", "der", "den", "van", "von", "la", "le", "du",
        "bin", "binti", "al", "el", "dos", "das", "mc", "mac",
    }
)  # fmt: skip
_LOCATION: Final = re.compile(
    r"\b([A-Z][A-Za-z.'-]+(?:\s[A-Z][A-Za-z.'-]+){0,3}),\s*"
    r"([A-Z]{2,3}(?:\s+\d{5})?|[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2})\b"
)
_LABEL: Final = re.compile(
    r"^(?:e-?mail|phone|mobile|tel|telephone|cell|address|location|linkedin|github"
    r"|website|web|portfolio|name)\s*[:.]\s*",
    re.IGNORECASE,
)


def parse_resume(text: str) -> ResumeData:
    """A resume's contact details, positions, schools, skills and achievements."""
    lines = read_lines(text)
    found = sections(
        lines, RESUME_HEADINGS, first="header", labels_inside=_LABELLED_RESUME_SECTIONS
    )
    personal_lines = found.get("header", []) + found.get("contact", [])
    personal = _personal(personal_lines, lines)
    skills = _skills(found.get("skills", []))
    if not skills:
        # No skills section: fall back to the skills the text names.
        skills = vocabulary.find_skills(text)
    return ResumeData(
        personal=personal,
        experience=_experience(found.get("experience", [])),
        education=_education(found.get("education", [])),
        skills=skills,
        achievements=_items(found.get("achievements", [])),
    )


# Contact details ------------------------------------------------------------------------


def _personal(header: list[Line], everything: list[Line]) -> Personal:
    header_text = "\n".join(line.text for line in header)
    all_text = "\n".join(line.text for line in everything)
    email = _first(_EMAIL, header_text) or _first(_EMAIL, all_text)
    phone = _phone(header_text) or _phone(all_text)
    links = _links(header_text or all_text, email)
    return Personal(
        name=_name(header),
        email=email,
        phone=phone,
        location=_location(header),
        links=links,
    )


def _first(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group() if match else None


def _phone(text: str) -> str | None:
    for match in _PHONE.finditer(text):
        candidate = match.group().strip()
        # "(555) 123-4567" keeps its opening parenthesis; a stray closing one goes.
        if candidate.endswith(")") and "(" not in candidate:
            candidate = candidate[:-1].strip()
        if candidate.count("(") != candidate.count(")"):
            candidate = candidate.lstrip("(")
        if is_phone_number(candidate) and not find_range(candidate):
            return candidate
    return None


def _links(text: str, email: str | None) -> list[str]:
    links: list[str] = []
    for match in _LINK.finditer(text):
        link = match.group().rstrip(".,)")
        if email and link in email:
            continue
        if link.lower() not in (known.lower() for known in links):
            links.append(link)
    return links


def _name(header: list[Line]) -> str | None:
    for line in header[:6]:
        text = line.text
        labelled = re.match(r"^name\s*[:.]\s*(.+)$", text, re.IGNORECASE)
        if labelled:
            return labelled.group(1).strip()
        for candidate in parts(text)[:1]:
            if _looks_like_name(candidate):
                return _tidy_name(candidate)
    return None


def _looks_like_name(text: str) -> bool:
    words = text.replace(",", " ").split()
    if not 2 <= len(words) <= 5 or len(text) > 60:
        return False
    if any(char.isdigit() or char in "@/:|" for char in text):
        return False
    if _TITLE_WORDS.search(text) and not text.isupper():
        return False  # "Senior Software Engineer" under the name, not the name
    capitalised = 0
    for word in words:
        bare = word.strip(".'-()")
        if not bare:
            return False
        if bare.lower() in _NAME_PARTICLES:
            continue
        if not bare[0].isupper() or not all(c.isalpha() or c in ".'-" for c in bare):
            return False
        capitalised += 1
    return capitalised >= 2


def _tidy_name(text: str) -> str:
    text = " ".join(text.split())
    if text.isupper():
        # "JANE DOE" -> "Jane Doe"; keeps "O'Neil" and "Smith-Jones" capitalised right.
        return " ".join(
            "-".join(part.capitalize() for part in word.split("-")) for word in text.split()
        ).replace("O'n", "O'N")
    return text


def _location(header: list[Line]) -> str | None:
    for line in header[:12]:
        text = _LABEL.sub("", line.text)
        labelled = re.match(r"^(?:address|location)\s*[:.]\s*(.+)$", line.text, re.I)
        for part in parts(labelled.group(1) if labelled else text):
            remote = _REMOTE_START.match(part)
            if remote:
                return remote.group(1).capitalize()
            if _EMAIL.search(part) or _LINK.search(part):
                continue
            match = _LOCATION.search(part)
            if match and _is_place(match.group(1), match.group(2)):
                return match.group()
    return None


def _is_place(city: str, region: str) -> bool:
    if _TITLE_WORDS.search(city) or _COMPANY_WORDS.search(city):
        return False
    state = region.split()[0]
    return state in _US_STATES or region.lower() in _COUNTRIES


# Positions ------------------------------------------------------------------------------


def _experience(lines: list[Line]) -> list[Experience]:
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


def without(text: str, match: re.Match[str]) -> str:
    """``text`` with what ``match`` found cut out (and the brackets it stood in), the
    parts on either side kept apart."""
    before = re.sub(r"[(\[]\s*$", "", text[: match.start()].rstrip())
    after = re.sub(r"^\s*[)\]]", "", text[match.end() :].lstrip())
    return f"{before} | {after}".strip(" |,;")


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
        if at and _TITLE_WORDS.search(at.group(1)):
            fragments.extend([at.group(1), *parts(at.group(2))])
            continue
        for part in parts(text):
            fragments.extend(_comma_parts(part))
    candidates = [
        f for f in fragments if not _is_location_fragment(f) and not SINGLE_DATE.fullmatch(f)
    ]
    title = next((f for f in candidates if _TITLE_WORDS.search(f) and not _is_company(f)), None)
    others = [f for f in candidates if f is not title]
    company = next((f for f in others if _is_company(f)), None) or next(iter(others), None)
    if title is None and company is not None:
        rest = [f for f in others if f is not company]
        title = rest[0] if rest else None
    return title, company


def _is_company(fragment: str) -> bool:
    match = _COMPANY_WORDS.search(fragment)
    if match is None:
        return False
    # "Support Engineer, Acme Labs": a title word outranks an ordinary company word, but
    # not a legal suffix ("Sales Partners Inc.").
    return not _TITLE_WORDS.search(fragment) or bool(
        re.search(r"\b(?:inc|llc|ltd|gmbh|corp|plc)\b", fragment, re.I)
    )


def _comma_parts(text: str) -> list[str]:
    """A header part split at commas, keeping "Acme, Inc." and "Austin, TX" whole."""
    pieces = [piece.strip() for piece in text.split(",") if piece.strip()]
    merged: list[str] = []
    for piece in pieces:
        if merged and (_LEGAL_SUFFIX.match(piece) or _is_region(piece)):
            merged[-1] = f"{merged[-1]}, {piece}"
        else:
            merged.append(piece)
    return merged


def _is_region(piece: str) -> bool:
    words = piece.split()
    if not words:
        return False
    return (words[0] in _US_STATES and len(words) <= 2) or piece.lower() in _COUNTRIES


def _is_location_fragment(fragment: str) -> bool:
    if _REMOTE.match(fragment):
        return True
    match = _LOCATION.fullmatch(fragment)
    return bool(match and _is_place(match.group(1), match.group(2)))


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


def _education(lines: list[Line]) -> list[Education]:
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
        fragments.extend(_comma_parts(part))
    for index, fragment in enumerate(fragments):
        if _is_location_fragment(fragment) or fragment in _US_STATES:
            continue
        is_school = bool(_SCHOOL.search(fragment)) and not fragment.lower().startswith(
            ("high school diploma",)
        )
        is_degree = bool(_DEGREE.search(fragment) or _DEGREE_CASED.search(fragment))
        if is_degree and (not is_school or _starts_with_degree(fragment)) and degree is None:
            degree = _strip_trailing(fragment)
        elif is_school and school is None:
            school = _strip_trailing(fragment)
            # "University of California, Berkeley": the campus after the comma is part of it.
            following = fragments[index + 1] if index + 1 < len(fragments) else ""
            if (
                school.lower().startswith("university of")
                and following
                and not (_DEGREE.search(following) or _SCHOOL.search(following))
                and len(following.split()) <= 2
                and following[0].isupper()
                and not _is_location_fragment(following)
                and following.split()[0] not in _US_STATES
            ):
                school = f"{school}, {following}"
    return degree, school


def _starts_with_degree(fragment: str) -> bool:
    match = _DEGREE.search(fragment) or _DEGREE_CASED.search(fragment)
    return bool(match and match.start() == 0)


def _strip_trailing(text: str) -> str:
    return text.strip(" ,;:-–—")


# Lists ----------------------------------------------------------------------------------

_SKILL_MAX_WORDS: Final = 6
# A label of up to three words and a dash before a list: "Cloud — GCP, Docker".
_DASHED_LABEL: Final = re.compile(r"^[A-Za-z&/ ]{1,30}?\s[—–-]\s(.+,.+)$")


def _skills(lines: list[Line]) -> list[str]:
    found: list[str] = []
    for line in lines:
        text = line.text
        label, colon, rest = text.partition(":")
        dashed = _DASHED_LABEL.match(text)
        if colon and len(label.split()) <= 4 and rest.strip():
            text = rest  # "Languages: Python, Go" -> the list after the label
        elif dashed:
            text = dashed.group(1)  # "Cloud — GCP, Docker" -> the same
        elif text.endswith(":"):
            continue  # a label over a list of its own
        for item in split_list(text):
            item = re.sub(r"^(?:and|&)\s+", "", item).strip()
            if 0 < len(item.split()) <= _SKILL_MAX_WORDS and len(item) <= 60:
                found.append(item)
    return vocabulary.unique(found)


def _items(lines: list[Line]) -> list[str]:
    return [line.text for line in lines if len(line.text) > 2]


# Job descriptions -----------------------------------------------------------------------

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
    found = sections(lines, JOB_HEADINGS, first="intro")
    title, company = _job_title_and_company(lines)
    if company is None:
        company = _company_from_text(lines)
    listed = _skills(found.get("skills", []))
    return JobData(
        title=title,
        company=company,
        requirements=_job_items(found.get("requirements", [])),
        responsibilities=_job_items(found.get("responsibilities", [])),
        skills=vocabulary.unique([*listed, *vocabulary.find_skills(text)]),
    )


def _job_title_and_company(lines: list[Line]) -> tuple[str | None, str | None]:
    title: str | None = None
    company: str | None = None
    for line in lines[:15]:
        labelled = _JOB_LABEL.match(line.text)
        if labelled:
            value = labelled.group("value").strip()
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
    for line in lines[:3]:
        if line.bullet or not line.is_short(14) or _JOB_LABEL.match(line.text):
            continue
        if _heading_of(line) is not None:
            break
        text = _TITLE_PREFIX.sub("", line.text).strip()
        at = re.match(r"^(.+?)\s+(?:at|@)\s+(.+)$", text)
        if at:
            return at.group(1).strip(), company or _strip_trailing(at.group(2))
        pieces = [piece for part in parts(text) for piece in _comma_parts(part)]
        pieces = [piece for piece in pieces if not _is_location_fragment(piece)]
        if len(pieces) >= 2:
            titled = next((p for p in pieces if _TITLE_WORDS.search(p)), pieces[0])
            rest = [p for p in pieces if p is not titled]
            return titled, company or (rest[0] if rest else None)
        if pieces:
            return pieces[0], company
    return None, company


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
