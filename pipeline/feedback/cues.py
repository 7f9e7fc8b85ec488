"""The words that tell what an answer does: the cues the heuristic signals look for
(``pipeline.feedback.signals``) — a situation set, an action taken, a result with a
figure, a trade-off weighed, a design's components and flow, a judgement explained.

The words themselves are data, in ``cues.toml`` beside this module; here is how each is
matched. Most cues are one case-insensitive pattern of whole words and phrases.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Final

CUES_FILE: Final = Path(__file__).with_name("cues.toml")
_WORDS: Final = tomllib.loads(CUES_FILE.read_text(encoding="utf-8"))


def _any_of(entries: list[str]) -> str:
    return "(?:" + "|".join(entries) + ")"


def _cues(name: str) -> re.Pattern[str]:
    """Any of the phrases of the cue ``name``, as whole words."""
    return re.compile(r"\b" + _any_of(_WORDS["phrases"][name]) + r"\b", re.IGNORECASE)


SITUATION: Final = _cues("situation")
TASK: Final = _cues("task")
CONSTRAINT: Final = _cues("constraint")
ACTION: Final = re.compile(
    r"\bi (?:\w+ly )?" + _any_of(_WORDS["action"]["verbs"]) + r"\b", re.IGNORECASE
)
RESULT: Final = _cues("result")
LEARNING: Final = _cues("learning")
EXPLANATION: Final = _cues("explanation")
CONTRAST: Final = _cues("contrast")
TRADE_OFF: Final = _cues("trade_off")
HEDGE: Final = _cues("hedge")
SIGNPOST: Final = _cues("signpost")
REQUIREMENT: Final = _cues("requirement")
COMPONENT: Final = _cues("component")
FLOW: Final = _cues("flow")
SCALING: Final = _cues("scaling")
FIGURE_WITH_UNIT: Final = re.compile(
    r"\b\d+(?:[.,]\d+)?\s*" + _any_of(_WORDS["figure"]["units"]), re.IGNORECASE
)
FIGURE: Final = re.compile(r"\d")
JUDGEMENT: Final = _cues("judgement")
EXAMPLE: Final = _cues("example")
