"""The fragments of a header line the offline parsers tell apart: job titles, companies,
places. A position's header ("Senior Engineer, Acme, Inc. | Austin, TX"), a school's line
and a job description's first lines are split into fragments and each is judged by these
vocabularies; both the resume and the job parser use them.
"""

from __future__ import annotations

import re
from typing import Final

# Words that make a phrase a job title ("Senior Data Analyst") rather than a company.
TITLE_WORDS: Final = re.compile(
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
COMPANY_WORDS: Final = re.compile(
    r"\b(?:inc|llc|ltd|limited|corp|corporation|co|company|gmbh|ag|sa|plc|labs?"
    r"|technologies|technology|systems|solutions|group|bank|hospital|clinic|agency"
    r"|partners|studios?|software|health|healthcare|foods|capital|ventures|media"
    r"|consulting|services|industries|holdings|network|networks|district|council"
    r"|foundation|institute|university|college|school|academy|department|ministry)\b\.?",
    re.IGNORECASE,
)
US_STATES: Final = frozenset(
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
_LEGAL_SUFFIX: Final = re.compile(
    r"^(?:inc|llc|ltd|limited|corp|co|gmbh|ag|sa|plc|l\.?p|s\.?a)\.?$", re.IGNORECASE
)
LOCATION: Final = re.compile(
    r"\b([A-Z][A-Za-z.'-]+(?:\s[A-Z][A-Za-z.'-]+){0,3}),\s*"
    r"([A-Z]{2,3}(?:\s+\d{5})?|[A-Z][a-z]+(?:\s[A-Z][a-z]+){0,2})\b"
)


def is_place(city: str, region: str) -> bool:
    if TITLE_WORDS.search(city) or COMPANY_WORDS.search(city):
        return False
    state = region.split()[0]
    return state in US_STATES or region.lower() in _COUNTRIES


def comma_parts(text: str) -> list[str]:
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
    return (words[0] in US_STATES and len(words) <= 2) or piece.lower() in _COUNTRIES


def is_location_fragment(fragment: str) -> bool:
    if _REMOTE.match(fragment):
        return True
    match = LOCATION.fullmatch(fragment)
    return bool(match and is_place(match.group(1), match.group(2)))


def strip_trailing(text: str) -> str:
    return text.strip(" ,;:-–—")
