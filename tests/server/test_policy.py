"""Policy versions and their notices: ``intrvuer policy publish --material`` queues one
notice per user, paced, and a run killed half-way and started again still gives each user
exactly one — delivered by ``intrvuer worker`` to a real SMTP server."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx

from server.settings import Settings
from storage import connect
from storage._util import new_id, utcnow
from storage.policies import PolicyRepository
from tests.serving import run_server
from tests.smtp import PASSWORD, USERNAME, start_smtp

BIN = Path(sys.executable).parent
USERS = 500


async def _users(database_url: str, count: int) -> None:
    db = await connect(database_url, ssl_mode="disable")
    try:
        before = utcnow() - timedelta(days=1)
        async with db.transaction() as tx:
            for number in range(count):
                await tx.execute(
                    "INSERT INTO users (id, email, email_verified, name, preferences,"
                    " created_at, updated_at) VALUES ($1, $2, TRUE, $3, '{}', $4, $4)",
                    new_id(),
                    f"user{number:03d}@example.org",
                    f"User {number}",
                    before,
                )
    finally:
        await db.close()


def _env(database_url: str, data_dir: Path, **extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG")}
    return {
        **keep,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "DATABASE_SSL": "disable",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


async def test_a_material_change_notifies_each_user_once_across_a_killed_run(
    database_url: str, tmp_path: Path
) -> None:
    await _users(database_url, USERS)
    smtp = await start_smtp(tmp_path)
    env = _env(
        database_url,
        tmp_path / "data",
        MAIL_RATE_PER_MINUTE="6000",  # 100 a second: the first run is killed mid-way
        SMTP_HOST=smtp.host,
        SMTP_PORT=str(smtp.port),
        SMTP_USERNAME=USERNAME,
        SMTP_PASSWORD=PASSWORD,
        SSL_CERT_FILE=str(smtp.cert_file),
        PUBLIC_URL="https://intrvuer.example",
    )
    command = [
        str(BIN / "intrvuer"), "policy", "publish", "--version", "2026-12",
        "--summary", "Dead-letter jobs are now deleted after 30 days.", "--material",
    ]  # fmt: skip
    try:
        first = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        assert first.stdout is not None
        async with asyncio.timeout(60):
            while not (line := (await first.stdout.readline()).decode()).startswith(
                "notices queued: 200"
            ):
                assert line, "the command ended before it was killed"
        first.send_signal(signal.SIGKILL)
        assert await first.wait() == -signal.SIGKILL

        db = await connect(database_url, ssl_mode="disable")
        try:
            half = await PolicyRepository(db).notices_queued("2026-12")
        finally:
            await db.close()
        assert 200 <= half < USERS

        again = await asyncio.create_subprocess_exec(
            *command, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
        )
        output = (await asyncio.wait_for(again.communicate(), 60))[0].decode()
        assert again.returncode == 0, output
        assert f"notices queued by this run: {USERS - half}" in output

        worker = await asyncio.create_subprocess_exec(
            str(BIN / "intrvuer"), "worker", "--once", env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output = (await asyncio.wait_for(worker.communicate(), 120))[0].decode()
        assert worker.returncode == 0, output
        received = await smtp.sink.wait_for(USERS)
        per_address = Counter(address for m in received for address in m.recipients)
        assert len(per_address) == USERS and set(per_address.values()) == {1}
        sample = smtp.sink.to("user007@example.org")[0]
        assert "2026-12" in sample.text and "30 days" in sample.text
        assert "https://intrvuer.example/privacy.html" in sample.links()
    finally:
        smtp.stop()


async def test_the_policy_route_shows_the_version_and_the_banner_until_acknowledged(
    settings: Settings,
) -> None:
    async with run_server(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        shipped = (await http.get("/v1/policy")).json()
        assert shipped["version"] and shipped["updated"]
        assert shipped["support_email"] == settings.support_email
        body = {"email": "p@example.org", "password": "correct horse battery", "name": "P",
                "confirm_age_16": True}  # fmt: skip
        token = (await http.post("/v1/auth/register", json=body)).json()["access_token"]
        auth = {"authorization": f"Bearer {token}"}
        assert (await http.get("/v1/me", headers=auth)).json()["policy_notice"] is None

        svc = server.app.state.services
        await PolicyRepository(svc.db).publish("2099-01", summary="Shorter.", material=True)
        current = (await http.get("/v1/policy")).json()
        assert current["version"] == "2099-01" and current["summary"] == "Shorter."
        notice = (await http.get("/v1/me", headers=auth)).json()["policy_notice"]
        assert notice == {"version": "2099-01", "summary": "Shorter."}
        wrong = await http.post("/v1/me/policy-ack", json={"version": "1999"}, headers=auth)
        assert wrong.status_code == 409 or wrong.status_code == 422, wrong.text
        acked = await http.post("/v1/me/policy-ack", json={"version": "2099-01"}, headers=auth)
        assert acked.status_code in (200, 204), acked.text
        assert (await http.get("/v1/me", headers=auth)).json()["policy_notice"] is None
