"""Redaction of contact details before anything reaches an LLM provider."""

from __future__ import annotations

import time

import pytest

from pipeline.llm.redact import is_phone_number, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail ada@example.com today", "Mail [email] today"),
        ("ada.lovelace+jobs@mail.example.co.uk.", "[email]."),
        ("<first_last@sub-domain.io>", "<[email]>"),
        ("mailto:ada@example.com", "mailto:[email]"),
        ("ADA@EXAMPLE.COM", "[email]"),
        # Speech recognition writes addresses out as spoken.
        ("it's ada dot lovelace at gmail dot com thanks", "it's [email] thanks"),
        ("write to ada at example dot co dot uk", "write to [email]"),
    ],
)
def test_email_addresses(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "phone",
    [
        "+1 (555) 123-4567",
        "+1-202-555-0143",
        "+15551234567",
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+33 6 12 34 56 78",
        "+49 30 1234567",
        "0049 30 1234567",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "555 123 4567",
        "555 - 123 - 4567",
        "555-1234",
        "1-800-555-0199",
        "07700 900123",
        "020 7946 0958",
        "06 12 34 56 78",
        "612 345 678",
        "5551234567",
    ],
)
def test_phone_numbers_in_international_and_local_formats(phone: str) -> None:
    assert redact(f"Call me on {phone}, any time.") == "Call me on [phone], any time."
    assert redact(f"tel:{phone}") == "tel:[phone]"


@pytest.mark.parametrize(
    "text",
    [
        "In 2019 I joined, and in 2021 I left.",
        "From 2019-2021 and 1999 - 2003 I worked in Lyon; also 2019 2020.",
        "It shipped on 2021-03-15, or 15.03.2021 as the French write it.",
        "We grew 40 percent in 3 phases over 12 months with a team of 8.",
        "Revenue went from $1,250,000 to €2.5 million and 1,000,000 users.",
        "We served 1000000 requests a day, about 1 500 000 at peak.",
        "Pi is 3.14159265, the server was 192.168.100.254, Python 3.11.7.",
        "A 1920x1080 screen at 60 fps, at 12:30:45, score +5, order #12345678.",
        "Steps 1 2 3 4 5 6 7 8 of the runbook.",
        "The ticket JIRA-1234567 and the commit a1b2c3d4e5f6.",
        "The unix time 1700000000 was logged.",
    ],
)
def test_numbers_that_are_not_phone_numbers_are_kept(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see https://github.com/ada/engine?tab=repos.", "see [link]."),
        ("(http://example.com/a_b)", "([link])"),
        ("at www.ada.dev, or", "at [link], or"),
        ("WWW.EXAMPLE.COM/ABOUT", "[link]"),
        ("github.com/ada and gitlab.com/ada/x.", "[link] and [link]."),
        ("linkedin.com/in/ada-lovelace-1815", "[link]"),
        ("GitHub.com/Ada", "[link]"),
        ("https://example.com/call/5551234567", "[link]"),
        ("my site is github dot com slash ada", "my site is [link]"),
    ],
)
def test_links(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "I know Node.js/React, ASP.NET/C# and Vue.js.",
        "Edit README.md/CHANGELOG.md and main.rs/lib.rs.",
        "I worked at Amazon.com and Booking.com for a while.",
        "e.g. an on-call rota, i.e. a pager, and/or a runbook.",
        "The ratio was 3/4 and the path /var/log/app.",
    ],
)
def test_words_that_look_like_links_are_kept(text: str) -> None:
    assert redact(text) == text


def test_everything_in_one_background() -> None:
    background = (
        "Ada Lovelace | ada@example.com | +44 20 7946 0958 | github.com/ada | "
        "https://ada.dev/cv.pdf. Led 12 engineers through a 2019-2021 migration; "
        "cut costs by 40 percent."
    )

    assert redact(background) == (
        "Ada Lovelace | [email] | [phone] | [link] | [link]. Led 12 engineers through a "
        "2019-2021 migration; cut costs by 40 percent."
    )


def test_redaction_is_idempotent_and_leaves_plain_text_alone() -> None:
    text = "Reach me at ada@example.com or 555-123-4567, see github.com/ada."
    once = redact(text)

    assert redact(once) == once
    assert redact("") == ""
    assert redact("I led the migration in three phases.") == (
        "I led the migration in three phases."
    )


def test_is_phone_number_bounds_digit_counts() -> None:
    assert not is_phone_number("555-123")  # 6 digits
    assert not is_phone_number("+1 555")  # too short for an international number
    assert not is_phone_number("1234 5678 9012 3456")  # 16 digits: over E.164's 15
    assert is_phone_number("+1 555 123 4567")


def test_redaction_is_fast_and_linear_on_hostile_input() -> None:
    # Long digit runs and near-miss separators must not make the patterns backtrack.
    hostile = ("1234567890" * 50 + "x " + "1-" * 500 + "a.b.c@" * 200) * 5
    answer = "I rebuilt the billing service and cut failed payments by 40 percent. " * 30

    started = time.perf_counter()
    redact(hostile)
    for _ in range(100):
        redact(answer)

    assert time.perf_counter() - started < 1.0
