"""The providers a server can use: one row per recognizer, synthesizer and chat model.

A provider is a row: its name (what ``STT_PROVIDER``, ``TTS_PROVIDER`` and
``LLM_PROVIDERS`` accept), its factory, the setting of the key it needs (none for a model
on this machine) and whether it shares the CPU with the other local models. ``auto`` takes
the first row whose key is set, else the first that needs no key. Adding a provider is an
adapter module and a row here; nothing else chooses by name.

Factories import their adapter when called, so an install without a provider's extra
still starts, and this module stays cheap to import (``server.settings`` reads its names).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Generic, Protocol, TypeVar

from pipeline.llm.sdk import VENDORS, SdkChat, Vendor
from server.diagnostics import kokoro_files, whisper_origin

if TYPE_CHECKING:
    from server.settings import Settings
    from voices.kokoro import KokoroSynthesizer
    from voices.types import SpeechRecognizer, SpeechSynthesizer

AUTO: Final = "auto"

# English Aura-2 voices offered for interviews; any other ``aura-…`` model name works too.
AURA_VOICES: Final = (
    "aura-2-thalia-en",
    "aura-2-andromeda-en",
    "aura-2-helena-en",
    "aura-2-apollo-en",
    "aura-2-arcas-en",
    "aura-2-orion-en",
)

T = TypeVar("T")


class ProviderContext(Protocol):
    """What a factory may use: the settings, and the models loaded once per process."""

    settings: Settings

    def kokoro(self) -> KokoroSynthesizer: ...


@dataclass(frozen=True, slots=True)
class Provider(Generic[T]):
    """One speech provider."""

    name: str
    build: Callable[[ProviderContext], T]
    key: str | None  # the setting of its API key; None: it runs here and needs none
    # Runs on this machine's cores, beside the other local models: a live session's
    # background work (preparing phrases) yields to it while the candidate speaks.
    shares_cpu: bool
    modules: tuple[str, ...] = ()  # what ``warm`` imports before the first interview
    warm_up: Callable[[], None] | None = None  # more of the same, which the SDK defers
    explain: Callable[[Settings], str] | None = None  # for doctor, after the reason
    report: Callable[[Settings], dict[str, str]] = field(default=lambda settings: {})
    voices: Callable[[Settings], list[str]] = field(default=lambda settings: [])

    def key_set(self, settings: Settings) -> bool:
        return self.key is not None and getattr(settings, self.key) is not None


@dataclass(frozen=True, slots=True)
class ChatProvider:
    """One chat-model provider; its settings are ``<name>_api_key``, ``_base_url``,
    ``_model``."""

    name: str
    vendor: Vendor
    shares_cpu: bool = False

    @property
    def key(self) -> str:
        return f"{self.name}_api_key"

    def build(self, settings: Settings, *, pooled: bool = False) -> SdkChat | None:
        """The chat model, or None when its key is not set. ``pooled``: for live replies
        (see ``SdkChat.connect``)."""
        key = getattr(settings, self.key)
        if key is None:
            return None
        return SdkChat.connect(
            self.vendor,
            api_key=key.get_secret_value(),
            base_url=getattr(settings, f"{self.name}_base_url"),
            model=getattr(settings, f"{self.name}_model"),
            timeout_s=settings.llm_timeout_s,
            pooled=pooled,
        )


def choose(
    table: Mapping[str, Provider[T]], setting: str, configured: str, settings: Settings
) -> tuple[Provider[T], str]:
    """The row ``configured`` names (``setting`` is its variable, for the reason), or for
    ``auto`` the first with its key set, else the first that needs none; and why."""
    if configured != AUTO:
        return table[configured], f"{setting}={configured}"
    missing: list[str] = []
    for row in table.values():
        if row.key is None:
            return row, ("no " + " or ".join(missing)) if missing else "needs no key"
        if row.key_set(settings):
            return row, f"{row.key.upper()} is set"
        missing.append(row.key.upper())
    raise LookupError(f"{setting}=auto: no provider without a key, and no key set")


def build(
    table: Mapping[str, Provider[T]], setting: str, configured: str, context: ProviderContext
) -> T:
    """The chosen provider of ``table``; ``LookupError`` when its key is not set."""
    row, _ = choose(table, setting, configured, context.settings)
    if row.key is not None and not row.key_set(context.settings):
        raise LookupError(f"{setting}={row.name} needs {row.key.upper()}")
    return row.build(context)


def names(table: Mapping[str, object], *, auto: bool = True) -> list[str]:
    """What a setting choosing from ``table`` accepts."""
    return [AUTO, *table] if auto else list(table)


# Factories ---------------------------------------------------------------------------------


def _deepgram_recognizer(context: ProviderContext) -> SpeechRecognizer:
    from voices.deepgram_stt import DeepgramRecognizer, ListenOptions

    s = context.settings
    return DeepgramRecognizer(
        ListenOptions(
            _deepgram_key(s),
            base_url=s.deepgram_base_url,
            model=s.deepgram_stt_model,
            endpointing_ms=s.deepgram_endpointing_ms,
            utterance_end_ms=s.deepgram_utterance_end_ms,
            flux=s.deepgram_flux,
            eot_threshold=s.deepgram_eot_threshold,
            eager_eot_threshold=s.deepgram_eager_eot_threshold,
            eot_timeout_ms=s.deepgram_eot_timeout_ms,
        )
    )


def _local_recognizer(context: ProviderContext) -> SpeechRecognizer:
    from voices.local_stt import LocalOptions, LocalRecognizer
    from voices.vad import EndpointerConfig
    from voices.whisper import WhisperOptions, resolve_whisper_model, shared_engine

    s = context.settings
    model, _ = resolve_whisper_model(s.whisper_model, s.data_dir)  # LookupError: none
    try:
        endpointing = EndpointerConfig(
            threshold=s.vad_threshold,
            silence_threshold=max(0.01, s.vad_threshold - 0.15),
            pause_ms=s.vad_pause_ms,
            end_ms=s.vad_end_silence_ms,
            long_silence_ms=s.vad_utterance_end_ms,
        )
    except ValueError as invalid:
        raise LookupError(f"local speech recognition is misconfigured: {invalid}") from None
    # One model per process, shared by every session.
    return LocalRecognizer(
        shared_engine(
            model, WhisperOptions(cpu_threads=s.whisper_threads, window_s=s.whisper_window_s)
        ),
        LocalOptions(endpointing=endpointing),
    )


def _aura(context: ProviderContext) -> SpeechSynthesizer:
    from voices.deepgram_tts import AuraOptions, AuraSynthesizer

    s = context.settings
    return AuraSynthesizer(
        AuraOptions(_deepgram_key(s), base_url=s.deepgram_base_url, model=s.deepgram_tts_model)
    )


def _kokoro(context: ProviderContext) -> SpeechSynthesizer:
    return context.kokoro()  # one model per process, loaded on first use


def _deepgram_key(s: Settings) -> str:
    if s.deepgram_api_key is None:  # ``build`` checks first; this tells mypy
        raise LookupError("DEEPGRAM_API_KEY is not set")
    return s.deepgram_api_key.get_secret_value()


def _deepgram_clients() -> None:
    from voices.deepgram_common import import_clients

    import_clients()


def _kokoro_voices(s: Settings) -> list[str]:
    from voices.models import resolve_kokoro, voice_names

    try:
        found = resolve_kokoro(
            data_dir=s.data_dir, model=s.kokoro_model, voices=s.kokoro_voices, prepare=False
        )
        voices = voice_names(found.voices)
    except (LookupError, OSError, ValueError):
        voices = []
    # The configured voice first: it is what "default" sounds like.
    return sorted(voices, key=lambda name: (name != s.kokoro_voice, name))


# The tables --------------------------------------------------------------------------------


def _by_name(*rows: Provider[T]) -> Mapping[str, Provider[T]]:
    """A table keyed by each row's own name, in the order given (``auto`` tries it)."""
    return MappingProxyType({row.name: row for row in rows})


