"""The turn benchmark's pure parts: its answers, the replay of a session's wait, the scores."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

import pytest

from bench.turns import CHOSEN, cut_in_pause, evaluate, parse_options
from bench.turns_answers import PAUSES_S, make_answers, speak
from bench.turns_record import Recording
from bench.turns_replay import HeardEvent, fixed, legacy, policy, replay, score
from voices.types import WordTiming

STORY = "Tell me about a time you made a mistake and what you learned."


def test_the_answer_set_has_every_kind_of_pause_and_some_without() -> None:
    answers = make_answers(60)
    assert len(answers) == 60
    kinds = {kind for answer in answers for kind in answer.pause_kinds}
    assert kinds == {"sentence", "trailing", "mid_clause"}
    assert sum(1 for a in answers if not a.pause_kinds) >= 10
    pauses = {p.pause_after_s for a in answers for p in a.pieces if p.kind is not None}
    assert pauses <= set(PAUSES_S) and min(pauses) >= 0.5 and max(pauses) <= 3.0
    assert len({(a.voice, a.speed_wpm) for a in answers}) >= 6
    assert make_answers(60) == answers  # deterministic: the cache stays valid


def final(at_s: float, text: str, end_s: float) -> HeardEvent:
    return HeardEvent(at_s, "transcript", text, is_final=True, speech_final=True, end_s=end_s)


# "Our checkout page was slow." [1.5 s pause] "So I profiled it."
PAUSED = (
    HeardEvent(0.5, "speech_started"),
    final(2.7, "Our checkout page was slow.", 2.3),
    HeardEvent(3.9, "speech_started"),
    HeardEvent(4.5, "transcript", "So I", end_s=4.4),
    final(6.0, "So I profiled it.", 5.5),
)


def test_a_wait_shorter_than_the_pause_cuts_the_answer_off() -> None:
    outcome = replay(PAUSED, fixed(0.6), "", true_end_s=5.5)
    assert outcome.cut_off and outcome.decided_at_s == pytest.approx(2.9)
    assert outcome.added_s is None


def test_a_wait_longer_than_the_pause_adds_its_silence_after_the_end() -> None:
    outcome = replay(PAUSED, fixed(2.0), "", true_end_s=5.5)
    assert not outcome.cut_off
    # Counted from the end of the last word, as the session does.
    assert outcome.added_s == pytest.approx(2.0)


def test_the_wait_never_ends_before_the_final_arrives() -> None:
    outcome = replay(PAUSED[-1:], fixed(0.1), "", true_end_s=5.5)
    assert outcome.decided_at_s == pytest.approx(6.0)


def test_the_old_rule_waits_longer_after_a_trailing_word() -> None:
    assert legacy()("and so", "", ()) == 2.0
    assert legacy()("We did it.", "", ()) == 0.6


def test_scores_count_cut_offs_and_added_silence() -> None:
    outcomes = [
        replay(PAUSED, fixed(0.6), "", 5.5),
        replay(PAUSED, fixed(2.0), "", 5.5),
    ]
    scored = score("v", "f", outcomes, ["sentence", None])
    assert (scored.cut_offs, scored.cut_off_pct) == (1, 50.0)
    assert scored.cut_offs_by_pause == {"sentence": 1}
    assert scored.added_ms_p50 == 2000


def test_every_variant_replays_a_recording(tmp_path: Path, voice_tools: None) -> None:
    (spoken,) = speak(make_answers(1), tmp_path)
    assert spoken.true_end_s > spoken.piece_ends_s[0] > 0.4
    events = (HeardEvent(0.5, "speech_started"), final(spoken.true_end_s + 0.4, "Done.", 0.0))
    rows = evaluate([Recording(spoken, events)])
    assert rows and all(row.answers == 1 for row in rows)
    assert cut_in_pause(spoken, replay(events, fixed(0.5), "", spoken.true_end_s)) is None


def test_quick_is_short() -> None:
    options = parse_options(["--quick"])
    assert options.answers == 20 and options.e2e <= 6


def test_a_recorded_final_keeps_its_words_and_the_policy_judges_them() -> None:
    # "I was responsible for" heard as "… for it.", the "it." with no sound of its own:
    # the chosen policy waits as after a trailing word; a policy that counts every last
    # word takes the turn in the pause.
    text = (
        "I once deployed a change on a Friday evening. It broke the nightly export because "
        "a date format had changed, and our customers could not download their invoices "
        "until the morning. I was responsible for it."
    )  # long enough for the question: only its end decides
    words = [WordTiming(w, 0.3 * i, 0.3 * (i + 1), 0.95) for i, w in enumerate(text.split())]
    end = words[-2].end_s
    words[-1] = WordTiming("it.", end, end, 0.84)
    recorded = final(end + 0.5, text, end)
    recorded = HeardEvent.of({**recorded.as_dict(), "words": [asdict(w) for w in words]})
    assert recorded.words == tuple(words)
    events = (HeardEvent(0.5, "speech_started"), recorded)
    counts_every_word = replace(CHOSEN, sure_confidence=0.0, heard_word_s=0.0)
    resumed = end + 2.0  # the candidate goes on after a 2 s pause
    assert replay(events, policy(counts_every_word), STORY, true_end_s=resumed).cut_off
    assert not replay(events, policy(CHOSEN), STORY, true_end_s=resumed).cut_off
