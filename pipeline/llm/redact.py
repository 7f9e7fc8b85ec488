"""Removes contact details from text before it is sent to an LLM provider.

Interview prompts carry a background summary, planned questions and the candidate's
transcribed answers; none of the provider's business is how to reach the candidate. E-mail
addresses, phone numbers and links become the neutral placeholders ``[email]``, ``[phone]``
and ``[link]``, which keep a sentence readable ("you can reach me at [email]").

Text may come from speech recognition, so spoken forms ("ada at example dot com",
"github dot com slash ada") count too. Numbers that are not phone numbers (years, year
ranges, dates, amounts, decimals, round figures) are left alone: an answer's numbers are
what the interviewer follows up on.
"""

from __future__ import annotations

import re
from typing import Final

EMAIL: Final = "[email]"
PHONE: Final = "[phone]"
LINK: Final = "[link]"

# Top-level domains trusted for spoken addresses and bare "domain/path" links. A closed
# list, matched in lower case only, keeps "Node.js/React", "ASP.NET/C#" and "README.md/x"
# out; .rs, .md, .sh and .py are missing on purpose (Rust, Markdown, shell, Python files).
_TLDS = (
    "com|org|net|io|dev|co|me|ai|app|edu|gov|info|biz|xyz|tech|site|page|blog|ly|gg|"
    "us|uk|ca|au|nz|ie|in|de|fr|nl|be|at|ch|es|it|pt|pl|se|no|dk|fi|eu|jp|br|mx"
)

_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b")
# "ada dot lovelace at example dot com": the local part may itself be spoken with dots.
_SPOKEN_EMAIL = re.compile(
    rf"\b[\w%+-]+(?:\s+dot\s+[\w%+-]+)*\s+at\s+[\w-]+(?:\s+dot\s+[\w-]+)*\s+dot\s+(?:{_TLDS})\b",
    re.IGNORECASE,
)

# A link ends before trailing punctuation, which belongs to the sentence.
_URL_END = r"[^\s<>\"'.,;:!?)\]}]"
_URL = re.compile(rf"\b(?:https?://|www\.)[^\s<>\"']*{_URL_END}", re.IGNORECASE)
# A bare domain counts only with a path ("github.com/ada"): "Amazon.com" alone is a company
# name in an answer, not a link to the candidate. Case-sensitive: a lower-case TLD tells
# "github.com/ada" from "ASP.NET/C#".
_BARE_LINK = re.compile(rf"\b(?:[A-Za-z0-9-]+\.)+(?:{_TLDS})/(?:[^\s<>\"']*{_URL_END})?")
_SPOKEN_LINK = re.compile(rf"\b[\w-]+\s+dot\s+(?:{_TLDS})(?:\s+slash\s+[\w-]+)+", re.IGNORECASE)

# Digit groups joined by one separator each: "-", " - ", ".", a space, or a parenthesis
# ("(555) 123-4567", "+44 (0)20 7946 0958"). Possessive quantifiers and a mandatory
# separator keep matching linear on long digit runs. Whether a candidate is a phone number
# is decided in _phone, where the rules are easier to read than in a pattern.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+@$€£¥#./,-])"  # not the tail of a word, an amount, a version or a path
    r"(?:\+[ \t]?)?\(?\d++\)?"
    r"(?:(?:[ \t]?-[ \t]?|\.|[ \t]|(?<=\))|(?=\())\(?\d++\)?)*+"
    r"(?![\w@]|[.,/-]\d)"
)
_DIGITS = re.compile(r"\d+")
_YEAR = re.compile(r"(?:19|20)\d\d")


def redact(text: str) -> str:
    """``text`` with e-mail addresses, links and phone numbers replaced by placeholders."""
    text = _EMAIL.sub(EMAIL, text)
    text = _SPOKEN_EMAIL.sub(EMAIL, text)
    text = _URL.sub(LINK, text)
    text = _BARE_LINK.sub(LINK, text)
    text = _SPOKEN_LINK.sub(LINK, text)
    return _PHONE_CANDIDATE.sub(_phone, text)


def _phone(match: re.Match[str]) -> str:
    found = match.group()
    return PHONE if is_phone_number(found) else found


def is_phone_number(candidate: str) -> bool:
    """Whether digit groups like "555-123-4567" read as a phone number.

    Rejected: fewer than 7 or more than 15 digits (E.164's limit), years and year ranges
    ("2019-2021"), dates ("2021-03-15", "15.03.2021"), decimals ("3.14159265"), dotted
    IPv4 addresses, and unseparated runs that are short or round ("1000000").
    """
    groups = _DIGITS.findall(candidate)
    digits = "".join(groups)
    if candidate.startswith("+") or candidate.startswith("00"):
        significant = digits[2:] if candidate.startswith("00") else digits
        return 8 <= len(significant) <= 15
    if not 7 <= len(digits) <= 15:
        return False
    if len(groups) == 1:
        # A bare run is a phone number only when long enough for one and not a round figure.
        return len(digits) >= 10 and len(digits.rstrip("0")) >= 5
    if all(len(group) == 4 and _YEAR.fullmatch(group) for group in groups):
        return False  # "2019-2021", "2019 2020"
    if len(groups) == 3 and _is_date(groups):
        return False
    if groups[-1] == "000" and all(len(group) == 3 for group in groups[1:]):
        return False  # thousands grouped with spaces or dots: "1 500 000"
    if "." in candidate and not any(sep in candidate for sep in " -()"):
        if len(groups) == 2:
            return False  # a decimal number
        if len(groups) == 4 and all(len(group) <= 3 and int(group) <= 255 for group in groups):
            return False  # an IPv4 address: not a way to reach a person
    # Local numbers group digits in twos at least ("06 12 34 56 78"); single digits apart
    # are a list of small numbers ("1 2 3 4 5 6 7").
    return all(len(group) >= 2 for group in groups[1:])


def _is_date(groups: list[str]) -> bool:
    first, middle, last = groups
    if _YEAR.fullmatch(first) and len(middle) <= 2 and len(last) <= 2:
        return True  # 2021-03-15
    return len(first) <= 2 and len(middle) <= 2 and len(last) in (2, 4)  # 15.03.2021
