"""The one registry that turns settings into speech and interviewer providers.

``auto`` picks a cloud provider when its key is set. The interviewer is a chain: the
configured LLM providers in ``LLM_PROVIDERS`` order, then the offline interviewer, which
never fails, so a live interview always has someone to ask the questions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from pipeline.documents.parser import DocumentParser
from pipeline.interviewer.fallback import FallbackInterviewer
from pipeline.interviewer.offline import OfflineInterviewer
from pipeline.interviewer.types import Interviewer
from server.settings import Settings
from storage.types import Interview
from voices.types import SpeechRecognizer, SpeechSynthesizer


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

    async def aclose(self) -> None:
        """Release what the providers hold (connection pools)."""
        ...


@dataclass
class ConfiguredProviders:
    settings: Settings
    # LLM clients hold connection pools: made once, shared by every session.
    _llms: list[Interviewer] | None = None

    def recognizer_choice(self) -> tuple[str, str]:
        s = self.settings
        if s.stt_provider == "deepgram" or (s.stt_provider == "auto" and s.deepgram_api_key):
            return (
                "deepgram",
                "DEEPGRAM_API_KEY is set" if s.stt_provider == "auto" else "STT_PROVIDER=deepgram",
            )
        why = "no DEEPGRAM_API_KEY" if s.stt_provider == "auto" else "STT_PROVIDER=local"
        from voices.local_stt import resolve_whisper_model

        try:
            model, source = resolve_whisper_model(s.whisper_model, s.data_dir)
        except LookupError as missing:
            return "local", f"{why}; {missing}"
        return "local", f"{why}; Whisper model {model}: {source}"

    def synthesizer_choice(self) -> tuple[str, str]:
        s = self.settings
        if s.tts_provider == "deepgram" or (s.tts_provider == "auto" and s.deepgram_api_key):
            return (
                "deepgram",
                "DEEPGRAM_API_KEY is set" if s.tts_provider == "auto" else "TTS_PROVIDER=deepgram",
            )
        return (
            "kokoro",
            "no DEEPGRAM_API_KEY" if s.tts_provider == "auto" else "TTS_PROVIDER=kokoro",
        )

    def recognizer(self) -> SpeechRecognizer:
        s = self.settings
        choice, _ = self.recognizer_choice()
        if choice == "deepgram":
            if s.deepgram_api_key is None:
                raise LookupError("STT_PROVIDER=deepgram needs DEEPGRAM_API_KEY")
            from voices.deepgram_stt import DeepgramRecognizer

            return DeepgramRecognizer(
                api_key=s.deepgram_api_key.get_secret_value(),
                base_url=s.deepgram_base_url,
                model=s.deepgram_stt_model,
                endpointing_ms=s.deepgram_endpointing_ms,
                utterance_end_ms=s.deepgram_utterance_end_ms,
                flux=s.deepgram_flux,
            )
        from voices.local_stt import LocalRecognizer, resolve_whisper_model, shared_engine
        from voices.vad import EndpointerConfig

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
            shared_engine(model, cpu_threads=s.whisper_threads), endpointing=endpointing
        )

    def synthesizer(self) -> SpeechSynthesizer:
        s = self.settings
        choice, _ = self.synthesizer_choice()
        if choice == "deepgram":
            if s.deepgram_api_key is None:
                raise LookupError("TTS_PROVIDER=deepgram needs DEEPGRAM_API_KEY")
            from voices.deepgram_tts import AuraSynthesizer

            return AuraSynthesizer(
                api_key=s.deepgram_api_key.get_secret_value(),
                base_url=s.deepgram_base_url,
                model=s.deepgram_tts_model,
            )
        raise LookupError(
            "local speech synthesis is not available in this version; set DEEPGRAM_API_KEY"
        )

    def interviewer(self) -> FallbackInterviewer:
        """A fallback chain for one session (it remembers which link answered last)."""
        if self._llms is None:
            self._llms = self._build_llms()
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

    def _build_llms(self) -> list[Interviewer]:
        s = self.settings
        chain: list[Interviewer] = []
        for name in s.llm_providers:
            if name == "openai" and s.openai_api_key is not None:
                from pipeline.interviewer.llm import ChatInterviewer

                chain.append(
                    ChatInterviewer.openai(
                        api_key=s.openai_api_key.get_secret_value(),
                        base_url=s.openai_base_url,
                        model=s.openai_model,
                        timeout_s=s.llm_timeout_s,
                    )
                )
            elif name == "groq" and s.groq_api_key is not None:
                from pipeline.interviewer.llm import ChatInterviewer

                chain.append(
                    ChatInterviewer.groq(
                        api_key=s.groq_api_key.get_secret_value(),
                        base_url=s.groq_base_url,
                        model=s.groq_model,
                        timeout_s=s.llm_timeout_s,
                    )
                )
        return chain

    def for_interview(
        self, interview: Interview
    ) -> tuple[SpeechRecognizer, SpeechSynthesizer, Interviewer]:
        return self.recognizer(), self.synthesizer(), self.interviewer()

    def describe(self) -> dict[str, str]:
        stt, stt_why = self.recognizer_choice()
        tts, tts_why = self.synthesizer_choice()
        llms = [link.name for link in self.interviewer().chain]
        return {
            "speech recognition": f"{stt} ({stt_why})",
            "speech synthesis": f"{tts} ({tts_why})",
            "interviewer": " → ".join(llms),
        }


def document_parser(settings: Settings) -> DocumentParser:
    """The resume and job-description parser: the first provider of ``LLM_PROVIDERS``
    with a key (unless ``DOCUMENT_PARSER=heuristic``), else the offline parser alone."""
    if settings.document_parser == "heuristic":
        return DocumentParser()
    from pipeline.documents.llm import LlmDocumentParser, SdkJsonChat

    s = settings
    for name in s.llm_providers:
        if name == "openai" and s.openai_api_key is not None:
            chat = SdkJsonChat.openai(
                api_key=s.openai_api_key.get_secret_value(),
                base_url=s.openai_base_url,
                model=s.openai_model,
                timeout_s=s.llm_timeout_s,
            )
            return DocumentParser(LlmDocumentParser(chat))
        if name == "groq" and s.groq_api_key is not None:
            chat = SdkJsonChat.groq(
                api_key=s.groq_api_key.get_secret_value(),
                base_url=s.groq_base_url,
                model=s.groq_model,
                timeout_s=s.llm_timeout_s,
            )
            return DocumentParser(LlmDocumentParser(chat))
    return DocumentParser()
