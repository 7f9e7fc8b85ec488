"""What a running server holds: settings, database, queue, Redis, token service, mailer.

Opened in the application lifespan (never at import), closed on shutdown.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import httpx
import redis.asyncio as aioredis

from pipeline import cpu
from pipeline.documents.parser import DocumentParser
from pipeline.llm.types import JsonChat
from pipeline.session import SessionConfig
from pipeline.turns import TurnPolicy
from server.auth.account_mail import RESET_REQUEST_JOB, AccountMail
from server.auth.ratelimit import FailureLimiter, MemoryFailureLimiter, RedisFailureLimiter
from server.auth.supabase import SupabaseAuthenticator
from server.auth.tokens import TokenService
from server.auth.types import ExternalAuthenticator
from server.jobs.turns import JOB_KIND as TURN_JOB_KIND
from server.jobs.turns import TurnWriter
from server.live_metrics import LiveMetrics
from server.live_sessions import LiveSessions
from server.mail import MAIL_JOB, Mailer, open_mailer
from server.privacy import SealedQueue
from server.providers import ConfiguredProviders, ProviderSet, coaching_chat, document_parser
from server.settings import Environment, Settings
from storage import Database, connect
from storage.audit import AuditRepository
from storage.crypto import FieldCipher, load_key_file
from storage.documents import JobRepository, ResumeRepository
from storage.interviews import InterviewRepository, TurnRepository
from storage.queue import JobQueue, open_queue
from storage.queue.redis_streams import redis_client as shared_redis

log = logging.getLogger("intrvuer.services")

# Job kinds whose payloads are Fernet tokens while they wait in the queue: a finalized
# turn carries a transcript; an e-mail an address and perhaps a single-use link; a
# forgotten-password request an address.
SEALED_JOB_KINDS = frozenset({TURN_JOB_KIND, MAIL_JOB, RESET_REQUEST_JOB})


@dataclass
class Services:
    settings: Settings
    db: Database
    queue: JobQueue
    tokens: TokenService
    login_limiter: FailureLimiter
    register_limiter: FailureLimiter
    # E-mails with a link, per account or address; forgotten-password requests, per IP.
    mail_link_limiter: FailureLimiter
    mail_link_ip_limiter: FailureLimiter
    http: httpx.AsyncClient
    providers: ProviderSet
    turn_writer: TurnWriter
    live_metrics: LiveMetrics
    session_config: SessionConfig
    # Encrypts the sensitive columns; every repository that holds them takes it.
    cipher: FieldCipher
    # Hands e-mail over (SMTP, .eml files, or nowhere); called only by mail.send jobs.
    mailer: Mailer
    # ``queue`` with the payloads of ``SEALED_JOB_KINDS`` sealed: enqueue those here.
    sealed_queue: JobQueue
    # Repositories of encrypted data, on this server's database and cipher (they hold
    # nothing else, so one of each serves every request).
    resumes: ResumeRepository
    job_descriptions: JobRepository
    interviews: InterviewRepository
    turns: TurnRepository
    redis: aioredis.Redis | None = None
    # Accepts access tokens issued by another identity provider (Supabase mode).
    external_auth: ExternalAuthenticator | None = None
    # Parses resumes and job descriptions (an LLM client when one is configured).
    documents: DocumentParser = field(default_factory=DocumentParser)
    # The chat model of question plans, feedback and quizzes (None: offline), shared.
    coaching: JsonChat | None = None
    # The live sessions of this process, one per interview (a new connection takes over).
    live_sessions: LiveSessions = field(default_factory=LiveSessions)

    @property
    def account_mail(self) -> AccountMail:
        """Links and notices of accounts (verification, reset, changes), queued sealed."""
        return AccountMail(self.db, self.sealed_queue, self.settings)

    @property
    def audit_repository(self) -> AuditRepository:
        return AuditRepository(self.db)

    async def close(self) -> None:
        await self.providers.aclose()
        await self.documents.aclose()
        if self.coaching is not None:
            await self.coaching.aclose()
        await self.http.aclose()
        await self.queue.close()
        if self.redis is not None:
            await self.redis.aclose()
        await self.db.close()


def session_config(settings: Settings) -> SessionConfig:
    return SessionConfig(
        policy=TurnPolicy(
            patience_s=settings.interview_patience_s,
            unfinished_patience_s=settings.interview_unfinished_patience_s,
        ),
        audio_lead_s=settings.live_audio_lead_s,
        max_follow_ups=settings.interview_follow_ups,
        first_token_timeout_s=settings.llm_first_token_timeout_s,
        outgoing_max=settings.live_send_queue,
        speculate=settings.interview_speculate,
        speculation_lead_s=settings.interview_speculation_lead_s,
        barge_in_confirm_s=settings.barge_in_confirm_s,
    )


def field_cipher(settings: Settings) -> FieldCipher:
    """The cipher from ``ENCRYPTION_KEYS``; outside production, from a key file in the data
    directory, created on first run. Production refuses to start without keys: a key file
    beside the database it protects would protect nothing against a copied disk."""
    keys = settings.encryption_keys_configured()
    if keys:
        return FieldCipher(keys)
    if settings.env is Environment.production:
        raise ValueError("ENCRYPTION_KEYS must be set in production (see docs/privacy.md)")
    path = settings.encryption_key_file
    keys, created = load_key_file(path)
    if created:
        log.warning(
            "created an encryption key file; back it up: losing it loses the encrypted data",
            extra={"path": str(path.resolve())},
        )
    else:
        log.info("encryption keys read from the key file", extra={"path": str(path.resolve())})
    return FieldCipher(keys)


def _limiter(
    redis_client: aioredis.Redis | None,
    *,
    limit: int,
    window_s: int,
    redis_prefix: str = "intrvuer:fail:",
) -> FailureLimiter:
    """In Redis when there is one, so every instance counts the same attempts."""
    if redis_client is None:
        return MemoryFailureLimiter(limit=limit, window_s=window_s)
    return RedisFailureLimiter(redis_client, limit=limit, window_s=window_s, prefix=redis_prefix)


async def open_database(settings: Settings) -> Database:
    return await connect(
        settings.resolved_database_url,
        ssl_mode=settings.database_ssl,
        ssl_root_cert=settings.database_ssl_root_cert,
        pool_min=settings.database_pool_min,
        pool_max=settings.database_pool_max,
    )


async def open_job_queue(settings: Settings, db: Database) -> JobQueue:
    """The durable job queue the settings name (Redis Streams with ``REDIS_URL``)."""
    return await open_queue(
        db=db,
        redis_url=settings.redis_url,
        max_attempts=settings.queue_max_attempts,
        visibility_timeout_s=settings.queue_visibility_timeout_s,
        poll_interval_s=settings.queue_poll_interval_s,
    )


async def open_services(settings: Settings, *, migrate: bool = True) -> Services:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    cpu.configure(settings.cpu_workers)
    # Made before anything is opened: a misconfiguration then leaves nothing to close.
    cipher = field_cipher(settings)
    documents = document_parser(settings)
    coaching = coaching_chat(settings)
    mailer = open_mailer(settings)
    db = await open_database(settings)
    try:
        if migrate:
            applied = await db.migrate()
            if applied:
                log.info("applied migrations", extra={"migrations": applied})
        redis_client = shared_redis(settings.redis_url) if settings.redis_url else None
        queue = await open_job_queue(settings, db)
    except BaseException:
        await db.close()
        raise
    sealed_queue = SealedQueue(queue, cipher, SEALED_JOB_KINDS)
    services = Services(
        settings=settings,
        db=db,
        queue=queue,
        tokens=TokenService(
            secret=settings.signing_secret(),
            issuer=settings.jwt_issuer,
            access_ttl_s=settings.access_token_ttl_s,
            refresh_ttl_s=settings.refresh_token_ttl_s,
        ),
        login_limiter=_limiter(
            redis_client, limit=settings.login_rate_limit, window_s=settings.login_rate_window_s
        ),
        register_limiter=_limiter(
            redis_client,
            limit=settings.register_rate_limit,
            window_s=settings.login_rate_window_s,
            redis_prefix="intrvuer:register:",
        ),
        mail_link_limiter=_limiter(
            redis_client,
            limit=settings.mail_link_rate_limit,
            window_s=settings.mail_link_rate_window_s,
            redis_prefix="intrvuer:mail-link:",
        ),
        mail_link_ip_limiter=_limiter(
            redis_client,
            limit=settings.mail_link_ip_rate_limit,
            window_s=settings.mail_link_rate_window_s,
            redis_prefix="intrvuer:mail-link-ip:",
        ),
        providers=ConfiguredProviders(settings),
        turn_writer=TurnWriter(sealed_queue),
        live_metrics=LiveMetrics(),
        session_config=session_config(settings),
        cipher=cipher,
        mailer=mailer,
        sealed_queue=sealed_queue,
        resumes=ResumeRepository(db, cipher),
        job_descriptions=JobRepository(db, cipher),
        interviews=InterviewRepository(db, cipher),
        turns=TurnRepository(db, cipher),
        http=httpx.AsyncClient(timeout=settings.oauth_timeout_s, follow_redirects=False),
        redis=redis_client,
        documents=documents,
        coaching=coaching,
    )
    if settings.auth_provider == "supabase":
        services.external_auth = SupabaseAuthenticator.from_settings(settings, services.http)
    return services
