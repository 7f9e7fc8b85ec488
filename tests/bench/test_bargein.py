"""Barge-in end to end: a candidate speaks over a real ``intrvuer serve`` through the
fake Deepgram and the real SDK (``python -m bench.latency --barge-in``, small)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("voice_tools")


def test_backchannels_pause_and_play_on_and_interruptions_end_the_turn(tmp_path: Path) -> None:
    out = tmp_path / "bargein.json"
    command = [
        sys.executable, "-m", "bench.latency", "--barge-in", "--trials", "2",
        "--recognizers", "deepgram", "--out", str(out),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=240)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    result = json.loads(out.read_text())["recognizers"]["deepgram"]
    trials = result["per_trial"]
    assert [t["kind"] for t in trials] == ["backchannel", "interruption"]
    for trial in trials:
        # The audio stopped for the candidate on the pause, before any word was known,
        # and no interviewer audio came after it.
        assert trial["paused"] and trial["stop_ms"] is not None
        assert trial["audio_after_stop"] <= 1
    for trial in trials[::2]:  # "Okay.", "Mm-hmm.": played on from the pause
        assert trial["resumed"] and not trial["interrupted"]
    for trial in trials[1::2]:  # "Sorry, could you say that again?"
        assert trial["interrupted"] and not trial["resumed"]
        assert trial["stop_ms"] < trial["words_stop_ms"]
