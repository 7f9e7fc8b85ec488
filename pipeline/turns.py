"""Turn-taking rules: when the candidate has finished, and what is only a backchannel.

The interviewer must never cut in while the candidate is thinking, so the wait after the
end of speech is longer when the words so far look unfinished.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[\w'-]+")
# Words that, as the last word heard, suggest the sentence goes on.
UNFINISHED_ENDINGS = frozenset(
    {
        "and", "but", "or", "so", "because", "um", "uh", "er", "erm", "like", "then", "which",
        "that", "the", "a", "an", "to", "of", "with", "for", "my", "i", "we", "is", "was",
        "were", "if", "when", "while", "also", "basically", "actually", "meaning", "as",
    }
)  # fmt: skip
BACKCHANNELS = frozenset(
    {
        "mm", "mhm", "mm-hm", "mm-hmm", "uh-huh", "hmm", "okay", "ok", "yeah", "yes", "yep",
        "right", "sure", "alright", "got", "it", "i", "see", "cool", "great", "thanks",
    }
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class TurnPolicy:
    patience_s: float = 0.6  # wait after a finished-sounding end of speech
    unfinished_patience_s: float = 2.0  # wait when the last words trail off
    barge_in_min_words: int = 2  # words (not backchannels) that interrupt the interviewer
    end_turn_final_wait_s: float = 1.0  # after end_turn, how long to wait for the last words

    def patience_for(self, text: str) -> float:
        return self.unfinished_patience_s if looks_unfinished(text) else self.patience_s


def words(text: str) -> list[str]:
    return [word.lower() for word in _WORD.findall(text)]


def looks_unfinished(text: str) -> bool:
    stripped = text.rstrip()
    if not stripped:
        return True
    found = words(stripped)
    if found and found[-1] in UNFINISHED_ENDINGS:
        return True
    return stripped[-1] not in ".?!…"


def is_backchannel(text: str) -> bool:
    found = words(text)
    return 0 < len(found) <= 3 and all(word in BACKCHANNELS for word in found)


def interrupts(text: str, policy: TurnPolicy) -> bool:
    """Whether speech heard while the interviewer talks is a real interruption."""
    found = words(text)
    if len(found) < policy.barge_in_min_words or is_backchannel(text):
        return False
    return any(word not in BACKCHANNELS for word in found)