RECOGNIZERS: Final[Mapping[str, Provider[SpeechRecognizer]]] = _by_name(
    Provider(
        "deepgram",
        _deepgram_recognizer,
        key="deepgram_api_key",
        shares_cpu=False,
        modules=("voices.deepgram_stt",),
        warm_up=_deepgram_clients,
    ),
    Provider(
        "local",
        _local_recognizer,
        key=None,
        shares_cpu=True,
        modules=("voices.local_stt", "voices.whisper"),
        explain=whisper_origin,
    ),
)

SYNTHESIZERS: Final[Mapping[str, Provider[SpeechSynthesizer]]] = _by_name(
    Provider(
        "deepgram",
        _aura,
        key="deepgram_api_key",
        shares_cpu=False,
        modules=("voices.deepgram_tts",),
        warm_up=_deepgram_clients,
        voices=lambda settings: list(AURA_VOICES),
    ),
    Provider(
        "kokoro",
        _kokoro,
        key=None,
        shares_cpu=True,
        modules=("voices.kokoro",),
        report=lambda settings: {"kokoro model": kokoro_files(settings)},
        voices=_kokoro_voices,
    ),
)

CHAT_MODELS: Final[Mapping[str, ChatProvider]] = MappingProxyType(
    {name: ChatProvider(name, vendor) for name, vendor in VENDORS.items()}
)


def warm(*rows: Provider[Any]) -> None:
    """Import now what ``rows`` will need (no connection opened, no model loaded)."""
    for row in rows:
        for module in row.modules:
            try:
                importlib.import_module(module)
            except ImportError:  # the extra is missing: said at first use
                continue
    for warm_up in dict.fromkeys(row.warm_up for row in rows if row.warm_up is not None):
        try:
            warm_up()
        except ImportError:
            continue
