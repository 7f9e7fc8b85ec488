"""The speech and interviewer providers of a server, as its settings choose them from the
registry (``server.registry``).

The interviewer is a chain: the configured LLM providers in ``LLM_PROVIDERS`` order, then
the offline interviewer, which never fails, so a live interview always has someone to ask
the questions.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pipeline.documents.parser import DocumentParser
from pipeline.interviewer.fallback import FallbackInterviewer
from pipeline.interviewer.offline import FIXED_PHRASES, GENERIC_PHRASES, OfflineInterviewer
from pipeline.interviewer.phrases import offline_phrases
from pipeline.interviewer.types import Interviewer
from server import registry
from server.diagnostics import LoopLagProbe
from server.registry import RECOGNIZERS, SYNTHESIZERS, Provider
from server.settings import Settings
from storage.types import Interview
from voices.types import SpeechRecognizer, SpeechSynthesizer

if TYPE_CHECKING:
    from pipeline.llm.sdk import SdkChat
    from pipeline.llm.types import JsonChat
    from voices.kokoro import KokoroSynthesizer

log = logging.getLogger("intrvuer.providers")


class ProviderSet(Protocol):
    def for_interview(
        self, interview: Interview
    ) -> tuple[SpeechRecognizer, SpeechSynthesizer, Interviewer]:
        """Providers for one live connection; raises ``LookupError`` with a reason when
        speech is not available."""
        ...

    def describe(self) -> dict[str, str]:
        """Which provider serves each role, and why (for ``intrvuer doctor``)."""
        ...

    def voices(self) -> tuple[str, list[str]]:
        """The speech synthesizer's name and the voices an interview may ask for."""
        ...

    def prepare_phrases(
        self, interview: Interview, first_name: str | None = None, *, only_if_loaded: bool = False
    ) -> int:
        """Synthesize ahead of time what ``interview`` will say, where the synthesizer
        can (a local model); returns the sentences queued. ``only_if_loaded``: not if that
        means loading a model first."""
        ...

    def forget_interview(self, interview_id: str) -> None:
        """Drop whatever is kept in memory for this interview (it is being deleted)."""
        ...

    async def aclose(self) -> None:
        """Release what the providers hold (connection pools)."""
        ...


