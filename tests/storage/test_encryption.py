"""Field encryption at rest, on every backend: after an upload and a whole live interview
no resume or transcript word is readable in any row (nor in the SQLite file's bytes), and
keys rotate without losing anything."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from server.settings import Settings
from storage import Database, connect
from storage._util import utcnow
from storage.crypto import DecryptionError, FieldCipher
from storage.documents import JobRepository, ResumeRepository
from storage.interviews import InterviewRepository, TurnRepository
from storage.rotation import existing_tables, rotate_keys
from storage.types import InterviewTurn, PlannedQuestion, TurnWord
from storage.users import UserRepository
from tests.documents import RESUME_LINES, pdf
from tests.live_client import live
from tests.polling import eventually
from tests.server.test_auth import bearer, register
from tests.server.test_cli import _clean_env, _run
from tests.server.test_live import FakeProviders, ticket_url
from tests.serving import run_server

# Words that appear only in the resume (the heuristic parse copies them) and in the answer.
RESUME_WORDS = ["Babbage", "Analytical", "difference engine", "Royal Society", "Lovelace CV"]
ANSWER = "I rebuilt the quasar telemetry pipeline with zebrafish-themed dashboards for Globex."
ANSWER_WORDS = ["quasar", "zebrafish", "Globex"]
JOB_TEXT = "Staff engineer at Initech: own the xylophone scheduling platform."
JOB_WORDS = ["Initech", "xylophone"]


async def _raw_dump(db: Database) -> str:
    """Every value of every row of every table, as text."""
    parts: list[str] = []
    for table in sorted(await existing_tables(db)):
        for row in await db.fetch(f"SELECT * FROM {table}"):  # noqa: S608 - catalog names
            for value in row.values():
                if isinstance(value, bytes | bytearray | memoryview):
                    parts.append(bytes(value).decode("latin-1"))
                else:
                    parts.append(str(value))
    return "\n".join(parts)


async def test_upload_and_live_interview_leave_no_plaintext_at_rest(
    database_url: str, data_dir: Path, backend: str
) -> None:
    providers = FakeProviders()
    fast = Settings(
        env="test",
        data_dir=data_dir,
        database_url=database_url,
        database_ssl="disable",
        jwt_secret="test-secret-that-is-long-enough-for-hs256-0123456789",
        queue_poll_interval_s=0.05,
        interview_patience_s=0.05,
        interview_follow_ups=0,
        public_url="http://app.test",
    )
    async with (
        run_server(fast, providers=providers) as server,
        httpx.AsyncClient(base_url=server.url, timeout=10) as http,
    ):
        tokens = await register(http, "crypt@example.org")
        auth = bearer(tokens["access_token"])
        upload = await http.post(
            "/v1/resumes",
            headers=auth,
            files={"file": ("Ada Lovelace CV.pdf", pdf(), "application/pdf")},
        )
        assert upload.status_code == 201, upload.text
        assert upload.json()["filename"] == "Ada Lovelace CV.pdf"
        resume_id = upload.json()["id"]

        async def resume() -> dict[str, Any]:
            return dict((await http.get(f"/v1/resumes/{resume_id}", headers=auth)).json())

        parsed = await eventually(resume, lambda body: body["status"] == "ready")
        assert "Babbage" in str(parsed["parsed"])  # readable through the API
        job = await http.post("/v1/jobs", headers=auth, json={"text": JOB_TEXT})
        assert job.status_code == 201, job.text
        created = await http.post(
            "/v1/interviews",
            headers=auth,
            json={"type": "behavioral", "question_count": 1, "resume_id": resume_id},
        )
        assert created.status_code == 201, created.text
        iid = created.json()["id"]
        url = await ticket_url(http, server, tokens["access_token"], iid)
        async with live(url) as client:
            await client.send({"type": "start"})
            await client.wait_for("agent_turn_end", 1)
            await client.send(b"\x00\x00" * 320)
            providers.recognizers[-1].stream.say(ANSWER)
            await client.wait_for("interview_end")

        async def detail() -> dict[str, Any]:
            return dict((await http.get(f"/v1/interviews/{iid}", headers=auth)).json())

        done = await eventually(detail, lambda d: len(d["turns"]) == 1)
        assert done["turns"][0]["answer"] == ANSWER

    db = await connect(database_url, ssl_mode="disable")
    try:
        dump = await _raw_dump(db)
    finally:
        await db.close()
    for word in RESUME_WORDS + ANSWER_WORDS + JOB_WORDS:
        assert word not in dump, f"{word!r} is stored in plaintext"
    if backend == "sqlite":
        path = Path(database_url.removeprefix("sqlite:///"))
        raw = b"".join(
            p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists()
        )
        for word in RESUME_WORDS + ANSWER_WORDS + JOB_WORDS:
            assert word.encode() not in raw, f"{word!r} is in the SQLite file"


async def _write_everything(db: Database, cipher: FieldCipher) -> tuple[str, str, str]:
    user = await UserRepository(db).create(email="rot@example.org", name="R", password_hash=None)
    data = pdf()
    resume = await ResumeRepository(db, cipher).create(
        user_id=user.id,
        filename="cv.pdf",
        content_type="application/pdf",
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        text="\n".join(RESUME_LINES),
    )
    await ResumeRepository(db, cipher).save_parsed(
        user.id, resume.id, parsed={"skills": ["Babbage"]}, parser="heuristic", version=1
    )
    await JobRepository(db, cipher).create(user_id=user.id, text=JOB_TEXT)
    interview = await InterviewRepository(db, cipher).create(
        user_id=user.id,
        kind="behavioral",
        questions=[PlannedQuestion(text="Tell me about Babbage & Co", competency="impact")],
        voice="v",
        plan_source="offline",
    )
    await TurnRepository(db, cipher).save(
        InterviewTurn(
            interview_id=interview.id,
            turn=1,
            question="Tell me about Babbage & Co",
            question_index=0,
            interrupted=False,
            answer=ANSWER,
            words=(TurnWord("quasar", 0.0, 0.4),),
            answer_audio_s=2.5,
            metrics={"voice_to_voice_ms": 400.0},
            interviewer_source="offline",
            created_at=utcnow(),
        )
    )
    return user.id, resume.id, interview.id


async def _read_everything(
    db: Database, cipher: FieldCipher, user_id: str, resume_id: str, interview_id: str
) -> None:
    stored = await ResumeRepository(db, cipher).file(user_id, resume_id)
    assert stored is not None and stored.data == pdf() and stored.filename == "cv.pdf"
    assert "Babbage" in (await ResumeRepository(db, cipher).text(user_id, resume_id) or "")
    resume = await ResumeRepository(db, cipher).get(user_id, resume_id)
    assert resume is not None and resume.parsed == {"skills": ["Babbage"]}
    jobs = await JobRepository(db, cipher).list_for_user(user_id)
    assert [job.text for job in jobs] == [JOB_TEXT]
    interview = await InterviewRepository(db, cipher).get(user_id, interview_id)
    assert interview is not None and interview.questions[0].text == "Tell me about Babbage & Co"
    turns = await TurnRepository(db, cipher).list(interview_id)
    assert turns[0].answer == ANSWER and turns[0].words[0].word == "quasar"


async def test_rotating_from_key_a_to_b_keeps_everything_readable(db: Database) -> None:
    key_a, key_b = FieldCipher.generate_key(), FieldCipher.generate_key()
    with_a = FieldCipher([key_a])
    ids = await _write_everything(db, with_a)
    # B is added as the newest key: old values still read, new ones are written with B.
    with_b_then_a = FieldCipher([key_b, key_a])
    await _read_everything(db, with_b_then_a, *ids)
    report = await rotate_keys(db, with_b_then_a, batch_size=2)
    # file, filename, text, parsed, job text, questions, turn question, answer, words
    assert report.total == 9 and report.skipped_changed == 0
    # A second run finds nothing left: rotation is resumable and idempotent.
    again = await rotate_keys(db, with_b_then_a)
    assert again.total == 0 and again.current == 9
    only_b = FieldCipher([key_b])
    await _read_everything(db, only_b, *ids)
    with pytest.raises(DecryptionError):
        await _read_everything(db, with_a, *ids)


async def test_rotation_encrypts_plaintext_left_by_an_older_release(db: Database) -> None:
    cipher = FieldCipher([FieldCipher.generate_key()])
    user_id, resume_id, interview_id = await _write_everything(db, cipher)
    # Rows as a release without field encryption wrote them.
    await db.execute("UPDATE job_descriptions SET text = $1", JOB_TEXT)
    await db.execute("UPDATE interview_turns SET answer = $1", ANSWER)
    await _read_everything(db, cipher, user_id, resume_id, interview_id)
    report = await rotate_keys(db, cipher)
    assert report.rewritten == {"job_descriptions.text": 1, "interview_turns.answer": 1}
    assert "Initech" not in await _raw_dump(db)
    await _read_everything(db, cipher, user_id, resume_id, interview_id)


async def test_keys_rotate_command(tmp_path: Path) -> None:
    """``intrvuer keys rotate`` against an SQLite file, with ENCRYPTION_KEYS = B,A."""
    url = f"sqlite:///{tmp_path / 'intrvuer.db'}"
    db = await connect(url)
    await db.migrate()
    key_a, key_b = FieldCipher.generate_key(), FieldCipher.generate_key()
    ids = await _write_everything(db, FieldCipher([key_a]))
    await db.close()
    env = _clean_env(DATABASE_URL=url, DATA_DIR=str(tmp_path), ENCRYPTION_KEYS=f"{key_b},{key_a}")
    code, output = await _run("keys", "rotate", cwd=tmp_path, env=env)
    assert code == 0, output
    assert "re-encrypted 9 value(s)" in output
    db = await connect(url)
    try:
        await _read_everything(db, FieldCipher([key_b]), *ids)
    finally:
        await db.close()


def test_keys_come_from_settings_or_a_private_key_file(tmp_path: Path) -> None:
    from server.services import field_cipher

    secret = "test-secret-that-is-long-enough-for-hs256-0123456789"
    production = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env="production",
        jwt_secret=secret,
        data_dir=tmp_path,
        metrics_public=True,
        mail_disabled=True,
    )
    with pytest.raises(ValueError, match="ENCRYPTION_KEYS"):
        field_cipher(production)
    assert not (tmp_path / "encryption-keys").exists()
    key = FieldCipher.generate_key()
    configured = production.model_copy(update={"encryption_keys": SecretStr(f" {key} ,")})
    token = field_cipher(configured).encrypt_text("x")
    assert FieldCipher([key]).decrypt_text(token) == "x"

    development = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    first = field_cipher(development).encrypt_text("kept")
    path = tmp_path / "encryption-keys"
    assert path.stat().st_mode & 0o077 == 0
    # A restart reads the same key back.
    assert field_cipher(development).decrypt_text(first) == "kept"


async def test_rotation_never_overwrites_a_concurrent_write(db: Database) -> None:
    key_a, key_b = FieldCipher.generate_key(), FieldCipher.generate_key()
    user = await UserRepository(db).create(email="cas@example.org", name="C", password_hash=None)
    jobs = JobRepository(db, FieldCipher([key_a]))
    ids = [(await jobs.create(user_id=user.id, text=JOB_TEXT)).id for _ in range(30)]
    serving = FieldCipher([key_b, key_a])

    async def edits() -> None:
        # What a serving instance does meanwhile: rewrite rows with the newest key.
        for job_id in ids:
            await db.execute(
                "UPDATE job_descriptions SET text = $1 WHERE id = $2",
                serving.encrypt_text("edited while rotating"),
                job_id,
            )
            await asyncio.sleep(0)

    report, _ = await asyncio.gather(rotate_keys(db, serving, batch_size=3), edits())
    texts = [
        job.text for job in await JobRepository(db, FieldCipher([key_b])).list_for_user(user.id)
    ]
    assert texts == ["edited while rotating"] * 30
    assert report.total + report.skipped_changed + report.current >= 30


async def test_turn_payloads_wait_in_the_queue_sealed(db: Database) -> None:
    from server.privacy import SealedQueue
    from storage.queue import Job, OutboxQueue

    cipher = FieldCipher([FieldCipher.generate_key()])
    outbox = OutboxQueue(db)
    queue = SealedQueue(outbox, cipher, frozenset({"interview.turn"}))
    await queue.enqueue("interview.turn", {"answer": ANSWER}, user_id="u1")
    await queue.enqueue("resume.parse", {"resume_id": "r1"}, user_id="u1")
    stored = " ".join(str(row["payload"]) for row in await db.fetch("SELECT payload FROM jobs"))
    assert "quasar" not in stored and "r1" in stored  # only the listed kinds are sealed
    seen: list[dict[str, Any]] = []

    async def handle(job: Job) -> None:
        seen.append(job.payload)

    handled = await queue.process_available(
        {"interview.turn": handle, "resume.parse": handle}, consumer="test"
    )
    assert handled == 2
    assert sorted(seen, key=str) == [{"answer": ANSWER}, {"resume_id": "r1"}]
