"""The ``intrvuer`` command as a user runs it: serve on embedded defaults, migrate, doctor,
the dead letters of the job queue."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest

BIN = Path(sys.executable).parent


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {**keep, **extra}


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _run(*args: str, cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(BIN / "intrvuer"),
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    return process.returncode or 0, output.decode()


async def test_serve_on_embedded_defaults_answers_healthz(tmp_path: Path) -> None:
    # The README's first command runs `intrvuer serve` with no settings at all: port 8000,
    # SQLite in ./data. Use 8000 when it is free, as a newcomer would.
    port = 8000 if _port_free(8000) else _free_port()
    env = _clean_env() if port == 8000 else _clean_env(PORT=str(port))
    process = await asyncio.create_subprocess_exec(
        str(BIN / "intrvuer"),
        "serve",
        cwd=tmp_path,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            response = None
            async with asyncio.timeout(30):
                while response is None:
                    try:
                        response = await client.get("/healthz")
                    except httpx.TransportError:
                        await asyncio.sleep(0.1)
            assert response.status_code == 200 and response.json() == {"status": "ok"}
            ready = await client.get("/readyz")
            assert ready.json()["checks"] == {"database": "ok"}
        assert (tmp_path / "data" / "intrvuer.db").exists()
    finally:
        process.terminate()
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
    # uvicorn shuts down gracefully, then re-raises the SIGTERM it caught.
    assert process.returncode in (0, -15), stderr.decode()[-3000:]
    assert "Application shutdown complete" in stderr.decode()
    # Start-up objects are frozen out of the garbage collector's way (server/app.py).
    settled = next(line for line in stderr.decode().splitlines() if "heap settled" in line)
    assert json.loads(settled)["frozen_objects"] > 10_000


async def test_migrate_then_doctor(tmp_path: Path) -> None:
    env = _clean_env(DATA_DIR=str(tmp_path / "d"))
    code, output = await _run("migrate", cwd=tmp_path, env=env)
    assert code == 0, output
    assert "0001_initial" in output
    code, output = await _run("migrate", cwd=tmp_path, env=env)
    assert code == 0 and "up to date" in output
    code, output = await _run("doctor", cwd=tmp_path, env=env)
    assert code == 0, output
    assert "SQLite" in output and "pending: none" in output and "status:        ok" in output


async def test_doctor_reports_an_unreachable_database(tmp_path: Path) -> None:
    env = _clean_env(DATABASE_URL=f"postgresql://nobody@127.0.0.1:{_free_port()}/none")
    code, output = await _run("doctor", cwd=tmp_path, env=env)
    assert code == 1
    assert "cannot connect" in output


async def test_invalid_settings_are_explained(tmp_path: Path) -> None:
    code, output = await _run("migrate", cwd=tmp_path, env=_clean_env(ENV="production"))
    assert code == 2
    assert "JWT_SECRET" in output and "Traceback" not in output


async def test_doctor_shows_the_local_voices_and_where_their_models_come_from(
    tmp_path: Path,
) -> None:
    code, output = await _run("doctor", cwd=tmp_path, env=_clean_env())
    assert code == 0, output
    assert "speech synthesis: kokoro (no DEEPGRAM_API_KEY)" in output
    assert "speech recognition: local (no DEEPGRAM_API_KEY" in output
    kokoro = next(line for line in output.splitlines() if line.startswith("kokoro model:"))
    assert "(bundled: no KOKORO_MODEL and nothing downloaded" in kokoro
    assert "interviewer:   offline" in output

    model, voices = tmp_path / "mine.onnx", tmp_path / "voices.bin"
    model.write_bytes(b"m")
    voices.write_bytes(b"v")
    env = _clean_env(KOKORO_MODEL=str(model), KOKORO_VOICES=str(voices))
    code, output = await _run("doctor", cwd=tmp_path, env=env)
    assert f"kokoro model:  {model} + {voices} (settings: KOKORO_MODEL and KOKORO_VOICES set)" in (
        output
    )


async def test_models_fetch_kokoro_refuses_a_file_that_fails_its_check(tmp_path: Path) -> None:
    from tests.voices.test_models import FileServer, serve_files
    from voices.models import KOKORO_MODELS, KOKORO_VOICES, kokoro_dir, resolve_kokoro

    bundled = resolve_kokoro(data_dir=tmp_path / "bundle")  # the release's int8 file
    files = {
        KOKORO_MODELS["int8"].name: bundled.model.read_bytes(),
        KOKORO_VOICES.name: bytes(KOKORO_VOICES.size),  # right size, wrong bytes
    }
    data_dir = tmp_path / "data"
    with serve_files(FileServer(files)) as server:
        env = _clean_env(DATA_DIR=str(data_dir), KOKORO_DOWNLOAD_URL=server.url)
        code, output = await _run("models", "fetch", "kokoro", cwd=tmp_path, env=env)
    assert code == 1, output
    assert "kokoro-v1.0.int8.onnx: 92.4/92.4 MB" in output  # progress on stderr
    assert "voices-v1.0.bin: sha256" in output and "the file was deleted" in output
    assert "Traceback" not in output
    folder = kokoro_dir(data_dir)
    assert sorted(p.name for p in folder.iterdir()) == ["kokoro-v1.0.int8.onnx"]


async def test_serve_in_production_refuses_open_metrics(tmp_path: Path) -> None:
    env = _clean_env(ENV="production", JWT_SECRET="p" * 40, PORT=str(_free_port()))
    code, output = await _run("serve", cwd=tmp_path, env=env)
    assert code == 2, output
    assert "METRICS_TOKEN must be set in production" in output and "METRICS_PUBLIC" in output
    assert "Traceback" not in output


@pytest.fixture(params=["outbox", pytest.param("redis", marks=pytest.mark.redis)])
def queue_redis_url(request: pytest.FixtureRequest) -> str:
    """Empty for the database outbox; else the test's own Redis."""
    return str(request.getfixturevalue("redis_url")) if request.param == "redis" else ""


