"""Settings: documented, typed, and strict about secrets in production."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from server.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", DOC.read_text()))
    missing = {name.upper() for name in Settings.model_fields} - documented
    assert not missing, f"document these in docs/configuration.md: {sorted(missing)}"


def test_production_refuses_a_missing_or_short_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JWT_SECRET", raising=False)
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(env="production", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(env="production", jwt_secret="short", _env_file=None)  # type: ignore[call-arg]
    ok = Settings(  # type: ignore[call-arg]
        env="production",
        jwt_secret="x" * 40,
        metrics_token="m" * 32,
        smtp_host="smtp.example.org",
        _env_file=None,
    )
    assert ok.signing_secret() == "x" * 40


def test_production_refuses_open_metrics_unless_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("METRICS_TOKEN", raising=False)
    monkeypatch.delenv("METRICS_PUBLIC", raising=False)
    with pytest.raises(ValidationError, match="METRICS_TOKEN"):
        Settings(env="production", jwt_secret="x" * 40, _env_file=None)  # type: ignore[call-arg]
    public = Settings(  # type: ignore[call-arg]
        env="production",
        jwt_secret="x" * 40,
        metrics_public=True,
        mail_disabled=True,
        _env_file=None,
    )
    assert public.metrics_token is None


def test_production_refuses_to_send_no_mail_unless_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SMTP_HOST", raising=False)
    monkeypatch.delenv("MAIL_DISABLED", raising=False)
    secure = {"env": "production", "jwt_secret": "x" * 40, "metrics_public": True}
    with pytest.raises(ValidationError, match="SMTP_HOST"):
        Settings(**secure, _env_file=None)  # type: ignore[arg-type]
    assert Settings(**secure, mail_disabled=True, _env_file=None).mail_disabled  # type: ignore[arg-type]
    assert Settings(**secure, smtp_host="mx.example", _env_file=None).smtp_host  # type: ignore[arg-type]


def test_development_secret_is_generated_once_and_private(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    first = settings.signing_secret()
    assert first == Settings(data_dir=tmp_path, _env_file=None).signing_secret()  # type: ignore[call-arg]
    assert (tmp_path / "jwt-secret").stat().st_mode & 0o077 == 0
    assert len(first) >= 32


def test_environment_variables_and_origin_lists(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://a.example, https://b.example/")
    monkeypatch.setenv("PORT", "9001")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.port == 9001
    assert settings.allowed_origins == ["https://a.example", "https://b.example"]
    assert settings.resolved_database_url.startswith("sqlite:///")


def test_provider_names_come_from_the_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    from server.registry import CHAT_MODELS, RECOGNIZERS, SYNTHESIZERS

    monkeypatch.setenv("LLM_PROVIDERS", "Groq, openai")
    settings = Settings(stt_provider="local", tts_provider="kokoro", _env_file=None)  # type: ignore[call-arg]
    assert settings.llm_providers == ["groq", "openai"]
    assert {settings.stt_provider, settings.tts_provider} <= {*RECOGNIZERS, *SYNTHESIZERS}
    assert set(settings.llm_providers) <= set(CHAT_MODELS)
    with pytest.raises(ValidationError, match="STT_PROVIDER must be one of auto, deepgram, local"):
        Settings(stt_provider="whisper", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="TTS_PROVIDER must be one of auto, deepgram, kokoro"):
        Settings(tts_provider="aura", _env_file=None)  # type: ignore[call-arg]
    monkeypatch.setenv("LLM_PROVIDERS", "openai,claude")
    with pytest.raises(ValidationError, match="LLM_PROVIDERS must be one of openai, groq"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_flux_end_of_turn_settings_keep_to_deepgrams_ranges(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defaults = Settings(_env_file=None)  # type: ignore[call-arg]
    assert defaults.deepgram_eager_eot_threshold == 0.5
    assert defaults.deepgram_eot_threshold is None and defaults.deepgram_eot_timeout_ms is None
    for name, value in [
        ("deepgram_eot_threshold", 0.45),
        ("deepgram_eot_threshold", 1.05),
        ("deepgram_eager_eot_threshold", 0.2),
        ("deepgram_eot_timeout_ms", 400),
        ("deepgram_eot_timeout_ms", 60_001),
    ]:
        with pytest.raises(ValidationError, match=name):
            Settings(_env_file=None, **{name: value})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"EAGER_EOT_THRESHOLD \(0.8\) must not be above"):
        Settings(deepgram_eager_eot_threshold=0.8, _env_file=None)  # type: ignore[call-arg]
    manual = Settings(deepgram_eot_threshold=1.0, deepgram_eager_eot_threshold=0.9, _env_file=None)  # type: ignore[call-arg]
    assert (manual.deepgram_eot_threshold, manual.deepgram_eager_eot_threshold) == (1.0, 0.9)

    monkeypatch.setenv("DEEPGRAM_EAGER_EOT_THRESHOLD", "off")
    monkeypatch.setenv("DEEPGRAM_EOT_TIMEOUT_MS", "3000")
    from_env = Settings(_env_file=None)  # type: ignore[call-arg]
    assert from_env.deepgram_eager_eot_threshold is None
    assert from_env.deepgram_eot_timeout_ms == 3000
