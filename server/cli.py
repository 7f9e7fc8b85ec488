"""The ``intrvuer`` command: serve, migrate, worker, doctor, keys, purge, jobs, policy."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from datetime import UTC
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from server.logs import configure_logging
from server.settings import Settings

if TYPE_CHECKING:
    from storage.database import Database
    from storage.queue import JobQueue


def _load_settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        print("intrvuer: invalid settings:", file=sys.stderr)
        for item in error.errors(include_url=False, include_input=False):
            where = ".".join(str(part) for part in item["loc"]).upper() or "settings"
            print(f"  {where}: {item['msg']}", file=sys.stderr)
        raise SystemExit(2) from None


def _logged_settings() -> Settings:
    """The settings, with logging configured by them: what every background command needs."""
    settings = _load_settings()
    configure_logging(settings.log_level)
    return settings


def cmd_serve(args: argparse.Namespace) -> int:
    from server.supervisor import serve, supervise

    settings = _load_settings()
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    if args.workers is not None:
        settings.workers = args.workers
    configure_logging(settings.log_level)
    if settings.workers == 1:
        return serve(settings)
    return supervise(settings)


def _workers(text: str) -> int:
    from server.settings import cpu_count

    if text.strip().lower() == "auto":
        return cpu_count()
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number or auto, not {text!r}") from None
    if not 1 <= value <= 256:
        raise argparse.ArgumentTypeError(f"must be between 1 and 256, not {value}")
    return value


async def _migrate() -> int:
    from server.services import open_database

    settings = _load_settings()
    db = await open_database(settings)
    try:
        applied = await db.migrate()
        print(f"database: {_describe_database(settings)}")
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    finally:
        await db.close()
    return 0


async def _worker(once: bool) -> int:
    from server.jobs import handlers as jobs
    from server.services import open_services

    settings = _logged_settings()
    from server.sentry import init_sentry

    init_sentry(settings)
    svc = await open_services(settings)
    try:
        handlers = jobs.handlers(svc)
        consumer = jobs.consumer_name("worker")
        if once:
            count = await svc.queue.process_available(handlers, consumer=consumer)
            print(f"processed {count} job(s)")
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await svc.queue.run_worker(handlers, consumer=consumer, stop=stop)
    finally:
        await svc.close()
    return 0


def _describe_database(settings: Settings) -> str:
    url = settings.resolved_database_url
    if url.startswith("sqlite:"):
        return f"SQLite file {url.removeprefix('sqlite:///')}"
    host = url.split("@")[-1]
    return f"PostgreSQL at {host}"


async def _doctor() -> int:
    from server.services import open_database

    settings = _load_settings()
    problems = 0
    print(f"environment:   {settings.env.value}")
    print(f"data directory: {settings.data_dir.resolve()}")
    print(f"database:      {_describe_database(settings)}")
    try:
        db = await open_database(settings)
    except Exception as error:  # report any connection failure, whatever its kind
        print(f"  ! cannot connect: {error.__class__.__name__}: {error}")
        problems += 1
    else:
        try:
            from storage.dialect import migration_files

            applied = await _applied_or_empty(db)
            known = [path.stem for path in migration_files(db.dialect)]
            pending = [name for name in known if name not in applied]
            print(f"  migrations applied: {len(applied)}, pending: {', '.join(pending) or 'none'}")
        finally:
            await db.close()
    if settings.redis_url:
        import redis.asyncio as aioredis

        client = aioredis.from_url(settings.redis_url)
        try:
            await asyncio.wait_for(client.ping(), timeout=3)
            print("queue:         Redis Streams (REDIS_URL is set); Redis answers")
        except Exception as error:  # report any Redis failure
            print(f"queue:         Redis Streams, but Redis does not answer: {error}")
            problems += 1
        finally:
            await client.aclose()
    else:
        print("queue:         database outbox (REDIS_URL is not set)")
    secret = "set" if settings.jwt_secret else "generated in the data directory (development)"
    print(f"JWT secret:    {secret}")
    keys = settings.encryption_keys_configured()
    if keys:
        print(f"encryption:    ENCRYPTION_KEYS ({len(keys)} key(s), newest first)")
    else:
        where = settings.encryption_key_file.resolve()
        print(f"encryption:    key file {where} (back it up; ENCRYPTION_KEYS in production)")
    print(f"sign-in:       {settings.auth_provider}")
    for provider, enabled in (
        ("Google", settings.google_enabled),
        ("GitHub", settings.github_enabled),
    ):
        state = "on" if enabled else f"off ({provider.upper()}_CLIENT_ID/SECRET unset)"
        print(f"  {provider + ':':<13}{state}")
    problems += await _check_mail(settings)
    from server.providers import ConfiguredProviders

    for role, choice in ConfiguredProviders(settings).describe().items():
        print(f"{role + ':':<14} {choice}")
    print("status:        " + ("ok" if problems == 0 else f"{problems} problem(s)"))
    return 0 if problems == 0 else 1


async def _check_mail(settings: Settings) -> int:
    """Print which mailer is active; for SMTP, connect and log in. Returns the problems."""
    from server.mail import MailError, open_mailer

    try:
        print(f"mail:          {await open_mailer(settings).check()}")
    except MailError as error:
        print(f"mail:          SMTP, but the check failed: {error}")
        print(
            "  ! no e-mail can be sent (verification, password reset, notices): check"
            " SMTP_HOST, SMTP_PORT, SMTP_SECURITY, SMTP_USERNAME and SMTP_PASSWORD"
            " (a private CA: SSL_CERT_FILE)"
        )
        return 1
    return 0


async def _applied_or_empty(db: Any) -> list[str]:
    try:
        return list(await db.applied_migrations())
    except Exception:  # no schema_migrations table yet: nothing applied
        return []


async def _keys_rotate(batch_size: int, dry_run: bool) -> int:
    from server.services import field_cipher, open_database
    from storage.rotation import rotate_keys

    settings = _logged_settings()
    cipher = field_cipher(settings)
    db = await open_database(settings)
    try:
        report = await rotate_keys(db, cipher, batch_size=batch_size, dry_run=dry_run)
    finally:
        await db.close()
    verb = "would re-encrypt" if dry_run else "re-encrypted"
    print(f"{verb} {report.total} value(s) with the newest key")
    for column, count in sorted(report.rewritten.items()):
        print(f"  {column}: {count}")
    print(f"already current: {report.current}; changed meanwhile: {report.skipped_changed}")
    return 0


async def _purge(dry_run: bool) -> int:
    from server.privacy import run_purge

    settings = _logged_settings()
    async with _database_and_queue(settings) as (db, queue):
        report = await run_purge(db, settings, queue=queue, dry_run=dry_run)
    if not report.ran:
        print("another purge is running; nothing done")
        return 0
    verb = "would delete" if dry_run else "deleted"
    for what, count in report.deleted.items():
        print(f"{verb} {count} {what.replace('_', ' ')}")
    for what, count in report.expired.items():
        print(f"deleted {count} expired {what.replace('_', ' ')}")
    return 0


@contextlib.asynccontextmanager
async def _database_and_queue(settings: Settings) -> AsyncIterator[tuple[Database, JobQueue]]:
    from server.services import open_database, open_job_queue

    db = await open_database(settings)
    try:
        queue = await open_job_queue(settings, db)
        try:
            yield db, queue
        finally:
            await queue.close()
    finally:
        await db.close()


async def _jobs_dead(limit: int) -> int:
    """The dead letters, newest first; never their payloads (a transcript, a document)."""
    settings = _logged_settings()
    async with _database_and_queue(settings) as (_, queue):
        letters = await queue.dead_letters(limit)
    if not letters:
        print("no dead letters")
        return 0
    print(f"{'id':<32}  {'kind':<24}  attempts  {'died at (UTC)':<19}  last error")
    for letter in letters:
        died = letter.died_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
        error = " ".join(letter.last_error.split())
        error = error if len(error) <= 160 else error[:159] + "…"
        print(f"{letter.id:<32}  {letter.kind:<24}  {letter.attempts:>8}  {died}  {error}")
    if len(letters) == limit:
        print(f"(the newest {limit}; --limit shows more)")
    days = settings.retention_dead_letter_days
    print(f"retry one: intrvuer jobs retry <id>; they are purged {days} days after they died")
    return 0


async def _jobs_retry(job_id: str) -> int:
    settings = _logged_settings()
    async with _database_and_queue(settings) as (_, queue):
        requeued = await queue.retry_dead_letter(job_id)
    if not requeued:
        print(f"intrvuer: no dead letter has the id {job_id!r}", file=sys.stderr)
        return 1
    print(f"requeued {job_id}: a worker runs it next, with its attempts counted afresh")
    return 0


async def _policy_publish(version: str, summary: str, material: bool) -> int:
    from server.policy import publish
    from server.privacy import SealedQueue
    from server.services import SEALED_JOB_KINDS, field_cipher
    from storage.policies import PolicyVersionTaken

    settings = _logged_settings()
    async with _database_and_queue(settings) as (db, queue):
        try:
            published, queued = await publish(
                db,
                # Notices wait sealed, like every message: they hold an address.
                SealedQueue(queue, field_cipher(settings), SEALED_JOB_KINDS),
                settings,
                version=version,
                summary=summary,
                material=material,
                progress=lambda count: print(f"notices queued: {count}", flush=True),
            )
        except PolicyVersionTaken:
            print(f"intrvuer: version {version!r} was published with another text", file=sys.stderr)
            return 1
    print(f"policy {published.version} published {published.published_at:%Y-%m-%d}")
    if published.material:
        print(f"notices queued by this run: {queued} (a worker sends them)")
    return 0


def _fetch_kokoro(settings: Settings, args: argparse.Namespace) -> list[str]:
    from voices.models import fetch_kokoro

    found = fetch_kokoro(
        settings.data_dir, base_url=settings.kokoro_download_url, variant=args.variant
    )
    return [f"kokoro model: {found.model}", f"kokoro voices: {found.voices}"]


def _fetch_whisper(settings: Settings, args: argparse.Namespace) -> list[str]:
    from voices.whisper import fetch_whisper_model, fetched_whisper_dir

    folder = fetch_whisper_model(args.name, fetched_whisper_dir(settings.data_dir, args.name))
    return [f"whisper model: {folder}", f"use it with WHISPER_MODEL={args.name}"]


# What ``models fetch`` can download: each downloads and says where the files went.
MODEL_FETCHERS: dict[str, Callable[[Settings, argparse.Namespace], list[str]]] = {
    "kokoro": _fetch_kokoro,
    "whisper": _fetch_whisper,
}


def cmd_models_fetch(args: argparse.Namespace) -> int:
    """``intrvuer models fetch kokoro|whisper``: download into the data directory."""
    from voices.models import DownloadError
    from voices.whisper import ModelFetchError

    settings = _load_settings()
    try:
        said = MODEL_FETCHERS[args.which](settings, args)
    except (DownloadError, ModelFetchError) as error:
        print(f"intrvuer: {error}", file=sys.stderr)
        return 1
    print("\n".join(said))
    return 0


def _run(coro_factory: Callable[[], Coroutine[Any, Any, int]]) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(coro_factory())
    return 130


def _positive(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError(f"must be between 1 and 10000, not {value}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intrvuer", description="Intrvuer interview server")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the HTTP and WebSocket server")
    serve.add_argument("--host", help="address to bind (default: HOST setting)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT setting)")
    serve.add_argument(
        "--workers",
        type=_workers,
        help="server processes on the port, or auto: one per CPU (default: WORKERS setting)",
    )
    commands.add_parser("migrate", help="apply database migrations")
    worker = commands.add_parser("worker", help="consume the durable job queue")
    worker.add_argument("--once", action="store_true", help="process what is ready, then exit")
    commands.add_parser("doctor", help="check configuration, database, queue and providers")
    keys = commands.add_parser("keys", help="field-encryption keys")
    keys_commands = keys.add_subparsers(dest="keys_command", required=True)
    keys_commands.add_parser("generate", help="print a new key for ENCRYPTION_KEYS")
    rotate = keys_commands.add_parser(
        "rotate", help="re-encrypt every encrypted value with the newest key (resumable)"
    )
    rotate.add_argument("--batch-size", type=int, default=200, help="rows per batch")
    rotate.add_argument("--dry-run", action="store_true", help="count, change nothing")
    purge = commands.add_parser("purge", help="delete what is past its retention period")
    purge.add_argument("--dry-run", action="store_true", help="count, delete nothing")
    jobs = commands.add_parser("jobs", help="the durable job queue's dead letters")
    jobs_commands = jobs.add_subparsers(dest="jobs_command", required=True)
    dead = jobs_commands.add_parser(
        "dead", help="list the jobs that failed every attempt (ids, kinds, errors; no payloads)"
    )
    dead.add_argument(
        "--limit", type=_positive, default=100, help="newest first, at most this many (100)"
    )
    retry = jobs_commands.add_parser("retry", help="queue a dead job again, attempts afresh")
    retry.add_argument("job_id", metavar="ID", help="the job's id, as `jobs dead` lists it")
    policy = commands.add_parser("policy", help="versions of the privacy policy")
    policy_commands = policy.add_subparsers(dest="policy_command", required=True)
    publish = policy_commands.add_parser(
        "publish",
        help="record a new version; with --material, e-mail every user one notice (resumable)",
    )
    publish.add_argument("--version", required=True, help="the version's name, e.g. 2026-12")
    publish.add_argument("--summary", required=True, help="what changed, in a few sentences")
    publish.add_argument(
        "--material", action="store_true", help="a material change: notice e-mails and a banner"
    )
    models = commands.add_parser("models", help="model files of the local voices")
    models_commands = models.add_subparsers(dest="models_command", required=True)
    fetch = models_commands.add_parser(
        "fetch", help="download model files into the data directory (resumable, checked)"
    )
    fetch.add_argument("which", choices=list(MODEL_FETCHERS))
    fetch.add_argument(
        "--variant", choices=["int8", "fp32"], default="int8", help="Kokoro model (int8)"
    )
    fetch.add_argument("--name", default="tiny.en", help="Whisper model name (tiny.en)")
    args = parser.parse_args(argv)
    if args.command == "models":
        return cmd_models_fetch(args)
    if args.command == "keys":
        if args.keys_command == "generate":
            from storage.crypto import FieldCipher

            print(FieldCipher.generate_key())
            return 0
        return _run(lambda: _keys_rotate(args.batch_size, args.dry_run))
    if args.command == "purge":
        return _run(lambda: _purge(args.dry_run))
    if args.command == "jobs":
        if args.jobs_command == "dead":
            return _run(lambda: _jobs_dead(args.limit))
        return _run(lambda: _jobs_retry(args.job_id))
    if args.command == "policy":
        return _run(lambda: _policy_publish(args.version, args.summary, args.material))
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "migrate":
        return _run(_migrate)
    if args.command == "worker":
        return _run(lambda: _worker(args.once))
    return _run(_doctor)


if __name__ == "__main__":
    raise SystemExit(main())
