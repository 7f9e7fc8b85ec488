"""Turn-taking rules: when the candidate has finished, and what is only a backchannel.

The interviewer must never cut in while the candidate is thinking, so the wait after the
end of speech depends on what was said: a complete answer of the length the question
deserves waits least; words that trail off, a clause that is not done, or an answer far
shorter than the question deserves wait longer. Final punctuation alone says little:
Whisper writes a fragment as a finished sentence ("dropped from 400."), so completeness
is judged on the words, and only on those the recognizer heard with confidence.
``bench/turns.py`` measures these rules (false cut-offs against added silence) and chose
their values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from voices.types import WordTiming

_WORD = re.compile(r"[\w'-]+")
_SENTENCE_END = re.compile(r"[.?!…]+")
# Words that, as the last word heard, suggest the sentence goes on: conjunctions,
# fillers, prepositions and determiners, pronouns waiting for their verb. Words that can
# end a sentence ("we did.", "I told you.", "logged in.") are not among them.
UNFINISHED_ENDINGS = frozenset(
    {
        "and", "but", "or", "so", "because", "um", "uh", "er", "erm", "hmm", "like", "then",
        "which", "who", "where", "whether", "although", "though", "since", "until",
        "unless", "than", "the", "a", "an", "our", "their", "its", "his", "my", "your",
        "every", "to", "of", "with", "for", "from", "into", "onto", "between", "through",
        "without", "towards", "during", "i", "we", "if", "when", "while", "also",
        "basically", "actually", "meaning", "as", "very", "been", "being",
    }
)  # fmt: skip
# Openings of a range or a list that, once started, want their other half in the same
# sentence ("from 400" wants "to …", "first …" wants "second …").
_WANTS_PARTNER = (
    ("from", ("to", "down", "up", "into")),
    ("between", ("and",)),
    ("either", ("or",)),
    ("neither", ("nor",)),
)
# "From" opens a range only before a number ("from 400", "from four hundred").
_NUMBER_WORDS = frozenset(
    {
        "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "fifteen", "twenty", "thirty", "forty", "fifty", "sixty",
        "seventy", "eighty", "ninety", "hundred", "thousand", "million", "about", "around",
    }
)  # fmt: skip
# A list opened by the first word of a sentence wants its next item in the answer.
_LIST_OPENINGS = {"first": "second", "firstly": "secondly", "one": "two"}
# Questions that ask for a yes or no or one fact deserve a short answer; the rest (tell
# me, describe, how, why, what ...) a story.
_CLOSED_OPENINGS = frozenset(
    {"do", "did", "does", "have", "has", "are", "is", "was", "were", "would", "will"}
)
_OPEN_WORDS = frozenset(
    {"tell", "describe", "walk", "explain", "how", "why", "example", "time", "talk", "share"}
)
BACKCHANNELS = frozenset(
    {
        "mm", "mhm", "mm-hm", "mm-hmm", "uh-huh", "hmm", "okay", "ok", "yeah", "yes", "yep",
        "right", "sure", "alright", "got", "it", "i", "see", "cool", "great", "thanks",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    # Values chosen by bench/turns.py (see bench/README.md): the shortest wait after a
    # complete answer that cut no more candidates off, the longest thinking pause after a
    # trailing word it measured (3 s) plus the time to hear speech resume.
    patience_s: float = 0.35  # wait after a complete answer of the length the question deserves
    unfinished_patience_s: float = 3.2  # wait when the last words trail off
    # An answer shorter than the question deserves waits longer, in proportion to how much
    # is missing: this share of the way from ``patience_s`` to ``unfinished_patience_s``
    # per missing whole (capped at all of the way).
    short_share: float = 2.0
    story_words: int = 30  # what an open question ("tell me about a time …") deserves
    closed_words: int = 4  # what a yes/no question ("have you used …?") deserves
    barge_in_min_words: int = 2  # words (not backchannels) that interrupt the interviewer
    end_turn_final_wait_s: float = 1.0  # after end_turn, how long to wait for the last words
    # A last word the recognizer is unsure of, or that has no sound of its own, does not
    # finish the sentence: Whisper completes a fragment that stops mid-clause ("I was
    # responsible for" becomes "… for it.", the "it." placed after the speech ended, so
    # 0 ms long once kept inside it; "could write the" becomes "… write them.", confidence
    # 0.44). Completeness is then judged on the words before it.
    sure_confidence: float = 0.5
    heard_word_s: float = 0.01  # a word shorter than this had no sound of its own

    def patience_for(
        self, text: str, *, question: str = "", timings: Sequence[WordTiming] = ()
    ) -> float:
        """How long to wait, from the end of the last word, before the answer ``text``
        (to ``question``) is taken as finished. ``timings``: its words as the recognizer
        timed them, when known."""
        if looks_unfinished(self.clearly_heard(text, timings)):
            return self.unfinished_patience_s
        if open_list(text):
            return self.patience_s + (self.unfinished_patience_s - self.patience_s) * 0.5
        deserved = self.deserved_words(question)
        missing = max(0.0, 1.0 - len(words(text)) / deserved) if deserved else 0.0
        extra = (self.unfinished_patience_s - self.patience_s) * min(
            1.0, self.short_share * missing
        )
        return self.patience_s + max(0.0, extra)

    def clearly_heard(self, text: str, timings: Sequence[WordTiming]) -> str:
        """``text`` up to its last word heard with confidence and sound of its own (all
        of it when ``timings`` are unknown or its last word is clear)."""
        kept = list(timings)
        if not kept or words(kept[-1].word) != words(text)[-1:]:
            return text  # the timings are not of the words that end the text
        while kept and not self._clear(kept[-1]):
            kept.pop()
        if len(kept) == len(timings):
            return text
        return " ".join(word.word for word in kept)

    def _clear(self, word: WordTiming) -> bool:
        return (
            word.confidence >= self.sure_confidence
            and word.end_s - word.start_s >= self.heard_word_s
        )

    def deserved_words(self, question: str) -> int:
        """How many words an answer to ``question`` should have before its end is trusted."""
        asked = words(question)
        if not asked:
            return self.story_words
        # The question is the interviewer's last sentence: "Thanks. Have you used Go?"
        last = words(_last_sentence(question.rstrip().rstrip("?")))
        if last and last[0] in _CLOSED_OPENINGS and not _OPEN_WORDS.intersection(last):
            return self.closed_words
        return self.story_words


def words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def _last_sentence(text: str) -> str:
    parts = [part for part in _SENTENCE_END.split(text) if part.strip()]
    return parts[-1] if parts else ""


def looks_unfinished(text: str) -> bool:
    """Whether the words so far look like a sentence still being said."""
    stripped = text.rstrip()
    if not stripped:
        return True
    if stripped[-1] not in ".?!…":
        return True
    if stripped.endswith(("...", "…")):
        return True  # Whisper's mark for words trailing off; never seen at a true end
    last = words(_last_sentence(stripped))
    if not last:
        return False
    if last[-1] in UNFINISHED_ENDINGS:
        return True
    return _wants_partner(last)


def _wants_partner(sentence: list[str]) -> bool:
    """A range opened in the last sentence and not closed in it."""
    for opening, partners in _WANTS_PARTNER:
        if opening not in sentence:
            continue
        at = len(sentence) - 1 - sentence[::-1].index(opening)
        after = sentence[at + 1 :]
        if opening == "from" and not (after and _is_number(after[0])):
            continue
        if not any(word in partners for word in after):
            return True
    return False


def _is_number(word: str) -> bool:
    return word[:1].isdigit() or word in _NUMBER_WORDS


def open_list(text: str) -> bool:
    """Whether the answer began a list ("First, …") and never reached its next item."""
    found = words(text)
    for sentence in _SENTENCE_END.split(text):
        opening = words(sentence)[:1]
        if opening and opening[0] in _LIST_OPENINGS:
            return _LIST_OPENINGS[opening[0]] not in found and "then" not in found
    return False


def is_backchannel(text: str) -> bool:
    found = words(text)
    return 0 < len(found) <= 3 and all(word in BACKCHANNELS for word in found)


def interrupts(text: str, policy: TurnPolicy) -> bool:
    """Whether speech heard while the interviewer talks is a real interruption."""
    found = words(text)
    if len(found) < policy.barge_in_min_words or is_backchannel(text):
        return False
    return any(word not in BACKCHANNELS for word in found)
