"""The offline resume parser: a resume read with rules, no model.

It serves when no LLM is configured, when one fails, and always for contact details
(which are never sent to an LLM). A resume is read section by section: headings from a
vocabulary of the names resumes use, contact details by pattern, positions and schools
by ``resume_entries``, skills split from their lists. ``bench/parsing.py`` measures how
well. It takes any text and never raises on what it is given.
"""

from __future__ import annotations

import re
from typing import Final

from pipeline.documents import skills as vocabulary
from pipeline.documents.fragments import LOCATION, TITLE_WORDS, is_place
from pipeline.documents.reading import Line, find_range, heading_key, parts, read_lines, sections
from pipeline.documents.resume_entries import read_positions, read_schools
from pipeline.documents.skills import listed_skills
from pipeline.documents.types import Personal, ResumeData
from pipeline.llm.redact import is_phone_number

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

_REMOTE_START: Final = re.compile(r"^\(?(remote|hybrid)\b", re.IGNORECASE)

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
    skills = listed_skills(found.get("skills", []))
    if not skills:
        # No skills section: fall back to the skills the text names.
        skills = vocabulary.find_skills(text)
    return ResumeData(
        personal=personal,
        experience=read_positions(found.get("experience", [])),
        education=read_schools(found.get("education", [])),
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
    if TITLE_WORDS.search(text) and not text.isupper():
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
            match = LOCATION.search(part)
            if match and is_place(match.group(1), match.group(2)):
                return match.group()
    return None


def _items(lines: list[Line]) -> list[str]:
    return [line.text for line in lines if len(line.text) > 2]