@dataclass
class ConfiguredProviders:
    settings: Settings
    # LLM clients hold connection pools: made once, shared by every session.
    _llms: list[Interviewer] | None = None
    # The Kokoro model: loaded once, on first use, shared by every session.
    _kokoro: KokoroSynthesizer | None = None
    _lag_probe: LoopLagProbe | None = None

    def __post_init__(self) -> None:
        # Every process starts here: a phrase cache of an older release may hold personal
        # audio (it kept every sentence on disk), so it goes before anything is served.
        from voices.phrase_cache import remove_outdated

        remove_outdated(self.settings.data_dir / "cache")

    def recognizer_row(self) -> tuple[Provider[SpeechRecognizer], str]:
        return registry.choose(
            RECOGNIZERS, "STT_PROVIDER", self.settings.stt_provider, self.settings
        )

    def synthesizer_row(self) -> tuple[Provider[SpeechSynthesizer], str]:
        return registry.choose(
            SYNTHESIZERS, "TTS_PROVIDER", self.settings.tts_provider, self.settings
        )

    def recognizer_choice(self) -> tuple[str, str]:
        """The recognizer's name and why it was chosen (with where its model comes from)."""
        row, why = self.recognizer_row()
        return row.name, f"{why}; {row.explain(self.settings)}" if row.explain else why

    def synthesizer_choice(self) -> tuple[str, str]:
        row, why = self.synthesizer_row()
        return row.name, f"{why}; {row.explain(self.settings)}" if row.explain else why

    def recognizer(self) -> SpeechRecognizer:
        return registry.build(RECOGNIZERS, "STT_PROVIDER", self.settings.stt_provider, self)

    def synthesizer(self) -> SpeechSynthesizer:
        return registry.build(SYNTHESIZERS, "TTS_PROVIDER", self.settings.tts_provider, self)

    def kokoro(self) -> KokoroSynthesizer:
        """The process-wide Kokoro synthesizer (the model loads in the background on first
        use). Raises ``LookupError`` when no model files can be found."""
        if self._kokoro is None:
            from voices.kokoro import KokoroSynthesizer
            from voices.kokoro_engine import KokoroOptions
            from voices.models import resolve_kokoro
            from voices.phrase_cache import DISK_FOLDER, PhraseCache

            s = self.settings
            found = resolve_kokoro(
                data_dir=s.data_dir, model=s.kokoro_model, voices=s.kokoro_voices, prepare=False
            )
            # Only what the offline interviewer says to everyone may go to disk; the rest
            # (names, tailored questions, LLM replies) stays in the session's memory.
            cache = PhraseCache(
                s.data_dir / "cache" / DISK_FOLDER,
                generic=GENERIC_PHRASES,
                max_bytes=s.phrase_cache_mb << 20,
            )
            defer: Callable[[], bool] = lambda: False  # noqa: E731
            if self.recognizer_row()[0].shares_cpu:
                # Local recognition shares the cores: a transcript goes before phrases.
                from voices.whisper import recognition_busy as defer
            self._kokoro = KokoroSynthesizer(
                KokoroOptions(
                    lambda: resolve_kokoro(
                        data_dir=s.data_dir, model=s.kokoro_model, voices=s.kokoro_voices
                    ),
                    model_id=found.model_id,
                    voice=s.kokoro_voice,
                    speed=s.kokoro_speed,
                    threads=s.kokoro_threads,
                    memory_arena=s.kokoro_memory_arena,
                    cache=cache,
                    defer_preparation=defer,
                )
            )
        return self._kokoro

    def warm(self) -> None:
        """Build and import now what the first live interview would: the LLM clients and
        the speech modules of the chosen providers (no connection opened, no model
        loaded), so that their import-time objects exist before the server freezes its
        heap (``server.app``) and the first candidate does not wait for the imports."""
        with contextlib.suppress(ImportError):
            self.interviewer()
        registry.warm(self.recognizer_row()[0], self.synthesizer_row()[0])

    def interviewer(self) -> FallbackInterviewer:
        """A fallback chain for one session (it remembers which link answered last)."""
        if self._llms is None:
            from pipeline.interviewer.llm import ChatInterviewer

            self._llms = [ChatInterviewer(chat) for chat in _chats(self.settings, pooled=True)]
        return FallbackInterviewer(
            [*self._llms, OfflineInterviewer()],
            first_token_timeout_s=self.settings.llm_first_token_timeout_s,
        )

    async def aclose(self) -> None:
        for llm in self._llms or []:
            close = getattr(llm, "aclose", None)
            if close is not None:
                await close()
        self._llms = None
        if self._kokoro is not None:
            await self._kokoro.aclose()
            self._kokoro = None
        if self._lag_probe is not None:
            await self._lag_probe.stop()
            self._lag_probe = None

    def for_interview(
        self, interview: Interview
    ) -> tuple[SpeechRecognizer, SpeechSynthesizer, Interviewer]:
        recognizer, synthesizer, interviewer = (
            self.recognizer(),
            self.synthesizer(),
            self.interviewer(),
        )
        if self.settings.loop_lag_probe_ms and self._lag_probe is None:
            self._lag_probe = LoopLagProbe(
                self.settings.loop_lag_probe_ms / 1000,
                stats=lambda: self._kokoro.stats() if self._kokoro is not None else {},
            )
        if self._kokoro is not None and synthesizer is self._kokoro:
            self.prepare_phrases(interview)
            # The session's private sentences are kept for it alone, while it is open.
            synthesizer = self._kokoro.for_owner(interview.id)
            if self.recognizer_row()[0].shares_cpu:
                # Local recognition shares the CPU with Kokoro: preparing phrases waits
                # while the candidate speaks.
                from voices.yielding import YieldingRecognizer

                recognizer = YieldingRecognizer(recognizer, self._kokoro.engine)
        return recognizer, synthesizer, interviewer

    def prepare_phrases(
        self, interview: Interview, first_name: str | None = None, *, only_if_loaded: bool = False
    ) -> int:
        """Start loading Kokoro and synthesize what the interview will say into the phrase
        cache, in the background and below live speech; returns the sentences queued.
        Called when a live session opens; called earlier (at interview creation, with the
        candidate's ``first_name``) it also prepares the greeting. What only this
        interview says is kept in this process's memory for its session, never on disk:
        it waits ``voices.phrase_cache.UNCLAIMED_S`` for the session to open."""
        if not self.synthesizer_row()[0].shares_cpu:
            return 0  # a cloud voice: nothing to prepare, each sentence is a request anyway
        if only_if_loaded and self._kokoro is None:
            return 0
        try:
            kokoro = self.kokoro()
        except LookupError:
            return 0
        kokoro.warm()
        if not self.settings.phrase_cache_prepare:
            return 0
        # Only the offline interviewer's words are known ahead of time.
        texts = list(FIXED_PHRASES)
        if self.interviewer().chain[0].name == "offline":
            greeting = first_name is not None
            texts = [*offline_phrases(interview, first_name, greeting=greeting), *texts]
        return kokoro.prepare(texts, voice=interview.voice, owner=interview.id)

    def forget_interview(self, interview_id: str) -> None:
        """Drop the speech kept in memory for this interview (it is being deleted)."""
        if self._kokoro is not None:
            self._kokoro.forget_owner(interview_id)

    def voices(self) -> tuple[str, list[str]]:
        row, _ = self.synthesizer_row()
        return row.name, row.voices(self.settings)

    def describe(self) -> dict[str, str]:
        stt, stt_why = self.recognizer_choice()
        tts, tts_why = self.synthesizer_choice()
        llms = [link.name for link in self.interviewer().chain]
        return {
            "speech recognition": f"{stt} ({stt_why})",
            "speech synthesis": f"{tts} ({tts_why})",
            **self.synthesizer_row()[0].report(self.settings),
            "interviewer": " → ".join(llms),
        }


