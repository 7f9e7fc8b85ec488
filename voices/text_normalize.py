"""Text as a speaker would read it, before phonemes are made from it.

espeak-ng reads many written forms badly ("I/O" as "I slash O", "$5M" as "dollar five m",
"2019" as "two thousand nineteen" in one place and "twenty nineteen" in another), so the
interviewer's text is spelled out first: currency, percentages, years, ordinals, plain
numbers, and common abbreviations (e.g., etc., Dr., vs.).
"""

from __future__ import annotations

import re

_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"')\]]*\s+")

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}
_SUFFIX_SCALES = {"k": "thousand", "m": "million", "mm": "million", "b": "billion", "bn": "billion"}
_CURRENCIES = {"$": ("dollar", "dollars", "cent", "cents"), "€": ("euro", "euros", "cent", "cents"),
               "£": ("pound", "pounds", "penny", "pence")}  # fmt: skip

# Abbreviations, matched case-sensitively as whole tokens.
_ABBREVIATIONS = {
    "e.g.": "for example",
    "i.e.": "that is",
    "etc.": "et cetera",
    "vs.": "versus",
    "vs": "versus",
    "Dr.": "Doctor",
    "Mr.": "Mister",
    "Mrs.": "Missus",
    "Ms.": "Miz",
    "Prof.": "Professor",
    "approx.": "approximately",
    "Inc.": "Incorporated",
    "Ltd.": "Limited",
    "Jr.": "Junior",
    "Sr.": "Senior",
    "No.": "number",
}
# Technical terms read letter by letter or as words.
_TERMS = {
    "I/O": "I O",
    "CI/CD": "C I C D",
    "A/B": "A B",
    "24/7": "twenty-four seven",
    "&": "and",
    "w/": "with",
    "w/o": "without",
}

_ABBREVIATION_RE = re.compile(
    r"(?<![\w.])(" + "|".join(re.escape(a) for a in sorted(_ABBREVIATIONS, key=len, reverse=True))
    + r")(?=\s|$|[,;:!?)])"
)  # fmt: skip
_TERM_RE = re.compile(
    r"(?<![\w/])(" + "|".join(re.escape(t) for t in sorted(_TERMS, key=len, reverse=True))
    + r")(?![\w/])"
)  # fmt: skip
_CURRENCY_RE = re.compile(
    r"([$€£])\s?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?:\s?(k|m|mm|b|bn|million|billion|thousand)\b)?",
    re.IGNORECASE,
)
_PERCENT_RE = re.compile(r"(\d+(?:\.\d+)?)\s?%")
_DECADE_RE = re.compile(r"\b(1[5-9]|20)(\d)0s\b")
_YEAR_RE = re.compile(r"\b(1[5-9]\d\d|20\d\d)\b")
_ORDINAL_RE = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_RANGE_RE = re.compile(r"\b(\d+)\s?[-–]\s?(\d+)\b")
_NUMBER_RE = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(?![\d])")
_SCALED_RE = re.compile(r"\b(\d+(?:\.\d+)?)\s?(k|K|M|B|bn)\b")


def number_words(value: int) -> str:
    """``1234`` → "one thousand two hundred thirty-four"."""
    if value < 0:
        return "minus " + number_words(-value)
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + (f"-{_ONES[ones]}" if ones else "")
    if value < 1000:
        hundreds, rest = divmod(value, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {number_words(rest)}" if rest else "")
    for scale, name in _SCALES:
        if value >= scale:
            high, rest = divmod(value, scale)
            return f"{number_words(high)} {name}" + (f" {number_words(rest)}" if rest else "")
    raise AssertionError("unreachable")


def year_words(year: int) -> str:
    """``1999`` → "nineteen ninety-nine", ``2005`` → "two thousand five",
    ``2019`` → "twenty nineteen"."""
    high, low = divmod(year, 100)
    if year % 1000 < 10 and high % 10 == 0:
        return number_words(year)
    if low == 0:
        return f"{number_words(high)} hundred"
    if low < 10:
        return f"{number_words(high)} oh {_ONES[low]}"
    return f"{number_words(high)} {number_words(low)}"


def ordinal_words(value: int) -> str:
    words = number_words(value)
    head, _, last = words.rpartition(" ")
    prefix, _, unit = last.rpartition("-")
    if unit in _ORDINAL_WORDS:
        unit = _ORDINAL_WORDS[unit]
    elif unit.endswith("y"):
        unit = unit[:-1] + "ieth"
    else:
        unit += "th"
    last = f"{prefix}-{unit}" if prefix else unit
    return f"{head} {last}" if head else last


def _decimal(whole: str, fraction: str | None) -> str:
    words = number_words(int(whole.replace(",", "")))
    if fraction:
        words += " point " + " ".join(_ONES[int(digit)] for digit in fraction)
    return words


def _currency(match: re.Match[str]) -> str:
    symbol, whole, cents, scale = match.groups()
    one, many, cent, cents_word = _CURRENCIES[symbol]
    amount = int(whole.replace(",", ""))
    if scale:
        scale_word = _SUFFIX_SCALES.get(scale.lower(), scale.lower())
        number = _decimal(whole, cents)
        return f"{number} {scale_word} {many}"
    words = f"{number_words(amount)} {one if amount == 1 else many}"
    if cents and int(cents.ljust(2, "0")):
        value = int(cents.ljust(2, "0"))
        words += f" and {number_words(value)} {cent if value == 1 else cents_word}"
    return words


def _scaled(match: re.Match[str]) -> str:
    number, suffix = match.groups()
    whole, _, fraction = number.partition(".")
    return f"{_decimal(whole, fraction or None)} {_SUFFIX_SCALES[suffix.lower()]}"


def _decade(match: re.Match[str]) -> str:
    century, decade = match.groups()
    if century == "20" and decade == "0":
        return "two thousands"
    words = year_words(int(f"{century}{decade}0"))
    head, _, last = words.rpartition(" ")
    last = last[:-1] + "ies" if last.endswith("y") else last + "s"
    return f"{head} {last}" if head else last


def normalize(text: str) -> str:
    """The text with numbers, currency, symbols and abbreviations spelled out."""
    text = _TERM_RE.sub(lambda m: _TERMS[m.group(1)], text)
    text = _ABBREVIATION_RE.sub(lambda m: _ABBREVIATIONS[m.group(1)], text)
    text = _CURRENCY_RE.sub(_currency, text)
    text = _PERCENT_RE.sub(lambda m: _decimal(*_split_decimal(m.group(1))) + " percent", text)
    text = _SCALED_RE.sub(_scaled, text)
    text = _RANGE_RE.sub(lambda m: f"{m.group(1)} to {m.group(2)}", text)
    text = _DECADE_RE.sub(_decade, text)
    text = _YEAR_RE.sub(lambda m: year_words(int(m.group(1))), text)
    text = _ORDINAL_RE.sub(lambda m: ordinal_words(int(m.group(1))), text)
    text = _NUMBER_RE.sub(lambda m: _decimal(m.group(1), m.group(2)), text)
    return " ".join(text.split())


def segments(text: str) -> list[str]:
    """The normalised sentences of ``text``: the unit of synthesis and of the phrase cache."""
    spoken = normalize(text)
    return [part.strip() for part in _SENTENCE_END.split(spoken) if part.strip()]


def _split_decimal(number: str) -> tuple[str, str | None]:
    whole, _, fraction = number.partition(".")
    return whole, fraction or None
