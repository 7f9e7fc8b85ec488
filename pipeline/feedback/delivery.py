"""Delivery metrics computed from the word timings of the answers, never guessed.

Everything here is a pure function of the words the speech recogniser timed (``TurnWord``:
the word, its start and end in seconds of candidate audio) and the questions' text:

- **words per minute**: words spoken / speaking time, where speaking time is the sum of
  each answer's span (first word's start to last word's end);
- **filler words per minute**: fillers (``FILLERS``, plus "like", "you know", "I mean",
  "sort of", "kind of" where they are used as fillers, see ``count_fillers``) / speaking
  time;
- **long pauses**: silences of more than ``LONG_PAUSE_S`` between two words of an answer;
- **time to first word**: from the end of the question to the answer's first word. Live
  turns record where the question ended in the candidate's audio (``question_end_s``);
  without it (typed answers, turns stored before that was recorded) it is estimated: the
  previous answer's last word (0 for the first question), plus the interviewer's response
  latency when it was measured, plus the question's length. Reported with
  ``estimated: true`` then;
- **talk ratio**: the candidate's speaking time / (theirs + the interviewer's); the
  interviewer's is the questions' measured audio, or their words read at
  ``INTERVIEWER_WPM`` when that was not recorded;
- **most-used words**: the commonest words that are not stop words or fillers;
- **job terms used**: which of the job's skills and requirement keywords occur.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from storage.types import TurnWord

LONG_PAUSE_S: Final = 2.0
INTERVIEWER_WPM: Final = 160.0  # how fast synthetic voices read a question
PACE_BAND_WPM: Final = (130.0, 160.0)  # a comfortable interview pace

FILLERS: Final = frozenset({"um", "umm", "uh", "uhh", "er", "erm", "ah", "hmm", "mm"})
# Two-word fillers, and the words before them that make them ordinary speech instead
# ("what kind of", "do you know", "what I mean").
_FILLER_PAIRS: Final[dict[tuple[str, str], frozenset[str]]] = {
    ("you", "know"): frozenset({"do", "did", "don't", "didn't", "if", "would", "will", "to"}),
    ("i", "mean"): frozenset({"what", "do", "did", "don't"}),
    ("sort", "of"): frozenset({"a", "the", "what", "which", "this", "that", "any", "some", "one"}),
    ("kind", "of"): frozenset({"a", "the", "what", "which", "this", "that", "any", "some", "one"}),
}
# "like" is a filler after these (or at the start of an answer, or set off by commas);
# "I like", "looks like", "something like" are not.
_LIKE_FILLER_AFTER: Final = frozenset(
    {"was", "were", "is", "it's", "and", "so", "but", "um", "uh", "er", "just", "then", "'s"}
)
STOP_WORDS: Final = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing don't down during each few for
    from further had has have having he her here hers him his how i i'd i'll i'm i've if in
    into is it it's its itself just me more most my myself no nor not now of off on once only
    or other our ours out over own really same she should so some such than that that's the
    their theirs them then there there's these they they're this those through to too under
    until up very was we we're we've were what when where which while who whom why will with
    would you you're your yours yeah okay ok well also got get like know mean thing things
    actually basically lot one two""".split()  # noqa: SIM905 - a list of 150 words reads better as text
)


@dataclass(frozen=True, slots=True)
class AnswerTiming:
    """One answer's words, and what is known of the question before it."""

    question: str
    words: Sequence[TurnWord]
    question_end_s: float | None = None  # measured end of the question, when known
    reply_latency_s: float | None = None  # interviewer's response time before the question
    question_audio_s: float | None = None  # measured length of the question's audio

    def question_s(self) -> float:
        """How long the question took to say: measured, or read at ``INTERVIEWER_WPM``."""
        if self.question_audio_s is not None:
            return self.question_audio_s
        return len(self.question.split()) * 60.0 / INTERVIEWER_WPM


@dataclass(frozen=True, slots=True)
class Pause:
    answer: int  # index of the answer
    after_word: str
    at_s: float
    duration_s: float


@dataclass(frozen=True, slots=True)
class DeliveryMetrics:
    words: int
    speaking_s: float
    words_per_minute: float | None
    pace: str | None  # "slow" | "comfortable" | "fast"
    fillers: dict[str, int]
    filler_count: int
    fillers_per_minute: float | None
    long_pauses: list[Pause]
    time_to_first_word_s: list[float | None]
    time_to_first_word_estimated: bool
    talk_ratio: float | None
    most_used_words: list[tuple[str, int]]
    job_terms_used: list[str]
    job_terms_missing: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "words": self.words,
            "speaking_s": self.speaking_s,
            "words_per_minute": self.words_per_minute,
            "pace": self.pace,
            "fillers": self.fillers,
            "filler_count": self.filler_count,
            "fillers_per_minute": self.fillers_per_minute,
            "long_pauses": [
                {
                    "answer": p.answer,
                    "after_word": p.after_word,
                    "at_s": p.at_s,
                    "duration_s": p.duration_s,
                }
                for p in self.long_pauses
            ],
            "long_pause_count": len(self.long_pauses),
            "time_to_first_word_s": self.time_to_first_word_s,
            "time_to_first_word_estimated": self.time_to_first_word_estimated,
            "talk_ratio": self.talk_ratio,
            "most_used_words": [{"word": w, "count": c} for w, c in self.most_used_words],
            "job_terms_used": self.job_terms_used,
            "job_terms_missing": self.job_terms_missing,
        }