def _chats(settings: Settings, *, pooled: bool = False) -> list[SdkChat]:
    """The chat models of ``LLM_PROVIDERS`` that have a key, in that order."""
    chats = (
        registry.CHAT_MODELS[name].build(settings, pooled=pooled) for name in settings.llm_providers
    )
    return [chat for chat in chats if chat is not None]


def _json_chat(settings: Settings) -> JsonChat | None:
    """A JSON-answering chat on the first provider of ``LLM_PROVIDERS`` with a key."""
    for name in settings.llm_providers:
        chat = registry.CHAT_MODELS[name].build(settings)
        if chat is not None:
            return chat
    return None


def document_parser(settings: Settings) -> DocumentParser:
    """The resume and job-description parser: the first provider of ``LLM_PROVIDERS``
    with a key (unless ``DOCUMENT_PARSER=heuristic``), else the offline parser alone."""
    if settings.document_parser == "heuristic":
        return DocumentParser()
    chat = _json_chat(settings)
    if chat is None:
        return DocumentParser()
    from pipeline.documents.llm import LlmDocumentParser

    return DocumentParser(LlmDocumentParser(chat))


def coaching_chat(settings: Settings) -> JsonChat | None:
    """The chat model for plans, feedback and quizzes: the first provider of
    ``LLM_PROVIDERS`` with a key, unless ``COACHING_LLM=offline``. Made once per process
    (``Services.coaching``): a new SDK client costs ~50-170 ms of CPU (TLS context, SDK
    set-up), too much to pay on the event loop for every interview that ends."""
    if settings.coaching_llm == "offline":
        return None
    return _json_chat(settings)
