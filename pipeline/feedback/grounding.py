"""Whether a suggestion invents facts: every number, name and job title it states must
appear in what the candidate gave us (the resume, the answer, the question and the job).

"A stronger answer would…" is built from the candidate's own resume. A suggestion that
puts a figure, an employer or a title in the candidate's mouth that they never had would
coach them to claim it, so the LLM's suggestions are checked here and dropped when they
fail, and the offline ones are tested against the same rule.

What counts as a claim:

- a **number**: digits ("40%", "3x", "1,200", "p95") or a number word from "two" up
  ("three engineers"); it is grounded when the same value occurs in a source, written
  either way ("four engineers" grounds "4 engineers");
- a **name**: a capitalised word (an organisation, product, place or a title written as a
  name: "Northwind", "AWS", "Staff Engineer"); the first word of a sentence counts unless
  it is an ordinary word ("Describe", "Then", "For"). Grounded when the word occurs in a
  source (case-insensitive, as a whole word);
- a **title**: "as a senior nurse", "became the engineering manager": the words of the
  title must occur together in a source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from pipeline.documents.fragments import TITLE_WORDS
from pipeline.feedback.delivery import STOP_WORDS
from pipeline.feedback.types import normalised

ClaimKind = Literal["number", "name", "title"]

_NUMBER_WORDS: Final[dict[str, float]] = {
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "hundred": 100,
    "thousand": 1_000,
    "million": 1_000_000,
    "billion": 1_000_000_000,
    "dozen": 12,
    "twice": 2,
    "double": 2,
    "doubled": 2,
    "triple": 3,
    "tripled": 3,
    "half": 0.5,
    "halved": 0.5,
}
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*")
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
# A word with a capital letter: "Northwind", "AWS", "iOS", "O'Neil", "Babbage & Co".
_CAPITALISED = re.compile(r"(?<![\w'’-])(?:[A-Z][\w'’.&-]*|[a-z]+[A-Z][\w'’.&-]*)")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;…]\s+|\n\s*|[“\"(\[]\s*|[-•*]\s+)$")
_TITLE = re.compile(
    r"\b(?:as|became|become|becoming|promoted to|hired as|joined as|work as|worked as)\s+"
    r"(?:an?|the|our|their|your)\s+((?:[\w-]+\s+){0,3}" + TITLE_WORDS.pattern + r"s?)",
    re.IGNORECASE,
)

# Ordinary words that start a coaching sentence. A capitalised word of this list at the
# start of a sentence is not a name; anywhere else a capital still makes it one.
_ORDINARY: Final = STOP_WORDS | frozenset(
    """add aim answer ask avoid begin bring build choose close compare connect cover
    describe detail end estimate example explain finish first focus give go instead keep
    lead let list make mention move name next note offer open pick point present quantify
    say second show spell start state step still structure summarise summarize talk tell
    then third tie try use walk weigh wrap for from in on at by after before with without
    when while where what which how why who if then next finally also lastly situation task
    action result outcome requirements design data trade-offs trade-off tradeoffs
    communication clarity correctness depth judgement judgment knowledge here there this
    that these those your you i we it they one each every both either neither another
    include including consider""".split()  # noqa: SIM905 - a word list reads better as text
)
# Capitalised words that name no one: the pronoun, months and days, and the acronyms of
# the craft a coach uses ("API", "SLA") — none is an employer, a title or a figure.
_ALWAYS_ALLOWED: Final = frozenset(
    """i i'm i'd i've i'll star q1 q2 q3 q4 january february march april may june july
    august september october november december monday tuesday wednesday thursday friday
    saturday sunday api apis sla slas slo qps rps cdn sql nosql db ui ux kpi kpis okr okrs
    faq""".split()  # noqa: SIM905
)


@dataclass(frozen=True, slots=True)
class Claim:
    """A fact a suggestion states that no source backs."""

    kind: ClaimKind
    text: str


def _value(token: str) -> float | None:
    # "1,200" is a thousand two hundred; "3,5" and "3.5" are three and a half.
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token):
        token = token.replace(",", "")
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None


def numbers(text: str) -> set[float]:
    """The values of the numbers ``text`` states, in digits or in words."""
    found = {v for v in (_value(m.group()) for m in _DIGITS.finditer(text)) if v is not None}
    found.update(_NUMBER_WORDS[m.group(1).lower()] for m in _NUMBER_WORD.finditer(text))
    return found


def _words(text: str) -> set[str]:
    return set(re.findall(r"[\w&'’+#.-]+", normalised(text))) | set(
        re.findall(r"\w+", normalised(text))
    )


def _names(text: str) -> list[str]:
    names: list[str] = []
    for match in _CAPITALISED.finditer(text):
        word = match.group().rstrip(".'’-")
        bare = word.lower().replace("’", "'")
        if not bare or bare in _ALWAYS_ALLOWED:
            continue
        at_start = _SENTENCE_START.search(text[: match.start()]) is not None
        if at_start and bare in _ORDINARY:
            continue
        names.append(word)
    return names


def ungrounded(suggestion: str, sources: Iterable[str]) -> list[Claim]:
    """The numbers, names and titles of ``suggestion`` that none of ``sources`` states
    (empty when every fact it states is the candidate's own)."""
    given = "\n".join(sources)
    claims: list[Claim] = []
    have_numbers = numbers(given)
    for match in _DIGITS.finditer(suggestion):
        value = _value(match.group())
        if value is not None and value not in have_numbers:
            claims.append(Claim("number", match.group()))
    for match in _NUMBER_WORD.finditer(suggestion):
        if _NUMBER_WORDS[match.group(1).lower()] not in have_numbers:
            claims.append(Claim("number", match.group()))
    have_words = _words(given)
    for name in _names(suggestion):
        if not {w for w in re.findall(r"\w+", name.lower())} <= have_words:
            claims.append(Claim("name", name))
    flat = normalised(given)
    for match in _TITLE.finditer(suggestion):
        title = normalised(match.group(1))
        if title not in flat:
            claims.append(Claim("title", match.group(1)))
    return claims


def is_grounded(suggestion: str, sources: Iterable[str]) -> bool:
    """Whether every number, name and title in ``suggestion`` occurs in ``sources``."""
    return not ungrounded(suggestion, sources)
