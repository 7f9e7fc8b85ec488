"""A PostgreSQL server a test owns and may stop and start (the shared one is never
restarted): a new cluster in a temporary directory, on a free port.

``initdb`` and ``postgres`` refuse to run as root, so as root (CI) they run as the
``postgres`` OS user that the Debian package creates.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import signal
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg

from tests.conftest import service_missing
from tests.polling import eventually


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _binaries() -> Path:
    """The folder with ``initdb`` and ``postgres``: ``PG_BIN``, else the newest Debian
    version, else wherever ``initdb`` is on PATH."""
    candidates = [os.environ.get("PG_BIN", "")]
    candidates += sorted(
        (str(path) for path in Path("/usr/lib/postgresql").glob("*/bin")),
        key=lambda path: int(Path(path).parent.name) if Path(path).parent.name.isdigit() else 0,
        reverse=True,
    )
    found = shutil.which("initdb")
    if found:
        candidates.append(str(Path(found).parent))
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    service_missing("PostgreSQL server binaries", FileNotFoundError("no initdb found"))
    raise AssertionError("unreachable")


class PrivatePostgres:
    def __init__(self, root: Path, bin_dir: Path, run_as: dict[str, Any]) -> None:
        self.root = root
        self.data = root / "data"
        self.bin_dir = bin_dir
        self.port = _free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._run_as = run_as
        self._log = root / "postgres.log"
        self._process: asyncio.subprocess.Process | None = None

    async def init(self) -> None:
        with self._log.open("ab") as log:
            made = await asyncio.create_subprocess_exec(
                str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", "postgres",
                "--auth=trust", "--no-sync", "-E", "UTF8",
                stdout=log, stderr=log, **self._run_as,
            )  # fmt: skip
            assert await made.wait() == 0, self._log.read_text()[-2000:]

    async def start(self) -> None:
        """Start the server; returns once it accepts connections."""
        with self._log.open("ab") as log:
            self._process = await asyncio.create_subprocess_exec(
                str(self.bin_dir / "postgres"), "-D", str(self.data), "-p", str(self.port),
                "-c", "listen_addresses=127.0.0.1", "-k", str(self.root),
                "-c", "fsync=off", "-c", "full_page_writes=off",
                stdout=log, stderr=log, **self._run_as,
            )  # fmt: skip

        async def accepts() -> bool:
            assert self._process is not None and self._process.returncode is None, (
                self._log.read_text()[-2000:]
            )
            try:
                connection = await asyncpg.connect(self.url, timeout=2)
            except (OSError, asyncpg.PostgresError, TimeoutError):
                return False
            await connection.close()
            return True

        await eventually(accepts, bool, within=30)

    async def stop(self) -> None:
        """A fast shutdown (SIGINT): sessions are cut, as by a restart or a failover."""
        if self._process is not None and self._process.returncode is None:
            self._process.send_signal(signal.SIGINT)
            await self._process.wait()


@contextlib.asynccontextmanager
async def private_postgres() -> AsyncIterator[PrivatePostgres]:
    bin_dir = _binaries()
    run_as: dict[str, Any] = {}
    # Not under pytest's tmp_path: the postgres user may not enter root's private folder.
    root = Path(tempfile.mkdtemp(prefix="intrvuer-pg-"))
    try:
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError as error:
                service_missing("a postgres OS user to run a private PostgreSQL", error)
            os.chown(root, account.pw_uid, account.pw_gid)
            run_as = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        server = PrivatePostgres(root, bin_dir, run_as)
        await server.init()
        await server.start()
        try:
            yield server
        finally:
            await server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
