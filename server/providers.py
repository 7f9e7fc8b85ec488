"""The one registry that turns settings into speech and interviewer providers.

``auto`` picks a cloud provider when its key is set. The interviewer is a chain: the
configured LLM providers in ``LLM_PROVIDERS`` order, then the offline interviewer, which
never fails, so a live interview always has someone to ask the questions.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from pipeline.documents.parser import DocumentParser
from pipeline.interviewer.fallback import FallbackInterviewer
from pipeline.interviewer.offline import (
    FIXED_PHRASES,
    FOLLOW_UP_HINTS,
    GENERIC_PHRASES,
    OfflineInterviewer,
    spoken_chunks,
)
from pipeline.interviewer.types import (
    Instruction,
    InterviewContext,
    Interviewer,
    Message,
)
from server.settings import Settings
from storage.types import Interview
from voices.types import SpeechRecognizer, SpeechSynthesizer

if TYPE_CHECKING:
    from pipeline.documents.llm import JsonChat
    from voices.kokoro import KokoroSynthesizer

log = logging.getLogger("intrvuer.providers")

# English Aura-2 voices offered for interviews; any other ``aura-…`` model name works too.
AURA_VOICES = (
    "aura-2-thalia-en",
    "aura-2-andromeda-en",
    "aura-2-helena-en",
    "aura-2-apollo-en",
    "aura-2-arcas-en",
    "aura-2-orion-en",
)


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

    def recognizer_choice(self) -> tuple[str, str]:
        s = self.settings
        if s.stt_provider == "deepgram" or (s.stt_provider == "auto" and s.deepgram_api_key):
            return (
                "deepgram",
                "DEEPGRAM_API_KEY is set" if s.stt_provider == "auto" else "STT_PROVIDER=deepgram",
            )
        why = "no DEEPGRAM_API_KEY" if s.stt_provider == "auto" else "STT_PROVIDER=local"
        from voices.whisper import resolve_whisper_model

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
        from voices.local_stt import LocalRecognizer
        from voices.vad import EndpointerConfig
        from voices.whisper import resolve_whisper_model, shared_engine

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
            shared_engine(model, cpu_threads=s.whisper_threads, window_s=s.whisper_window_s),
            endpointing=endpointing,
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
        return self.kokoro()

    def kokoro(self) -> KokoroSynthesizer:
        """The process-wide Kokoro synthesizer (the model loads in the background on first
        use). Raises ``LookupError`` when no model files can be found."""
        if self._kokoro is None:
            from voices.kokoro import KokoroSynthesizer
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
            if self.recognizer_choice()[0] == "local":
                # Local recognition shares the cores: a transcript goes before phrases.
                from voices.whisper import recognition_busy as defer
            self._kokoro = KokoroSynthesizer(
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
        return self._kokoro

    def kokoro_files(self) -> str:
        """Where the Kokoro model and voices come from, and why (for ``intrvuer doctor``)."""
        from voices.models import resolve_kokoro

        s = self.settings
        try:
            found = resolve_kokoro(
                data_dir=s.data_dir.resolve(),
                model=s.kokoro_model,
                voices=s.kokoro_voices,
                prepare=False,
            )
        except LookupError as missing:
            return f"none: {missing}"
        return found.describe()

    def warm(self) -> None:
        """Build and import now what the first live interview would: the LLM clients and
        the speech modules of the chosen providers (no connection opened, no model
        loaded), so that their import-time objects exist before the server freezes its
        heap (``server.app``) and the first candidate does not wait for the imports."""
        with contextlib.suppress(ImportError):
            self.interviewer()
        stt, tts = self.recognizer_choice()[0], self.synthesizer_choice()[0]
        modules = []
        if stt == "deepgram":
            modules.append("voices.deepgram_stt")
        if tts == "deepgram":
            modules.append("voices.deepgram_tts")
        if stt == "local":
            modules.extend(["voices.local_stt", "voices.whisper"])
        if tts == "kokoro":
            modules.append("voices.kokoro")
        for name in modules:
            with contextlib.suppress(ImportError):  # the extra is missing: said at first use
                importlib.import_module(name)
        if "deepgram" in (stt, tts):
            with contextlib.suppress(ImportError):
                from voices.deepgram_common import import_clients

                import_clients()

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
        if self._kokoro is not None:
            await self._kokoro.aclose()
            self._kokoro = None
        if self._lag_probe is not None:
            await self._lag_probe.stop()
            self._lag_probe = None

    def _build_llms(self) -> list[Interviewer]:
        accounts = _llm_accounts(self.settings)
        if not accounts:
            return []
        from pipeline.interviewer.llm import ChatInterviewer

        timeout_s = self.settings.llm_timeout_s
        return [
            (ChatInterviewer.openai if a.provider == "openai" else ChatInterviewer.groq)(
                api_key=a.api_key, base_url=a.base_url, model=a.model, timeout_s=timeout_s
            )
            for a in accounts
        ]

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
            if recognizer.name != "deepgram":
                # Local recognition shares the CPU with Kokoro: preparing phrases waits
                # while the candidate speaks.
                from voices.kokoro import YieldingRecognizer

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
        if self.synthesizer_choice()[0] != "kokoro":
            return 0
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
        tts, _ = self.synthesizer_choice()
        if tts == "deepgram":
            return tts, list(AURA_VOICES)
        from voices.models import resolve_kokoro, voice_names

        s = self.settings
        try:
            found = resolve_kokoro(
                data_dir=s.data_dir, model=s.kokoro_model, voices=s.kokoro_voices, prepare=False
            )
            names = voice_names(found.voices)
        except (LookupError, OSError, ValueError):
            names = []
        # The configured voice first: it is what "default" sounds like.
        return tts, sorted(names, key=lambda name: (name != s.kokoro_voice, name))

    def describe(self) -> dict[str, str]:
        stt, stt_why = self.recognizer_choice()
        tts, tts_why = self.synthesizer_choice()
        llms = [link.name for link in self.interviewer().chain]
        return {
            "speech recognition": f"{stt} ({stt_why})",
            "speech synthesis": f"{tts} ({tts_why})",
            **({"kokoro model": self.kokoro_files()} if tts == "kokoro" else {}),
            "interviewer": " → ".join(llms),
        }


def offline_phrases(
    interview: Interview, first_name: str | None = None, *, greeting: bool = False
) -> list[str]:
    """The chunks the offline interviewer's replies will be spoken in, as the session's
    chunker cuts them, in the order they are likely needed: (the greeting,) each planned
    question after the first with its acknowledgements, the closings, then the follow-ups.
    Without ``greeting`` the greeting is left out: once the session is open it is spoken at
    once, and preparing it would only compete with it."""
    interviewer = OfflineInterviewer()
    plan = tuple(interview.questions)
    # (instruction, answers given before it when no follow-up was asked)
    replies: list[tuple[Instruction, int]] = [
        (Instruction("greet", question=question, question_number=1), 0)
        for question in plan[:1]
        if greeting
    ]
    replies += [
        (Instruction("next_question", question=question, question_number=number), number - 1)
        for number, question in enumerate(plan, start=1)
        if number > 1
    ]
    replies.append((Instruction("close"), len(plan)))
    replies += [(Instruction("follow_up", hint=hint), 1) for hint in FOLLOW_UP_HINTS]
    chunks: list[str] = []
    for instruction, expected in replies:
        # The acknowledgement depends on how many answers came before: the likely count
        # first, then the others (follow-ups shift it).
        others = () if instruction.action == "greet" else (n for n in range(4) if n != expected % 4)
        for answered in (expected, *others):
            context = InterviewContext(
                kind=interview.kind,
                candidate_first_name=first_name,
                background="",
                plan=plan,
                history=tuple(Message("candidate", "") for _ in range(answered)),
                instruction=instruction,
            )
            chunks += spoken_chunks(interviewer.reply_text(context))
    return list(dict.fromkeys(chunks))


class LoopLagProbe:
    """Measures how late the event loop wakes a sleeper (``LOOP_LAG_PROBE_MS``) and logs
    its p50/p99/max every 5 s, with the counters of ``stats``: a blocked loop shows up as
    lag."""

    def __init__(
        self,
        interval_s: float,
        report_s: float = 5.0,
        stats: Callable[[], dict[str, float | int]] = dict,
    ) -> None:
        self.interval_s = interval_s
        self.stats = stats
        self.report_s = report_s
        self.samples: deque[float] = deque(maxlen=100_000)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="loop-lag-probe")

    async def _run(self) -> None:
        window: list[float] = []
        reported = time.monotonic()
        while True:
            before = time.monotonic()
            await asyncio.sleep(self.interval_s)
            lag_ms = max(0.0, (time.monotonic() - before - self.interval_s) * 1000)
            self.samples.append(lag_ms)
            window.append(lag_ms)
            if time.monotonic() - reported >= self.report_s and len(window) >= 2:
                cuts = statistics.quantiles(window, n=100)
                log.info(
                    "event loop lag",
                    extra={
                        "lag_p50_ms": round(cuts[49], 2),
                        "lag_p99_ms": round(cuts[98], 2),
                        "lag_max_ms": round(max(window), 2),
                        "samples": len(window),
                        **self.stats(),
                    },
                )
                window = []
                reported = time.monotonic()

    async def stop(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


@dataclass(frozen=True, slots=True)
class _LlmAccount:
    provider: str  # "openai" | "groq"
    api_key: str
    base_url: str
    model: str


def _llm_accounts(s: Settings) -> list[_LlmAccount]:
    """The LLM providers of ``LLM_PROVIDERS`` that have a key, in that order."""
    found: list[_LlmAccount] = []
    for name in s.llm_providers:
        if name == "openai" and s.openai_api_key is not None:
            key, base_url, model = s.openai_api_key, s.openai_base_url, s.openai_model
        elif name == "groq" and s.groq_api_key is not None:
            key, base_url, model = s.groq_api_key, s.groq_base_url, s.groq_model
        else:
            continue
        found.append(_LlmAccount(name, key.get_secret_value(), base_url, model))
    return found


def _json_chat(settings: Settings) -> JsonChat | None:
    """A JSON-answering chat on the first provider of ``LLM_PROVIDERS`` with a key."""
    accounts = _llm_accounts(settings)
    if not accounts:
        return None
    from pipeline.documents.llm import SdkJsonChat

    a = accounts[0]
    return (SdkJsonChat.openai if a.provider == "openai" else SdkJsonChat.groq)(
        api_key=a.api_key, base_url=a.base_url, model=a.model, timeout_s=settings.llm_timeout_s
    )


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
