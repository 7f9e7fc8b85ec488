"""One typed settings object, read from environment variables and an optional ``.env``.

Every option is documented in ``docs/configuration.md``. Secrets have no defaults outside
development mode: in development a random secret is generated once and kept in the data
directory so restarts keep sessions valid; in production a missing secret is an error.
"""

from __future__ import annotations

import os
import secrets
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from server import registry


def cpu_count() -> int:
    """The CPUs this process may run on (its affinity mask, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


FLUX_EOT_THRESHOLD = 0.7  # Deepgram's default, when DEEPGRAM_EOT_THRESHOLD is not set


def _one_of(setting: str, value: str, known: list[str]) -> str:
    if value not in known:
        raise ValueError(f"{setting} must be one of {', '.join(known)}, not {value!r}")
    return value


class Environment(StrEnum):
    development = "development"
    production = "production"
    test = "test"


class Settings(BaseSettings):
    """All configuration of an Intrvuer process."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    env: Environment = Environment.development
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("./data")
    public_url: str = "http://127.0.0.1:8000"
    web_dir: Path = Path(__file__).resolve().parent.parent / "web"
    log_level: str = "INFO"
    # Server processes of ``intrvuer serve`` on one port; ``auto``: one per CPU.
    workers: Annotated[int, NoDecode] = Field(default=1, ge=1, le=256)
    # How long a draining instance (SIGTERM) lets live interviews go on before it asks
    # them to reconnect elsewhere.
    drain_timeout_s: float = Field(default=300.0, ge=0, le=24 * 3600)

    # Storage
    database_url: str = ""  # empty: SQLite file in data_dir
    database_ssl: Literal["disable", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    database_ssl_root_cert: Path | None = None
    database_pool_min: int = 1
    database_pool_max: int = 10
    redis_url: str = ""

    # Queue
    queue_max_attempts: int = 5
    queue_visibility_timeout_s: float = 60.0
    queue_poll_interval_s: float = 0.5
    queue_inprocess_worker: bool = True
    # Processes for CPU-heavy work (reading uploads, parsing, heuristic scoring); 0: threads.
    cpu_workers: int = Field(default=1, ge=0, le=64)
    # CPU time one uploaded file may take to read (in a worker process) before it is refused.
    upload_cpu_limit_s: float = Field(default=20.0, gt=0, le=600)

    # Tokens
    jwt_secret: SecretStr | None = None
    jwt_issuer: str = "intrvuer"
    access_token_ttl_s: int = 15 * 60
    refresh_token_ttl_s: int = 30 * 24 * 3600

    # Field encryption: comma-separated Fernet keys, newest first. Empty in development:
    # a key file is created in data_dir (see ``encryption_key_list``).
    encryption_keys: SecretStr | None = None

    # Retention (days) and how often the server purges what is past it
    retention_interview_days: int = Field(default=90, ge=1)
    retention_archived_resume_days: int = Field(default=365, ge=1)
    retention_audit_days: int = Field(default=730, ge=1)
    retention_dead_letter_days: int = Field(default=30, ge=1)
    purge_interval_s: float = 3600.0
    # Deleting an account without a password: the sign-in must be this recent
    reauth_window_s: int = 300

    # Error tracking
    sentry_dsn: SecretStr | None = None

    # Login throttling
    login_rate_limit: int = 10
    login_rate_window_s: int = 60
    register_rate_limit: int = Field(default=5, ge=1)

    # HTTP
    max_json_body_bytes: int = 1024 * 1024
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    trust_proxy_headers: bool = False
    metrics_token: SecretStr | None = None
    metrics_public: bool = False

    # Outgoing e-mail: SMTP when SMTP_HOST is set, else .eml files in DATA_DIR/mail
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout_s: float = Field(default=20.0, gt=0, le=300)
    mail_from: str = "Intrvuer <no-reply@localhost>"
    support_email: str = "support@localhost"
    mail_disabled: bool = False
    mail_rate_per_minute: int = Field(default=60, ge=1, le=100_000)
    # E-mails with a link (verification, password reset, e-mail change) one account or
    # address may ask for, and forgotten-password requests one IP may make, per window
    mail_link_rate_limit: int = Field(default=3, ge=1, le=10_000)
    mail_link_ip_rate_limit: int = Field(default=10, ge=1, le=100_000)
    mail_link_rate_window_s: int = Field(default=900, ge=1, le=7 * 24 * 3600)

    # Identity providers
    auth_provider: Literal["local", "supabase"] = "local"
    google_client_id: str = ""
    google_client_secret: SecretStr | None = None
    google_authorize_url: str = "https://accounts.google.com/o/oauth2/v2/auth"
    google_token_url: str = "https://oauth2.googleapis.com/token"  # noqa: S105
    google_userinfo_url: str = "https://openidconnect.googleapis.com/v1/userinfo"
    github_client_id: str = ""
    github_client_secret: SecretStr | None = None
    github_authorize_url: str = "https://github.com/login/oauth/authorize"
    github_token_url: str = "https://github.com/login/oauth/access_token"  # noqa: S105
    github_api_url: str = "https://api.github.com"
    oauth_timeout_s: float = 10.0

    supabase_url: str = ""
    supabase_jwt_secret: SecretStr | None = None
    supabase_jwks_url: str = ""
    supabase_audience: str = "authenticated"
    supabase_issuer: str = ""

    # Speech and interviewer providers
    # Names of ``server.registry``'s rows (or ``auto``), checked below
    stt_provider: str = "auto"
    tts_provider: str = "auto"
    deepgram_api_key: SecretStr | None = None
    deepgram_base_url: str = "https://api.deepgram.com"
    deepgram_stt_model: str = "nova-3"
    deepgram_flux: bool = False
    # Flux's end of turn, in Deepgram's ranges. None (empty or "off" in the environment):
    # Deepgram's defaults for the first and last (0.7, 5000 ms), no eager end of turn.
    deepgram_eot_threshold: float | None = Field(default=None, ge=0.5, le=1.0)
    deepgram_eager_eot_threshold: float | None = Field(default=0.5, ge=0.3, le=0.9)
    deepgram_eot_timeout_ms: int | None = Field(default=None, ge=500, le=60_000)
    deepgram_tts_model: str = "aura-2-thalia-en"
    # Short, so that the turn policy, not Deepgram's silence, decides when an answer is
    # over: each pause's words arrive at once (bench/README.md, turn-taking).
    deepgram_endpointing_ms: int = Field(default=25, ge=10)
    deepgram_utterance_end_ms: int = 1000
    # Local speech recognition (Silero VAD + faster-whisper)
    whisper_model: str = ""  # empty: the bundled tiny.en; else a directory or a model name
    whisper_threads: int = Field(default=2, ge=1)
    whisper_window_s: float = Field(default=12.0, ge=0.0, le=30.0)
    vad_threshold: float = Field(default=0.5, gt=0.0, lt=1.0)
    # Short, so that the turn policy, not the VAD's silence, decides when an answer is
    # over (bench/turns.py: added silence p50 553 → 443 ms at the same policy).
    vad_pause_ms: int = Field(default=100, ge=32)
    vad_end_silence_ms: int = Field(default=300, ge=32)
    vad_utterance_end_ms: int = Field(default=1000, ge=32)
    # Local speech synthesis (Kokoro): model files, voice, threads, phrase cache
    kokoro_model: Path | None = None  # empty: downloaded files, else the bundled model
    kokoro_voices: Path | None = None
    kokoro_voice: str = "jm_kumo"
    kokoro_speed: float = Field(default=1.0, ge=0.5, le=2.0)
    kokoro_threads: int = Field(default=0, ge=0)  # 0: min(4, CPU count)
    kokoro_memory_arena: bool = True
    kokoro_download_url: str = (
        "https://github.com/thewh1teagle/kokoro-onnx/releases/download/model-files-v1.0"
    )
    phrase_cache_mb: int = Field(default=200, ge=0)  # 0: no phrase cache
    phrase_cache_prepare: bool = True
    loop_lag_probe_ms: int = Field(default=0, ge=0)  # 0: off
    openai_api_key: SecretStr | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_model: str = "gpt-4o-mini"
    groq_api_key: SecretStr | None = None
    groq_base_url: str = "https://api.groq.com"
    groq_model: str = "llama-3.3-70b-versatile"
    llm_providers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["openai", "groq"]
    )
    llm_first_token_timeout_s: float = 4.0
    llm_timeout_s: float = 30.0
    # Resumes and job descriptions: "auto" parses with the first configured LLM (falling
    # back to the offline parser); "heuristic" never sends a document to an LLM.
    document_parser: Literal["auto", "heuristic"] = "auto"
    # Question plans, feedback scores and quizzes: "auto" asks the first configured LLM
    # (falling back to the offline planner and heuristic scorer); "offline" never does.
    coaching_llm: Literal["auto", "offline"] = "auto"

    # Live interviews
    interview_patience_s: float = 0.35
    interview_unfinished_patience_s: float = 3.2
    # Begin the reply at the end of speech, while the turn is being decided.
    interview_speculate: bool = True
    # How long before the end of the wait after an answer its reply is begun.
    interview_speculation_lead_s: float = Field(default=0.6, ge=0.0, le=10.0)
    # Speech over the interviewer pauses it; with no real words within this long (a
    # backchannel, a cough) it plays on from where it paused.
    barge_in_confirm_s: float = Field(default=1.0, ge=0.2, le=5.0)
    interview_follow_ups: int = 1
    live_audio_lead_s: float = 0.3
    # Interviewer audio frames (80 ms) and events that may wait for a client that does not
    # read before it is disconnected: 512 is about 40 s of interviewer speech.
    live_send_queue: int = Field(default=512, ge=16, le=10_000)
    # A live interview whose socket closed without ``stop`` may be resumed for this long;
    # then the sweep (every ``INTERVIEW_SWEEP_INTERVAL_S``) concludes it.
    interview_resume_window_s: float = Field(default=600.0, gt=0, le=7 * 24 * 3600)
    interview_sweep_interval_s: float = Field(default=60.0, gt=0, le=3600)

    @field_validator("workers", mode="before")
    @classmethod
    def _auto_workers(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() == "auto":
            return cpu_count()
        return value

    @field_validator("llm_providers", mode="before")
    @classmethod
    def _split_providers(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip().lower() for item in value.split(",") if item.strip()]
        return value

    @field_validator("stt_provider")
    @classmethod
    def _known_recognizer(cls, value: str) -> str:
        return _one_of("STT_PROVIDER", value, registry.names(registry.RECOGNIZERS))

    @field_validator("tts_provider")
    @classmethod
    def _known_synthesizer(cls, value: str) -> str:
        return _one_of("TTS_PROVIDER", value, registry.names(registry.SYNTHESIZERS))

    @field_validator("llm_providers")
    @classmethod
    def _known_chat_models(cls, value: list[str]) -> list[str]:
        known = registry.names(registry.CHAT_MODELS, auto=False)
        return [_one_of("LLM_PROVIDERS", name, known) for name in value]

    @field_validator(
        "deepgram_eot_threshold",
        "deepgram_eager_eot_threshold",
        "deepgram_eot_timeout_ms",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in ("", "off"):
            return None
        return value

    @model_validator(mode="after")
    def _eager_before_end_of_turn(self) -> Settings:
        eager, end = self.deepgram_eager_eot_threshold, self.deepgram_eot_threshold
        if eager is not None and eager > (FLUX_EOT_THRESHOLD if end is None else end):
            shown = f"{FLUX_EOT_THRESHOLD}, its default" if end is None else end
            raise ValueError(
                f"DEEPGRAM_EAGER_EOT_THRESHOLD ({eager}) must not be above"
                f" DEEPGRAM_EOT_THRESHOLD ({shown})"
            )
        return self

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]
        return value

    @model_validator(mode="after")
    def _check_secrets(self) -> Settings:
        if self.env is Environment.production:
            if self.jwt_secret is None or len(self.jwt_secret.get_secret_value()) < 32:
                raise ValueError("JWT_SECRET must be set (at least 32 characters) in production")
            if self.metrics_token is None and not self.metrics_public:
                raise ValueError(
                    "METRICS_TOKEN must be set in production (or METRICS_PUBLIC=true to serve"
                    " /metrics to anyone)"
                )
            if not self.smtp_host and not self.mail_disabled:
                raise ValueError(
                    "SMTP_HOST must be set in production (or MAIL_DISABLED=true to send no"
                    " e-mail at all: no verification, password reset or policy notices)"
                )
            if self.auth_provider == "supabase" and not (
                self.supabase_jwt_secret or self.supabase_jwks_url
            ):
                raise ValueError("AUTH_PROVIDER=supabase needs SUPABASE_JWT_SECRET or JWKS URL")
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'intrvuer.db').resolve()}"

    def signing_secret(self) -> str:
        """The JWT signing secret; generated once per data directory in development."""
        if self.jwt_secret is not None:
            return self.jwt_secret.get_secret_value()
        path = self.data_dir / "jwt-secret"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        value = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(value)
        return value

    @property
    def encryption_key_file(self) -> Path:
        return self.data_dir / "encryption-keys"

    def encryption_keys_configured(self) -> list[str]:
        """The keys of ``ENCRYPTION_KEYS``, newest first; empty when it is not set."""
        if self.encryption_keys is None:
            return []
        raw = self.encryption_keys.get_secret_value()
        return [key.strip() for key in raw.split(",") if key.strip()]

    @property
    def google_enabled(self) -> bool:
        return bool(self.google_client_id and self.google_client_secret)

    @property
    def github_enabled(self) -> bool:
        return bool(self.github_client_id and self.github_client_secret)
