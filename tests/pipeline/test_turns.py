"""The turn policy: how long to wait for more words, judged on what was said."""

from __future__ import annotations

import pytest

from pipeline.turns import TurnPolicy, interrupts, is_backchannel, looks_unfinished
from voices.types import WordTiming

POLICY = TurnPolicy(patience_s=0.4, unfinished_patience_s=3.0, short_share=0.5)
STORY = "Tell me about a time you improved the performance of a system."
CLOSED = "Thanks. Have you worked with Kubernetes before?"
FINISHED = (
    "Our checkout page was slow, so I profiled the service and found that most of the "
    "time went into the database. The median response time dropped from four hundred "
    "to about ninety milliseconds after we added two indexes."
)


def test_a_complete_answer_of_the_deserved_length_waits_least() -> None:
    assert POLICY.patience_for(FINISHED, question=STORY) == pytest.approx(0.4)


@pytest.mark.parametrize(
    "text",
    [
        "So I profiled the service, and",
        "I wanted a simple REST endpoint, but um",
        "It broke the nightly export because",
        "We ran a short design review with",  # ends in a preposition
        "The hardest part was the",  # ends in a determiner
        "I was responsible for",
        "The median response time dropped from 400.",  # Whisper's full stop on a fragment
        "We went from four hundred.",
        "It was somewhere between ten.",
        "and I think",  # no final punctuation
        "We paired on every incident...",  # Whisper's trailing off
        "",
    ],
)
def test_words_that_trail_off_wait_longest(text: str) -> None:
    assert looks_unfinished(text)
    assert POLICY.patience_for(text, question=STORY) == 3.0


@pytest.mark.parametrize(
    "text",
    [
        "I learned a lot from that project.",  # "from" without a number opens no range
        "It dropped from 400 to 90 milliseconds.",
        "Yes, for about three years.",
        "We shipped it.",
    ],
)
def test_complete_sentences_are_not_unfinished(text: str) -> None:
    assert not looks_unfinished(text)


def timed(text: str, *, last: tuple[float, float, float] | None = None) -> list[WordTiming]:
    """``text``'s words 0.3 s each, the last one with ``(start, end, confidence)``."""
    words = [WordTiming(w, 0.3 * i, 0.3 * (i + 1), 0.95) for i, w in enumerate(text.split())]
    if last is not None:
        words[-1] = WordTiming(words[-1].word, *last)
    return words


@pytest.mark.parametrize(
    ("text", "last"),
    [
        # Whisper's completion of "… I was responsible for": "it." placed after the speech
        # the VAD heard, so no sound of its own.
        (FINISHED + " I was responsible for it.", (20.0, 20.0, 0.84)),
        # "… could write the" heard as "them.", unsure.
        (FINISHED + " Two workers could write them.", (19.4, 19.55, 0.44)),
    ],
)
def test_a_last_word_without_sound_or_confidence_does_not_finish_the_answer(
    text: str, last: tuple[float, float, float]
) -> None:
    assert POLICY.patience_for(text, question=STORY) == pytest.approx(0.4)
    assert POLICY.patience_for(text, question=STORY, timings=timed(text, last=last)) == 3.0


def test_an_unsure_last_word_after_a_finished_sentence_leaves_it_finished() -> None:
    text = FINISHED + " Um."
    timings = timed(text, last=(20.0, 20.2, 0.2))
    assert POLICY.patience_for(text, question=STORY, timings=timings) == pytest.approx(0.4)


def test_clearly_heard_words_are_judged_as_they_are() -> None:
    timings = timed(FINISHED)
    assert POLICY.clearly_heard(FINISHED, timings) == FINISHED
    assert POLICY.patience_for(FINISHED, question=STORY, timings=timings) == pytest.approx(0.4)


def test_a_short_answer_to_a_story_question_waits_longer() -> None:
    short = POLICY.patience_for("Our checkout page was slow.", question=STORY)
    longer = POLICY.patience_for(
        "Our checkout page was slow. I profiled it and found the database.", question=STORY
    )
    assert 0.4 < longer < short < 3.0
    # Half the way to the unfinished patience at most, however short.
    assert POLICY.patience_for("Slow.", question=STORY) <= 0.4 + 0.5 * (3.0 - 0.4) + 1e-9


def test_a_short_answer_to_a_yes_no_question_is_enough() -> None:
    assert POLICY.deserved_words(CLOSED) == POLICY.closed_words
    assert POLICY.patience_for("Yes, for about three years.", question=CLOSED) == 0.4
    # "Can you tell me about …" asks for a story even though it opens like yes/no.
    assert POLICY.deserved_words("Would you tell me about your last project?") == 30


def test_a_list_begun_and_not_continued_waits_longer() -> None:
    begun = POLICY.patience_for("First, we measured the latency of every call.", question=STORY)
    continued = POLICY.patience_for(
        "First, we measured the latency of every call. Second, we cached the slowest "
        "queries and the page became four times faster for every customer we had.",
        question=STORY,
    )
    assert begun > continued + 0.5


def test_no_question_counts_as_one_that_deserves_a_story() -> None:
    assert POLICY.patience_for("We shipped it.") == POLICY.patience_for(
        "We shipped it.", question=STORY
    )


def test_backchannels_do_not_interrupt() -> None:
    assert is_backchannel("mm-hm")
    assert not interrupts("yeah okay", POLICY)
    assert interrupts("wait, that is not what I meant", POLICY)
