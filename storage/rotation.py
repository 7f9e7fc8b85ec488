"""Re-encrypting every encrypted column with the newest key (``intrvuer keys rotate``).

Rotation walks each table in primary-key order, a batch at a time, and rewrites a value
only if it is not already a token of the newest key. That makes it naturally resumable:
an interrupted run, started again, skips what is done. Each rewrite is a compare-and-set
on the old value, so a row the server changed meanwhile is left as the server wrote it
(already with the newest key) instead of being overwritten with stale data.

Values written before field encryption existed (plaintext) are encrypted by the same walk.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Literal

from storage.crypto import FieldCipher
from storage.database import Database

log = logging.getLogger("intrvuer.keys")


@dataclass(frozen=True, slots=True)
class EncryptedTable:
    name: str
    key: tuple[str, ...]  # primary-key columns, the walk's order
    columns: tuple[str, ...]
    kind: Literal["text", "bytes"] = "text"


# Every encrypted column of the schema. A table missing from the database (an older
# schema) is skipped.
ENCRYPTED: tuple[EncryptedTable, ...] = (
    EncryptedTable("resumes", ("id",), ("file",), kind="bytes"),
    EncryptedTable("resumes", ("id",), ("filename", "text", "parsed")),
    EncryptedTable("job_descriptions", ("id",), ("text", "parsed")),
    EncryptedTable("interviews", ("id",), ("questions",)),
    EncryptedTable("interview_turns", ("interview_id", "turn"), ("question", "answer", "words")),
    EncryptedTable("interview_feedback", ("interview_id",), ("body",)),
    EncryptedTable("quizzes", ("id",), ("questions",)),
    EncryptedTable("quiz_attempts", ("id",), ("answers", "results")),
)


@dataclass
class RotationReport:
    rewritten: dict[str, int] = field(default_factory=dict)  # "table.column" -> rows
    skipped_changed: int = 0  # rows changed by someone else between read and write
    current: int = 0  # values already under the newest key

    @property
    def total(self) -> int:
        return sum(self.rewritten.values())


async def existing_tables(db: Database) -> set[str]:
    """The tables of the database, read from its catalog."""
    if db.dialect == "postgres":
        rows = await db.fetch(
            "SELECT table_name AS name FROM information_schema.tables"
            " WHERE table_schema = current_schema()"
        )
    else:
        rows = await db.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    return {str(row["name"]) for row in rows}


def _rewrite(cipher: FieldCipher, value: Any, kind: str) -> Any | None:
    """The value under the newest key, or None if it already is."""
    if kind == "bytes":
        raw = bytes(value)
        if not cipher.is_token(raw):
            return cipher.encrypt(raw)
        return None if cipher.is_current(raw) else cipher.rotate(raw)
    text = str(value)
    if not cipher.is_token(text):
        return cipher.encrypt_text(text)
    token = text.encode("ascii")
    return None if cipher.is_current(token) else cipher.rotate(token).decode("ascii")


async def rotate_keys(
    db: Database, cipher: FieldCipher, *, batch_size: int = 200, dry_run: bool = False
) -> RotationReport:
    """Rewrite every encrypted value that is not under ``cipher``'s newest key."""
    report = RotationReport()
    tables = await existing_tables(db)
    for table in ENCRYPTED:
        if table.name not in tables:
            continue
        for column in table.columns:
            await _rotate_column(db, cipher, table, column, batch_size, dry_run, report)
    return report


async def _rotate_column(
    db: Database,
    cipher: FieldCipher,
    table: EncryptedTable,
    column: str,
    batch_size: int,
    dry_run: bool,
    report: RotationReport,
) -> None:
    # Identifiers below are constants of ENCRYPTED, never input (hence the S608 marks).
    keys = ", ".join(table.key)
    count = len(table.key)
    after: tuple[Any, ...] | None = None
    label = f"{table.name}.{column}"
    while True:
        if after is None:
            where, args = "", []
        else:
            placeholders = ", ".join(f"${i + 1}" for i in range(count))
            where, args = f" WHERE ({keys}) > ({placeholders})", list(after)
        rows = await db.fetch(
            f"SELECT {keys}, {column} AS value FROM {table.name}{where}"  # noqa: S608
            f" ORDER BY {keys} LIMIT {int(batch_size)}",
            *args,
        )
        if not rows:
            return
        for row in rows:
            key_values = [row[name] for name in table.key]
            old = row["value"]
            if old is None:
                continue
            new = _rewrite(cipher, old, table.kind)
            if new is None:
                report.current += 1
                continue
            if dry_run:
                report.rewritten[label] = report.rewritten.get(label, 0) + 1
                continue
            match = " AND ".join(f"{name} = ${i + 3}" for i, name in enumerate(table.key))
            changed = await db.execute(
                f"UPDATE {table.name} SET {column} = $1 WHERE {column} = $2 AND {match}",  # noqa: S608
                new,
                old,
                *key_values,
            )
            if changed == 1:
                report.rewritten[label] = report.rewritten.get(label, 0) + 1
            else:
                report.skipped_changed += 1
        after = tuple(rows[-1][name] for name in table.key)
        log.info("rotated a batch", extra={"column": label, "rows": len(rows)})
