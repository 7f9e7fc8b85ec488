"""Delivery metrics on synthetic word timings whose answers are known by construction."""

from __future__ import annotations

import pytest

from pipeline.feedback.delivery import (
    AnswerTiming,
    count_fillers,
    delivery,
    long_pauses,
    most_used,
    terms_used,
    time_to_first_word,
)
from storage.types import TurnWord


def timed(
    text: str, *, start: float = 0.0, step: float = 0.5, gaps: dict[int, float] | None = None
) -> list[TurnWord]:
    """One word every ``step`` seconds (each lasting 0.3 s), with extra silence before
    the words at the indexes in ``gaps``."""
    words: list[TurnWord] = []
    at = start
    for index, word in enumerate(text.split()):
        at += (gaps or {}).get(index, 0.0)
        words.append(TurnWord(word, at, at + 0.3))
        at += step
    return words


def test_pace_is_words_over_speaking_time() -> None:
    # 120 words, one every 0.5 s: the span is 119 * 0.5 + 0.3 = 59.8 s.
    words = timed(" ".join(["data"] * 120))
    metrics = delivery([AnswerTiming("Tell me about data.", words)])
    assert metrics.words == 120
    assert metrics.speaking_s == pytest.approx(59.8)
    assert metrics.words_per_minute == pytest.approx(round(120 * 60 / 59.8, 1))
    assert metrics.pace == "slow"  # under 130 words per minute
    fast = delivery([AnswerTiming("q", timed(" ".join(["x"] * 100), step=0.3))])
    assert fast.pace == "fast"  # 200 words per minute


def test_fillers_are_counted_but_ordinary_uses_are_not() -> None:
    spoken = (
        "Um so I was like, you know, sort of stuck. I like Python and it looks like "
        "a kind of queue. What kind of test? Uh I mean the test, do you know it?"
    )
    said = spoken.split()
    found = count_fillers(said)
    assert found == {"um": 1, "uh": 1, "like": 1, "you know": 1, "sort of": 1, "i mean": 1}
    assert sum(found.values()) == 6


def test_fillers_per_minute() -> None:
    # 30 words over 14.8 s, of which 3 fillers: 3 * 60 / 14.8 = 12.2 per minute.
    text = "um " + " ".join(["word"] * 13) + " uh " + " ".join(["word"] * 14) + " er"
    metrics = delivery([AnswerTiming("q", timed(text))])
    assert metrics.filler_count == 3
    assert metrics.fillers == {"er": 1, "uh": 1, "um": 1}
    assert metrics.fillers_per_minute == pytest.approx(round(3 * 60 / 14.8, 1))


def test_pauses_longer_than_two_seconds() -> None:
    words = timed("one two three four five six", gaps={2: 2.5, 4: 1.7, 5: 3.0})
    pauses = long_pauses(0, words)
    # Before "three": 0.2 s of the usual gap + 2.5 s; before "five" 1.9 s (not long).
    assert [(p.after_word, p.duration_s) for p in pauses] == [("two", 2.7), ("five", 3.2)]


def test_time_to_first_word_uses_the_question_end_when_known() -> None:
    answers = [
        AnswerTiming("q one", timed("a b c", start=5.0), question_end_s=3.5),
        AnswerTiming("q two", timed("d e", start=20.0), question_end_s=18.0),
    ]
    assert time_to_first_word(answers) == ([1.5, 2.0], False)


def test_time_to_first_word_is_estimated_without_a_question_end() -> None:
    # 8 question words at 160 wpm = 3.0 s; then the answer starts at 4.2 s.
    first = AnswerTiming("one two three four five six seven eight", timed("a b", start=4.2))
    # Previous answer ended at 4.2 + 0.5 + 0.3 = 5.0; latency 1.0 s; 8 words 3.0 s -> 9.0.
    second = AnswerTiming(
        "one two three four five six seven eight", timed("c", start=10.5), reply_latency_s=1.0
    )
    values, estimated = time_to_first_word([first, second])
    assert estimated is True
    assert values == [pytest.approx(1.2), pytest.approx(1.5)]


def test_talk_ratio_most_used_words_and_job_terms() -> None:
    # 16 question words = 6 s of interviewer; the answer spans 9.8 s (20 words).
    question = " ".join(["ask"] * 16)
    text = "We moved Postgres to Kubernetes and Postgres got faster with Kubernetes " + " ".join(
        ["ok"] * 9
    )
    metrics = delivery(
        [AnswerTiming(question, timed(text))],
        job_terms=["PostgreSQL", "Kubernetes", "Postgres", "Go"],
    )
    assert metrics.talk_ratio == pytest.approx(round(9.8 / (9.8 + 6.0), 3))
    assert metrics.most_used_words == [("kubernetes", 2), ("postgres", 2)]
    assert metrics.job_terms_used == ["Kubernetes", "Postgres"]
    assert metrics.job_terms_missing == ["PostgreSQL", "Go"]


def test_measured_question_audio_replaces_the_reading_estimate() -> None:
    question = " ".join(["ask"] * 16)  # 6 s if read at 160 words per minute
    text = "We moved Postgres to Kubernetes and Postgres got faster with Kubernetes"
    answer = timed(text)
    measured = delivery([AnswerTiming(question, answer, question_audio_s=2.0)])
    speaking = answer[-1].end_s - answer[0].start_s
    assert measured.talk_ratio == pytest.approx(round(speaking / (speaking + 2.0), 3))


def test_terms_match_whole_words_only() -> None:
    used, missing = terms_used("I wrote C++ and some Go, not Golang", ["C++", "Go", "C", "Java"])
    assert used == ["C++", "Go"] and missing == ["C", "Java"]


def test_most_used_skips_stop_words_and_single_uses() -> None:
    assert most_used(["the", "team", "the", "team", "shipped", "it", "it"]) == [("team", 2)]


def test_no_words_gives_no_rates() -> None:
    metrics = delivery([AnswerTiming("q", [])])
    assert metrics.words_per_minute is None and metrics.fillers_per_minute is None
    assert metrics.time_to_first_word_s == [None]
