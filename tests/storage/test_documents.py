"""Resume and job-description repositories, the same on every backend: owner scoping,
the parse status machine, archive, and the original bytes kept exactly."""

from __future__ import annotations

import hashlib

from storage import Database
from storage.crypto import FieldCipher
from storage.documents import JobRepository, ResumeRepository
from storage.users import UserRepository

CIPHER = FieldCipher([FieldCipher.generate_key()])
FILE = b"%PDF-1.7\n\x00\xff binary \x80 bytes\n%%EOF"


async def _users(db: Database) -> tuple[str, str]:
    users = UserRepository(db)
    owner = await users.create(email="owner@example.org", name="O", password_hash=None)
    other = await users.create(email="other@example.org", name="X", password_hash=None)
    return owner.id, other.id


async def test_resumes_are_scoped_to_their_owner_and_keep_their_bytes(db: Database) -> None:
    owner, other = await _users(db)
    resumes = ResumeRepository(db, CIPHER)
    resume = await resumes.create(
        user_id=owner,
        filename="cv.pdf",
        content_type="application/pdf",
        sha256=hashlib.sha256(FILE).hexdigest(),
        data=FILE,
        text="Ada Lovelace",
    )
    assert (resume.status, resume.size, resume.parsed) == ("pending", len(FILE), None)
    stored = await resumes.file(owner, resume.id)
    assert stored is not None and stored.data == FILE
    assert await resumes.text(owner, resume.id) == "Ada Lovelace"

    assert await resumes.get(other, resume.id) is None
    assert await resumes.file(other, resume.id) is None
    assert await resumes.text(other, resume.id) is None
    assert await resumes.set_archived(other, resume.id, True) is None
    assert await resumes.mark_parsing(other, resume.id) is False
    assert await resumes.delete(other, resume.id) is False
    assert await resumes.list_for_user(other, include_archived=True) == []
    assert await resumes.get(owner, resume.id) == resume


async def test_the_parse_status_moves_forward_only(db: Database) -> None:
    owner, _ = await _users(db)
    jobs = JobRepository(db, CIPHER)
    job = await jobs.create(user_id=owner, text="Nurse at Mercy")
    assert await jobs.mark_parsing(owner, job.id) is True
    assert await jobs.mark_parsing(owner, job.id) is True  # a redelivery may claim it again
    parsed = {"title": "Nurse", "company": "Mercy", "skills": ["Triage"]}
    assert await jobs.save_parsed(owner, job.id, parsed=parsed, parser="heuristic", version=1)
    # Finished: a late or repeated delivery changes nothing.
    assert await jobs.mark_parsing(owner, job.id) is False
    assert await jobs.mark_failed(owner, job.id, "parse_failed") is False
    assert not await jobs.save_parsed(owner, job.id, parsed={}, parser="x", version=2)
    done = await jobs.get(owner, job.id)
    assert done is not None
    assert (done.status, done.parsed, done.parser, done.parser_version) == (
        "ready",
        parsed,
        "heuristic",
        1,
    )
    assert await jobs.status(owner, job.id) == "ready"


async def test_archive_hides_from_the_default_list_and_deleting_the_user_deletes_all(
    db: Database,
) -> None:
    owner, _ = await _users(db)
    resumes = ResumeRepository(db, CIPHER)
    first = await resumes.create(
        user_id=owner,
        filename="a.pdf",
        content_type="application/pdf",
        sha256="0",
        data=b"a",
        text="a",
    )
    second = await resumes.create(
        user_id=owner,
        filename="b.pdf",
        content_type="application/pdf",
        sha256="0",
        data=b"b",
        text="b",
    )
    archived = await resumes.set_archived(owner, first.id, True)
    assert archived is not None and archived.archived_at is not None
    again = await resumes.set_archived(owner, first.id, True)
    assert again is not None and again.archived_at == archived.archived_at
    assert [r.id for r in await resumes.list_for_user(owner)] == [second.id]
    assert {r.id for r in await resumes.list_for_user(owner, include_archived=True)} == {
        first.id,
        second.id,
    }
    await JobRepository(db, CIPHER).create(user_id=owner, text="job")
    await db.execute("DELETE FROM users WHERE id = $1", owner)
    assert await db.fetchval("SELECT COUNT(*) FROM resumes") == 0
    assert await db.fetchval("SELECT COUNT(*) FROM job_descriptions") == 0
