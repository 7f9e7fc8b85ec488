"""Replaying recorded recognizer events through a turn policy, and scoring the result.

A recording is what one recognizer said about one spoken answer, in order, each event
stamped with when it arrived (seconds since the answer's first audio frame was sent, in
real time, so audio time and arrival time share one axis). ``replay`` walks those events
as ``pipeline.session`` does — a transcript with words or the start of speech cancels the
wait, a final with ``speech_final`` or an ``UtteranceEnd`` starts it, counted from the end
of the last word — and says when the turn would have been taken. That is measured against
the answer's known pauses and true end: before the true end is a false cut-off, after it
the added silence.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

from pipeline.turns import TurnPolicy, words
from voices.types import WordTiming

EventKind = Literal["transcript", "speech_started", "utterance_end"]
# Patience for the words heard so far (their text, and their timings where recorded),
# given the question: what a variant decides.
Patience = Callable[[str, str, Sequence[WordTiming]], float]


@dataclass(frozen=True)
class HeardEvent:
    """One recognizer event as recorded."""

    at_s: float  # arrival, seconds after the answer's first frame was sent
    kind: EventKind
    text: str = ""
    is_final: bool = False
    speech_final: bool = False
    end_s: float = 0.0  # audio time of the last word (a transcript) or of the speech end
    words: tuple[WordTiming, ...] = ()  # a final transcript's words, as the recognizer timed them

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def of(cls, raw: dict[str, Any]) -> HeardEvent:
        timed = tuple(WordTiming(**word) for word in raw.get("words", ()))
        return cls(**{**raw, "words": timed})


@dataclass(frozen=True)
class Outcome:
    decided_at_s: float | None  # when the turn was taken (None: never, within the recording)
    true_end_s: float

    @property
    def cut_off(self) -> bool:
        return self.decided_at_s is not None and self.decided_at_s < self.true_end_s

    @property
    def added_s(self) -> float | None:
        if self.decided_at_s is None or self.cut_off:
            return None
        return self.decided_at_s - self.true_end_s


def replay(
    events: Sequence[HeardEvent], patience: Patience, question: str, true_end_s: float
) -> Outcome:
    """When a session with this ``patience`` would take the turn, hearing ``events``."""
    finals: list[str] = []
    timings: list[WordTiming] = []
    last_word_end: float | None = None
    interim = ""
    speech_end: float | None = None
    deadline: float | None = None

    def end_of_speech(audio_end_s: float, now: float, *, sound_only: bool = False) -> None:
        nonlocal speech_end, deadline
        if not finals:
            return
        last = last_word_end if last_word_end is not None else audio_end_s
        audio_end_s = max(last, audio_end_s) if sound_only else last
        if deadline is not None and speech_end == audio_end_s:
            return  # UtteranceEnd after speech_final: the same silence
        speech_end = audio_end_s
        deadline = max(now, audio_end_s + patience(" ".join(finals), question, timings))

    for event in events:  # in the order delivered
        if deadline is not None and deadline <= event.at_s:
            if finals and not interim:
                return Outcome(deadline, true_end_s)
            deadline = None
        now = event.at_s
        if event.kind == "speech_started":
            deadline = None
        elif event.kind == "utterance_end":
            end_of_speech(event.end_s, now)
        else:
            if event.text.strip():
                deadline = None
            if event.is_final:
                if event.text.strip():
                    finals.append(event.text.strip())
                    timings.extend(event.words)
                    last_word_end = event.end_s
                interim = ""
                if event.speech_final:
                    end_of_speech(event.end_s, now, sound_only=not event.text.strip())
            elif event.text.strip():
                interim = event.text.strip()
    if deadline is not None and finals and not interim:
        return Outcome(deadline, true_end_s)
    return Outcome(None, true_end_s)


# The policy before this benchmark: 0.6 s, or 2.0 s when the last word trails off or
# the text has no final punctuation.
_LEGACY_UNFINISHED = frozenset(
    {
        "and", "but", "or", "so", "because", "um", "uh", "er", "erm", "like", "then", "which",
        "that", "the", "a", "an", "to", "of", "with", "for", "my", "i", "we", "is", "was",
        "were", "if", "when", "while", "also", "basically", "actually", "meaning", "as",
    }
)  # fmt: skip


def legacy(patience_s: float = 0.6, unfinished_s: float = 2.0) -> Patience:
    def decide(text: str, question: str, timings: Sequence[WordTiming]) -> float:
        stripped = text.rstrip()
        found = words(stripped)
        unfinished = (
            not stripped or (bool(found) and found[-1] in _LEGACY_UNFINISHED)
        ) or stripped[-1] not in ".?!…"
        return unfinished_s if unfinished else patience_s

    return decide


def fixed(seconds: float) -> Patience:
    """Silence only: the same wait whatever was said."""
    return lambda text, question, timings: seconds


def policy(turn_policy: TurnPolicy) -> Patience:
    def decide(text: str, question: str, timings: Sequence[WordTiming]) -> float:
        return turn_policy.patience_for(text, question=question, timings=timings)

    return decide


@dataclass(frozen=True)
class Scored:
    """One variant over every answer of one recognizer."""

    variant: str
    family: str
    answers: int
    cut_offs: int
    cut_off_pct: float
    cut_offs_by_pause: dict[str, int]
    undecided: int
    added_ms_p50: float | None
    added_ms_p95: float | None
    added_ms_mean: float | None


def percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def score(
    variant: str,
    family: str,
    outcomes: Sequence[Outcome],
    cut_pause_kinds: Sequence[str | None],
) -> Scored:
    """``cut_pause_kinds``: for each outcome, the kind of pause it was cut in (if any)."""
    cut = [o for o in outcomes if o.cut_off]
    added = [o.added_s * 1000 for o in outcomes if o.added_s is not None]
    by_pause: dict[str, int] = {}
    for outcome, kind in zip(outcomes, cut_pause_kinds, strict=True):
        if outcome.cut_off:
            by_pause[kind or "speech"] = by_pause.get(kind or "speech", 0) + 1
    p50, p95 = percentile(added, 50), percentile(added, 95)
    return Scored(
        variant=variant,
        family=family,
        answers=len(outcomes),
        cut_offs=len(cut),
        cut_off_pct=round(100 * len(cut) / max(len(outcomes), 1), 1),
        cut_offs_by_pause=by_pause,
        undecided=sum(1 for o in outcomes if o.decided_at_s is None),
        added_ms_p50=round(p50) if p50 is not None else None,
        added_ms_p95=round(p95) if p95 is not None else None,
        added_ms_mean=round(statistics.fmean(added)) if added else None,
    )
