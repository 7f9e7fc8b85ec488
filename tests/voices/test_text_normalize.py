"""Text normalisation before speech synthesis: what a speaker would say."""

from __future__ import annotations

import pytest

from voices.text_normalize import normalize, number_words, ordinal_words, year_words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (0, "zero"),
        (7, "seven"),
        (42, "forty-two"),
        (100, "one hundred"),
        (1234, "one thousand two hundred thirty-four"),
        (3_000_000, "three million"),
    ],
)
def test_number_words(value: int, words: str) -> None:
    assert number_words(value) == words


@pytest.mark.parametrize(
    ("year", "words"),
    [
        (1999, "nineteen ninety-nine"),
        (2000, "two thousand"),
        (2005, "two thousand five"),
        (2019, "twenty nineteen"),
        (1900, "nineteen hundred"),
        (1905, "nineteen oh five"),
    ],
)
def test_year_words(year: int, words: str) -> None:
    assert year_words(year) == words


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (1, "first"),
        (2, "second"),
        (3, "third"),
        (12, "twelfth"),
        (20, "twentieth"),
        (21, "twenty-first"),
    ],
)
def test_ordinal_words(value: int, words: str) -> None:
    assert ordinal_words(value) == words


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("In 2019 we grew by 40%.", "In twenty nineteen we grew by forty percent."),
        (
            "Revenue rose 12.5% in the 1990s.",
            "Revenue rose twelve point five percent in the nineteen nineties.",
        ),
        ("It cost $5 and then $1.50.", "It cost five dollars and then one dollar and fifty cents."),
        (
            "A $2M budget and €300k.",
            "A two million dollars budget and three hundred thousand euros.",
        ),
        ("We served 1,200 users.", "We served one thousand two hundred users."),
        ("Disk I/O was the bottleneck.", "Disk I O was the bottleneck."),
        ("Tools, e.g. Docker, Kafka, etc.", "Tools, for example Docker, Kafka, et cetera"),
        ("Dr. Smith vs. Mr. Jones", "Doctor Smith versus Mister Jones"),
        (
            "From 2018-2021 I led 3-5 engineers.",
            "From twenty eighteen to twenty twenty-one I led three to five engineers.",
        ),
        ("Our 1st and 2nd releases", "Our first and second releases"),
        ("Q&A with CI/CD", "Q&A with C I C D"),
        ("It handles 10k requests 24/7.", "It handles ten thousand requests twenty-four seven."),
        ("Tell me about a time you led a project.", "Tell me about a time you led a project."),
    ],
)
def test_normalize(text: str, spoken: str) -> None:
    assert normalize(text) == spoken