async def test_jobs_dead_lists_dead_letters_without_payloads_and_retry_requeues_one(
    tmp_path: Path, queue_redis_url: str
) -> None:
    from storage import connect
    from storage.queue import Job, open_queue

    url = f"sqlite:///{tmp_path / 'intrvuer.db'}"
    redis_url = queue_redis_url
    db = await connect(url)
    await db.migrate()
    queue = await open_queue(db=db, redis_url=redis_url, max_attempts=2, retry_base_s=0.0)

    async def fails(job: Job) -> None:
        raise RuntimeError("the parser gave up\non this file")

    job_id = await queue.enqueue("document.parse", {"text": "Zebedee's resume"}, user_id="u1")
    assert await queue.process_available({"document.parse": fails}, consumer="t") == 2
    await queue.close()
    await db.close()
    env = _clean_env(DATABASE_URL=url, DATA_DIR=str(tmp_path), REDIS_URL=redis_url)

    code, output = await _run("jobs", "dead", cwd=tmp_path, env=env)
    assert code == 0, output
    [row] = [line for line in output.splitlines() if line.startswith(job_id)]
    assert row.split()[:3] == [job_id, "document.parse", "2"]
    assert "RuntimeError: the parser gave up on this file" in row
    assert "Zebedee" not in output and "u1" not in output

    code, output = await _run("jobs", "retry", job_id, cwd=tmp_path, env=env)
    assert code == 0 and f"requeued {job_id}" in output, output
    code, output = await _run("jobs", "dead", cwd=tmp_path, env=env)
    assert code == 0 and "no dead letters" in output, output
    code, output = await _run("jobs", "retry", job_id, cwd=tmp_path, env=env)
    assert code == 1 and "no dead letter has the id" in output, output

    db = await connect(url)
    queue = await open_queue(db=db, redis_url=redis_url)
    seen: list[Job] = []

    async def works(job: Job) -> None:
        seen.append(job)

    try:
        assert await queue.process_available({"document.parse": works}, consumer="t") == 1
    finally:
        await queue.close()
        await db.close()
    assert [(job.id, job.attempt, job.payload) for job in seen] == [
        (job_id, 1, {"text": "Zebedee's resume"})
    ]


async def test_doctor_names_the_mailer_and_fails_on_a_refused_smtp_login(tmp_path: Path) -> None:
    from tests.smtp import PASSWORD, USERNAME, start_smtp

    code, output = await _run("doctor", cwd=tmp_path, env=_clean_env())
    assert code == 0, output
    assert "mail:          files in data/mail (no SMTP_HOST)" in output
    code, output = await _run("doctor", cwd=tmp_path, env=_clean_env(MAIL_DISABLED="true"))
    assert code == 0 and "mail:          disabled" in output

    smtp = await start_smtp(tmp_path)
    try:
        relay = _clean_env(
            SMTP_HOST=smtp.host,
            SMTP_PORT=str(smtp.port),
            SMTP_USERNAME=USERNAME,
            SMTP_PASSWORD=PASSWORD,
            # The relay's certificate is of a private CA: trusted the documented way.
            SSL_CERT_FILE=str(smtp.cert_file),
        )
        code, output = await _run("doctor", cwd=tmp_path, env=relay)
        assert code == 0, output
        assert f"mail:          smtp 127.0.0.1:{smtp.port} (starttls, logged in as intrvuer)" in (
            output
        )
        assert smtp.sink.logins == [USERNAME]

        code, output = await _run(
            "doctor", cwd=tmp_path, env={**relay, "SMTP_PASSWORD": "not-the-password"}
        )
        assert code == 1, output
        assert "SMTPAuthenticationError" in output and "SMTP_PASSWORD" in output
        assert "not-the-password" not in output and "status:        1 problem(s)" in output
        code, output = await _run(
            "doctor", cwd=tmp_path, env={**relay, "SSL_CERT_FILE": "/nonexistent.pem"}
        )
        assert code == 1 and "SSL" in output, output
    finally:
        smtp.stop()