def normalise(word: str) -> str:
    """A word as compared: lower case, without surrounding punctuation."""
    return word.lower().replace("\u2019", "'").strip(' \t\n.,;:!?"()[]{}…-')


def speaking_time(words: Sequence[TurnWord]) -> float:
    """An answer's span: first word's start to last word's end (0 without words)."""
    if not words:
        return 0.0
    return max(0.0, words[-1].end_s - words[0].start_s)


def words_per_minute(word_count: int, seconds: float) -> float | None:
    if seconds <= 0:
        return None
    return round(word_count * 60.0 / seconds, 1)


def pace_band(wpm: float | None) -> str | None:
    if wpm is None:
        return None
    low, high = PACE_BAND_WPM
    return "slow" if wpm < low else "fast" if wpm > high else "comfortable"


def count_fillers(words: Sequence[str]) -> Counter[str]:
    """Fillers among an answer's ``words`` as recognised (with their punctuation, so that
    a "like" set off by commas can be told from "I like")."""
    found: Counter[str] = Counter()
    plain = [normalise(w) for w in words]
    skip_next = False
    for index, word in enumerate(plain):
        if skip_next:
            skip_next = False
            continue
        before = plain[index - 1] if index else ""
        after = plain[index + 1] if index + 1 < len(plain) else ""
        if word in FILLERS:
            found[word] += 1
            continue
        pair = (word, after)
        if pair in _FILLER_PAIRS and before not in _FILLER_PAIRS[pair]:
            found[" ".join(pair)] += 1
            skip_next = True
            continue
        if word == "like" and after:
            set_off = words[index].rstrip().endswith(",") or (
                index > 0 and words[index - 1].rstrip().endswith(",")
            )
            if index == 0 or set_off or before in _LIKE_FILLER_AFTER:
                found["like"] += 1
    return found


def long_pauses(answer: int, words: Sequence[TurnWord]) -> list[Pause]:
    pauses: list[Pause] = []
    for previous, current in zip(words, words[1:], strict=False):
        gap = current.start_s - previous.end_s
        if gap > LONG_PAUSE_S:
            pauses.append(
                Pause(answer, normalise(previous.word), round(previous.end_s, 2), round(gap, 2))
            )
    return pauses


def most_used(words: Sequence[str], *, top: int = 10) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for raw in words:
        word = normalise(raw)
        if len(word) > 1 and word not in STOP_WORDS and word not in FILLERS:
            counts[word] += 1
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [(word, count) for word, count in ranked if count > 1][:top]


def term_pattern(term: str) -> re.Pattern[str]:
    """``term`` as a case-insensitive whole-word pattern (``C++`` and ``Node.js`` too)."""
    return re.compile(r"(?<![\w+#])" + re.escape(term.lower()) + r"(?![\w+#])")


def terms_used(text: str, terms: Iterable[str]) -> tuple[list[str], list[str]]:
    """Which ``terms`` occur in ``text`` (as whole words), and which do not."""
    lowered = " ".join(text.lower().split())
    used: list[str] = []
    missing: list[str] = []
    seen: set[str] = set()
    for term in terms:
        key = term.strip().lower()
        if not key or key in seen:
            continue
        seen.add(key)
        (used if term_pattern(key).search(lowered) else missing).append(term.strip())
    return used, missing


def time_to_first_word(answers: Sequence[AnswerTiming]) -> tuple[list[float | None], bool]:
    """Seconds from each question's end to its answer's first word, and whether any of
    them had to be estimated (see the module's docstring)."""
    result: list[float | None] = []
    estimated = False
    previous_end = 0.0
    for answer in answers:
        if answer.question_end_s is not None:
            question_end = answer.question_end_s
        else:
            estimated = True
            question_end = previous_end + (answer.reply_latency_s or 0.0) + answer.question_s()
        if answer.words:
            result.append(round(max(0.0, answer.words[0].start_s - question_end), 2))
            previous_end = answer.words[-1].end_s
        else:
            result.append(None)
    return result, estimated


def delivery(answers: Sequence[AnswerTiming], *, job_terms: Iterable[str] = ()) -> DeliveryMetrics:
    """Every delivery metric of a set of answers (one answer, or a whole interview)."""
    all_words = [w.word for a in answers for w in a.words]
    speaking_s = round(sum(speaking_time(a.words) for a in answers), 2)
    fillers: Counter[str] = Counter()
    for answer in answers:
        fillers += count_fillers([w.word for w in answer.words])
    filler_total = sum(fillers.values())
    wpm = words_per_minute(len(all_words), speaking_s)
    interviewer_s = sum(a.question_s() for a in answers)
    total_talk = speaking_s + interviewer_s
    first_words, estimated = time_to_first_word(answers)
    used, missing = terms_used(" ".join(all_words), job_terms)
    return DeliveryMetrics(
        words=len(all_words),
        speaking_s=speaking_s,
        words_per_minute=wpm,
        pace=pace_band(wpm),
        fillers=dict(sorted(fillers.items())),
        filler_count=filler_total,
        fillers_per_minute=(round(filler_total * 60.0 / speaking_s, 1) if speaking_s > 0 else None),
        long_pauses=[p for i, a in enumerate(answers) for p in long_pauses(i, a.words)],
        time_to_first_word_s=first_words,
        time_to_first_word_estimated=estimated,
        talk_ratio=round(speaking_s / total_talk, 3) if total_talk > 0 else None,
        most_used_words=most_used(all_words),
        job_terms_used=used,
        job_terms_missing=missing,
    )
