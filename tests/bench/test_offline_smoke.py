"""The offline voice benchmark end to end, small: 1 interview × 1 answer against a real
``intrvuer serve`` with no keys; its JSON must be complete."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.turns import TurnPolicy

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("voice_tools")


def test_one_interview_one_answer(tmp_path: Path) -> None:
    out, png = tmp_path / "offline.json", tmp_path / "offline.png"
    command = [
        sys.executable, "-m", "bench.offline", "--interviews", "1", "--answers", "1",
        "--fresh", "1", "--out", str(out), "--plot", str(png),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=280)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    # The settings are printed: by default the server's own.
    patience_s = TurnPolicy().patience_s
    assert f"INTERVIEW_PATIENCE_S={patience_s}" in run.stdout

    result = json.loads(out.read_text())
    assert result["interviews_completed"] == 1 and result["errors"] == []
    assert result["settings"]["INTERVIEW_PATIENCE_S"] == patience_s
    assert result["speech_end_to_first_audio_ms"]["count"] == 1
    # The one answer is the first of its interview.
    assert result["first_reply_speech_end_to_first_audio_ms"]["count"] == 1
    # The patience is real time. It counts from the end of the last word as Whisper timed
    # it, which may fall some tens of ms before the last voiced frame.
    assert result["speech_end_to_first_audio_ms"]["p50"] >= patience_s * 1000 - 100
    assert result["decision_to_first_audio_ms"]["count"] == 1
    fresh = result["fresh_sentence"]
    assert fresh["first_audio_ms"]["count"] == 1 and fresh["real_time_factor"]["p50"] > 0
    assert result["loop_lag_ms"]["windows"] >= 1
    assert 100 < result["server_peak_rss_mb"] < 4096
    assert result["kokoro"]["sentences_synthesized"] >= 1
    assert {t["name"] for t in result["targets"]} == {
        "speech_end_to_first_audio_p50",
        "speech_end_to_first_audio_p95",
        "prepared_phrase_first_audio_p50",
        "loop_lag_p99",
        "server_peak_rss_mb",
    }
    if importlib.util.find_spec("matplotlib") is not None:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
