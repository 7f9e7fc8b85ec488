"""The provider registry: a row per provider, ``auto`` by the keys that are set, and no
rule that names a provider."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from server.registry import CHAT_MODELS, RECOGNIZERS, SYNTHESIZERS, Provider, build, choose
from server.settings import Settings


class Context:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def kokoro(self) -> object:
        raise AssertionError("not asked for")


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path, **values)  # type: ignore[arg-type,call-arg]


def test_auto_takes_the_first_row_whose_key_is_set_else_the_one_that_needs_none(
    tmp_path: Path,
) -> None:
    plain = settings(tmp_path)
    keyed = settings(tmp_path, deepgram_api_key="dg-key")
    tables: tuple[Mapping[str, Provider[Any]], ...] = (RECOGNIZERS, SYNTHESIZERS)
    for table in tables:
        local = next(row for row in table.values() if row.key is None)
        assert choose(table, "X", "auto", plain) == (local, "no DEEPGRAM_API_KEY")
        cloud, why = choose(table, "X", "auto", keyed)
        assert cloud.key == "deepgram_api_key" and why == "DEEPGRAM_API_KEY is set"
        assert choose(table, "X", local.name, keyed) == (local, f"X={local.name}")


def test_a_named_provider_without_its_key_is_refused_with_the_key_to_set(
    tmp_path: Path,
) -> None:
    with pytest.raises(LookupError, match="STT_PROVIDER=deepgram needs DEEPGRAM_API_KEY"):
        build(RECOGNIZERS, "STT_PROVIDER", "deepgram", Context(settings(tmp_path)))  # type: ignore[arg-type]


def test_what_shares_the_cpu_is_a_property_of_the_row() -> None:
    # A cloud provider runs elsewhere; a model on this machine shares its cores (a live
    # session's phrase preparation yields to local recognition).
    rows: list[Provider[Any]] = [*RECOGNIZERS.values(), *SYNTHESIZERS.values()]
    assert all(row.shares_cpu == (row.key is None) for row in rows)
    assert not any(row.shares_cpu for row in CHAT_MODELS.values())


async def test_chat_models_exist_only_with_their_key_and_in_the_order_asked(
    tmp_path: Path,
) -> None:
    from server.providers import ConfiguredProviders

    configured = settings(
        tmp_path,
        groq_api_key=SecretStr("g"),
        llm_providers="openai,groq",
    )
    assert CHAT_MODELS["openai"].build(configured) is None
    providers = ConfiguredProviders(configured)
    try:
        chain = [link.name for link in providers.interviewer().chain]
    finally:
        await providers.aclose()
    assert chain == [f"groq:{configured.groq_model}", "offline"]


def test_flux_settings_reach_the_deepgram_recognizer(tmp_path: Path) -> None:
    from voices.deepgram_stt import DeepgramRecognizer

    flux = settings(
        tmp_path,
        deepgram_api_key="dg-key",
        deepgram_flux=True,
        deepgram_eot_threshold=0.8,
        deepgram_eot_timeout_ms=3000,
    )
    recognizer = build(RECOGNIZERS, "STT_PROVIDER", "deepgram", Context(flux))  # type: ignore[arg-type]
    assert isinstance(recognizer, DeepgramRecognizer)
    assert recognizer.connect_args(16000) == {
        "model": "flux-general-en",
        "encoding": "linear16",
        "sample_rate": 16000,
        "eot_threshold": 0.8,
        "eager_eot_threshold": 0.5,
        "eot_timeout_ms": 3000,
    }
    no_eager = settings(
        tmp_path, deepgram_api_key="k", deepgram_flux=True, deepgram_eager_eot_threshold=None
    )
    recognizer = build(RECOGNIZERS, "STT_PROVIDER", "deepgram", Context(no_eager))  # type: ignore[arg-type]
    assert isinstance(recognizer, DeepgramRecognizer)
    assert "eager_eot_threshold" not in recognizer.connect_args(16000)
