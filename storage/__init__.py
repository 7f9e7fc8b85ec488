"""Repositories over SQLite (embedded default) and Postgres, migrations and the job queue."""

from storage.database import Database, connect

__all__ = ["Database", "connect"]
